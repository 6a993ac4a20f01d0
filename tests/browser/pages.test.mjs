// Every page at 1280 px and 390 px (screenshots saved to artifacts/, no sideways scroll,
// every control labelled), and the keyboard: Tab reaches every control, Escape closes
// dialogs, Enter adds a field.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  assertNoProblems, assertTabReachable, cli, launchBrowser, login, screenshots, startServer,
} from './helpers.mjs';

let server;
let browser;
let definitionId;
let processId;

before(async () => {
  server = await startServer({ seed: 60 });
  // Campaign data made with the CLI on the running server's data directory.
  const tsv = join(server.dataDir, 'users.tsv');
  cli(server.dataDir, ['export', '--format', 'tsv', '--field', 'email=Email Address', '--field', 'created_at=Created At',
    '--field', 'given_name=First Name', '--field', 'family_name=Last Name', '-o', tsv]);
  cli(server.dataDir, ['campaign', 'docs', 'mkdir', '/marketing']);
  cli(server.dataDir, ['campaign', 'docs', 'upload', tsv, '--to', '/marketing']);
  definitionId = cli(server.dataDir, ['campaign', 'imports', 'create', '--name', 'Auth0 users',
    '--document', '/marketing/users.tsv', '--table', 'contacts', '--create-table', '--delimiter', 'tab',
    '--key', 'Email Address', '--map', 'Email Address=Email Address:email',
    '--map', 'Created At=Created At:datetime:ISO 8601', '--map', 'First Name=First Name:text',
    '--map', 'Last Name=Last Name:text']).trim();
  processId = JSON.parse(cli(server.dataDir, ['campaign', 'imports', 'run', definitionId])).process_id;
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('each page at 1280 and 390 px, labelled, operable by keyboard', async () => {
  const { page } = browser;
  const go = async (hash, ready) => {
    await page.goto(`${server.url}/${hash}`);
    await page.locator(ready).first().waitFor();
  };

  // Login.
  await page.goto(`${server.url}/`);
  await page.locator('#login-form').waitFor();
  await screenshots(page, 'login');
  await login(page, server);

  // Export: fields added with the keyboard only (Enter in the Column Name adds).
  await go('#/users/export', '#export-button:not([disabled])');
  await page.getByLabel('User Field').focus();
  await page.keyboard.type('email');
  await page.keyboard.press('Tab');
  await page.keyboard.type('Email Address');
  await page.keyboard.press('Enter');
  await page.locator('.fields-table tbody tr').first().waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.id), 'export-user-field', 'focus goes back to User Field');
  for (const [f, c] of [['created_at', 'Created At'], ['given_name', 'First Name'], ['family_name', 'Last Name']]) {
    await page.getByLabel('User Field').fill(f);
    await page.getByLabel('Column Name').fill(c);
    await page.getByLabel('Column Name').press('Enter');
  }
  assert.equal(await page.locator('.fields-table tbody tr').count(), 4);
  await assertTabReachable(page, 'export');
  await screenshots(page, 'export');

  // The progress dialog, finished; Escape closes it.
  await page.locator('#export-button').click();
  const dialog = page.locator('dialog[open]');
  await dialog.locator('text=The export is complete').waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Download', 'focus on Download');
  await screenshots(page, 'export-dialog');
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });

  // "Add Default Fields" appends the engine's 11 default columns (served, not copied).
  await page.getByRole('button', { name: 'Add Default Fields' }).click();
  await page.locator('.fields-table tbody tr').nth(14).waitFor();
  assert.equal(await page.locator('.fields-table tbody tr').count(), 15);
  assert.match(await page.locator('.fields-table tbody tr').nth(4).textContent(), /user_id\s*Id/);
  assert.match(await page.locator('.fields-table tbody tr').nth(14).textContent(), /updated_at\s*Updated At/);

  // Import, with a file that has bad users, and its report dialog.
  const file = join(server.dataDir, 'some-bad.json');
  writeFileSync(file, JSON.stringify([{ email: 'ok@example.com' }, { email: 'nope' }, { email: 'x@example.com', shoe: 1 }]));
  await go('#/users/import', '#import-form');
  await assertTabReachable(page, 'import');
  await page.getByLabel('Choose files').setInputFiles(file);
  await page.getByRole('button', { name: 'Start Importing Users' }).click();
  await page.locator('tr[data-file="some-bad.json"][data-status="completed"]').waitFor();
  await screenshots(page, 'import');
  await page.getByRole('button', { name: 'Show Summary of some-bad.json' }).click();
  await page.locator('dialog#import-report .failed-user').first().waitFor();
  await screenshots(page, 'import-report');
  await page.keyboard.press('Escape');
  await page.locator('dialog#import-report').waitFor({ state: 'detached' });

  // History: both jobs, newest first, with their actions.
  await go('#/users/history', 'table.data tbody tr[data-job]');
  const history = page.locator('table.data tbody tr[data-job]');
  assert.equal(await history.count(), 2);
  assert.match(await history.nth(0).textContent(), /Import.*completed.*inserted 1, updated 0, failed 2, total 3.*Show Summary/s);
  assert.match(await history.nth(1).textContent(), /Export.*completed.*Download/s);
  await screenshots(page, 'history');

  // Users list: search, page through, profile.
  await go('#/users', 'table.data tbody tr');
  assert.equal(await page.locator('table.data tbody tr').count(), 50);
  assert.match(await page.locator('.pager-info').textContent(), /1–50 of (61|62)/);
  await screenshots(page, 'users');
  await page.getByRole('link', { name: 'Next' }).click();
  await page.waitForFunction(() => /^51–/.test(document.querySelector('.pager-info')?.textContent));
  await page.getByLabel('Search by email or name').fill('ok@exa');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.waitForFunction(() => document.querySelectorAll('table.data tbody tr').length === 1);
  await page.getByRole('link', { name: 'ok@example.com' }).click();
  await page.locator('dl.profile').waitFor();
  assert.match(await page.locator('dl.profile').textContent(), /emailok@example.com/);
  await screenshots(page, 'user-profile');

  // Documents: /marketing with the uploaded file; delete asks first, Escape keeps it.
  await go('#/campaign/documents?path=/marketing', 'tr[data-path="/marketing/users.tsv"]');
  await assertTabReachable(page, 'documents');
  await screenshots(page, 'documents');
  await page.getByLabel('New directory name').fill('scratch');
  await page.getByRole('button', { name: 'Create Directory' }).click();
  await page.getByRole('button', { name: 'Delete scratch' }).click();
  await page.locator('dialog[open]').waitFor();
  await page.keyboard.press('Escape');
  await page.locator('dialog[open]').waitFor({ state: 'detached' });
  assert.equal(await page.locator('tr[data-path="/marketing/scratch"]').count(), 1, 'Escape cancels the delete');
  await page.getByRole('button', { name: 'Delete scratch' }).click();
  await page.locator('dialog[open]').getByRole('button', { name: 'Delete' }).click();
  await page.locator('tr[data-path="/marketing/scratch"]').waitFor({ state: 'detached' });

  // Data Import: the list, a new import with the sniffed preview, a saved one.
  await go('#/campaign/imports', 'table.data tbody tr');
  assert.match(await page.locator('table.data tbody').textContent(), /Auth0 users/);
  await screenshots(page, 'data-import');
  await go('#/campaign/imports/new?document=/marketing/users.tsv', '.preview-table');
  assert.equal(await page.locator('#sniffed-delimiter').textContent(), 'Tab');
  await assertTabReachable(page, 'new import');
  await screenshots(page, 'data-import-new');
  // A validation error lands next to the control it names.
  await page.getByLabel('Table', { exact: true }).fill('contacts2');
  await page.getByRole('button', { name: 'Save' }).click();
  const keyError = page.locator('#mapping-error');
  await keyError.waitFor();
  assert.match(await keyError.textContent(), /^import definition: key: mode add_and_update needs a key/);
  await go(`#/campaign/imports/${definitionId}`, '.preview-table');
  assert.equal(await page.getByLabel('Import name').inputValue(), 'Auth0 users');
  assert.equal(await page.getByLabel('Key: Email Address').isChecked(), true);
  await page.locator('#runs table tbody tr').first().waitFor();
  await screenshots(page, 'data-import-saved');

  // The process report.
  await go(`#/campaign/processes/${processId}`, '#report-counts');
  assert.equal(await page.locator('[data-count="inserted"]').textContent(), '60');
  await screenshots(page, 'process-report');

  // Tables and rows.
  await go('#/campaign/tables', 'table.data tbody tr');
  await screenshots(page, 'tables');
  await go('#/campaign/tables/contacts', '#table-rows tbody tr');
  assert.equal(await page.locator('#table-rows tbody tr').count(), 50);
  await assertTabReachable(page, 'table rows');
  await screenshots(page, 'table-rows');

  assertNoProblems(browser);
});
