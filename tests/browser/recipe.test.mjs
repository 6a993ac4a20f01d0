// The seed recipe (shared/seed/alterian-integration.md), click by click in a real browser:
// export the four columns as TSV, download, upload to Documents under marketing/, import
// into the campaign table `contacts` keyed on Email Address, run, read the report, browse
// and export the table.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import {
  allUsers, apiToken, assertNoProblems, cli, launchBrowser, login, parseDelimited, startServer,
} from './helpers.mjs';

const SEEDED = 200;
const FIELDS = [
  ['email', 'Email Address'],
  ['created_at', 'Created At'],
  ['given_name', 'First Name'],
  ['family_name', 'Last Name'],
];

let server;
let browser;

before(async () => {
  server = await startServer({ seed: SEEDED });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('the seed recipe, click by click: export, download, upload, Data Import, report, table', async () => {
  const { page } = browser;
  const token = await apiToken(server);
  const users = await allUsers(server, token);
  assert.equal(users.length, SEEDED);

  // --- Log in; Users › Import / Export › Export.
  await login(page, server);
  await page.getByRole('link', { name: 'Import / Export' }).click();
  await page.getByRole('link', { name: 'Export', exact: true }).click();
  await page.getByLabel('Export Format').selectOption({ label: 'Tab Separated Value file (*.csv)' });

  // --- The four fields, each through the User Field / Column Name inputs and Add.
  for (const [userField, column] of FIELDS) {
    await page.getByLabel('User Field').fill(userField);
    await page.getByLabel('Column Name').fill(column);
    await page.getByRole('button', { name: 'Add', exact: true }).click();
  }
  const rows = page.locator('.fields-table tbody tr');
  await rows.nth(3).waitFor();
  assert.deepEqual(await rows.locator('td:nth-child(2)').allTextContents(), FIELDS.map(([, c]) => c));

  // --- "Export N Users" with the live count, then the progress dialog and Download.
  const exportButton = page.locator('#export-button');
  await page.waitForFunction(() => /^Export [\d,]+ Users$/.test(document.querySelector('#export-button').textContent));
  assert.equal(await exportButton.textContent(), `Export ${SEEDED} Users`);
  await exportButton.click();
  const dialog = page.locator('dialog[open]');
  await dialog.locator('text=The export is complete').waitFor();
  assert.equal(await dialog.locator('progress').evaluate((p) => p.value), 100);
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    dialog.getByRole('button', { name: 'Download' }).click(),
  ]);
  assert.equal(download.suggestedFilename(), 'userbridge.csv.gz');
  const gzPath = `${server.dataDir}/downloaded-userbridge.csv.gz`;
  await download.saveAs(gzPath);
  const gz = readFileSync(gzPath);
  const tsv = gunzipSync(gz).toString('utf8');

  // The file's bytes: the header, one line per user, and exactly what the CLI's export of
  // the same columns writes (the same engine).
  const lines = tsv.split('\n');
  assert.equal(lines[0], 'Email Address\tCreated At\tFirst Name\tLast Name');
  assert.equal(lines.at(-1), '', 'the file ends with a newline');
  const fromCli = cli(server.dataDir, ['export', '--format', 'tsv',
    ...FIELDS.flatMap(([f, c]) => ['--field', `${f}=${c}`])]);
  assert.equal(tsv, fromCli);
  // Users without quotes, tabs or formula starters in these fields are one plain line each,
  // and say what GET /api/v2/users says.
  const plain = users.filter((u) => [u.email, u.given_name, u.family_name]
    .every((v) => v === undefined || (/^[^\t\n\r"]*$/.test(v) && !/^[=+\-@]/.test(v))));
  assert.ok(plain.length > 50);
  for (const u of plain.slice(0, 25)) {
    const line = [u.email, u.created_at, u.given_name ?? '', u.family_name ?? ''].join('\t');
    assert.ok(lines.includes(line), `the export has the line for ${u.email}: ${JSON.stringify(line)}`);
  }
  const parsed = parseDelimited(tsv, '\t');
  assert.equal(parsed.length, SEEDED + 1, 'the header and one record per user');
  assert.deepEqual(parsed.slice(1).map((r) => r[0]), users.map((u) => u.email), 'in user_id order');
  await dialog.getByRole('button', { name: 'Close', exact: true }).click();
  await dialog.waitFor({ state: 'detached' });

  // --- Campaign Manager › Documents: create marketing, Upload Files into it.
  await page.getByRole('link', { name: 'Documents' }).click();
  await page.getByLabel('New directory name').fill('marketing');
  await page.getByRole('button', { name: 'Create Directory' }).click();
  await page.getByRole('link', { name: 'marketing/' }).click();
  await page.getByLabel('Upload Files to /marketing').setInputFiles(gzPath);
  await page.getByRole('button', { name: 'Upload', exact: true }).click();
  const listed = page.locator('tr[data-path="/marketing/downloaded-userbridge.csv.gz"]');
  await listed.waitFor();
  assert.equal(await page.locator('#upload-form progress').evaluate((p) => p.value), 100);
  assert.match(await listed.textContent(), /gzip/);

  // --- Data Import › New Import from that document.
  await page.getByRole('link', { name: 'Data Import' }).click();
  await page.getByRole('link', { name: 'New Import' }).click();
  await page.getByLabel('Document').selectOption('/marketing/downloaded-userbridge.csv.gz');
  await page.locator('#sniffed-delimiter').waitFor();
  assert.equal(await page.locator('#sniffed-delimiter').textContent(), 'Tab');
  assert.equal(await page.getByLabel('Delimiter', { exact: true }).inputValue(), '\t');
  // The parsed preview shows the users.
  assert.equal(await page.locator('.preview-table tbody tr').count(), 20);
  assert.equal(await page.locator('.preview-table tbody tr').first().locator('td').first().textContent(), lines[1].split('\t')[0]);
  // Overriding the format reads the document again under it: with "no header row" the
  // header line becomes the first previewed row; ticking it back restores the preview.
  await page.getByLabel('The first row is a header').uncheck();
  await page.locator('.preview-table thead th', { hasText: 'Column 1' }).waitFor();
  assert.equal(await page.locator('.preview-table tbody tr').first().locator('td').first().textContent(), 'Email Address');
  assert.match(await page.locator('#sniff details').textContent(), /no header row: chosen by you/);
  await page.getByLabel('The first row is a header').check();
  await page.locator('.preview-table thead th', { hasText: 'Email Address' }).waitFor();
  assert.equal(await page.locator('.preview-table tbody tr').first().locator('td').first().textContent(), lines[1].split('\t')[0]);

  await page.getByLabel('Table', { exact: true }).fill('contacts');
  await page.getByLabel('Table', { exact: true }).press('Tab');
  assert.match(await page.locator('#import-table-state').textContent(), /New table/);
  // The suggestions: each header maps to a column of the same name.
  for (const [, column] of FIELDS) {
    assert.equal(await page.getByLabel(`Target column for ${column}`).inputValue(), column);
  }
  assert.equal(await page.getByLabel('Type of Email Address').inputValue(), 'email');
  const createdType = page.getByLabel('Type of Created At');
  if (await createdType.inputValue() !== 'datetime') await createdType.selectOption('datetime');
  assert.equal(await createdType.inputValue(), 'datetime');
  await page.getByLabel('Key: Email Address').check();
  await page.getByRole('button', { name: 'Save' }).click();
  await page.locator('#import-form-error .ok').waitFor();
  assert.match(page.url(), /#\/campaign\/imports\/def_/);

  // --- Run Process; live progress; the report.
  await page.getByRole('button', { name: 'Run Process' }).click();
  const report = page.locator('#process-report');
  await report.locator('#report-counts').waitFor();
  const count = async (k) => Number((await report.locator(`[data-count="${k}"]`).textContent()).replace(/,/g, ''));
  assert.equal(await count('read'), SEEDED);
  assert.equal(await count('inserted'), SEEDED);
  assert.equal(await count('updated'), 0);
  assert.equal(await count('rejected'), 0);
  assert.equal(await page.locator('#process-state').isVisible(), false, 'the live section is hidden once the report is in');
  assert.match(await report.textContent(), /completed/);

  // --- Tables: contacts with its rows.
  await page.getByRole('link', { name: 'Tables' }).click();
  const tableRow = page.locator('table.data tbody tr', { hasText: 'contacts' });
  assert.match(await tableRow.textContent(), new RegExp(`${SEEDED}`));
  await tableRow.getByRole('link', { name: 'contacts' }).click();
  await page.locator('#table-rows').waitFor();
  assert.match(await page.locator('#table-summary').textContent(), new RegExp(`^${SEEDED} rows; key Email Address`));
  assert.deepEqual(await page.locator('#table-rows thead th').allTextContents(), FIELDS.map(([, c]) => c));
  // Rows in file order = user_id order; emails stored lower-cased.
  const shown = await page.locator('#table-rows tbody tr td:first-child').allTextContents();
  assert.deepEqual(shown, users.slice(0, 50).map((u) => u.email.toLowerCase()));
  // Page two.
  await page.getByRole('link', { name: 'Next' }).click();
  await page.waitForFunction(() => document.querySelector('#table-rows caption')?.textContent.startsWith('Rows 51–100'));
  assert.deepEqual(await page.locator('#table-rows tbody tr td:first-child').allTextContents(),
    users.slice(50, 100).map((u) => u.email.toLowerCase()));
  // A filter.
  const someone = users[123];
  await page.getByLabel('Column', { exact: true }).selectOption('Email Address');
  await page.getByLabel('Match').selectOption('=');
  await page.getByLabel('Value').fill(someone.email);
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.waitForFunction(() => document.querySelector('#table-rows caption')?.textContent.startsWith('Rows where'));
  const filtered = await page.locator('#table-rows tbody tr').allTextContents();
  assert.equal(filtered.length, 1);
  assert.ok(filtered[0].startsWith(someone.email.toLowerCase()));
  const createdAt = await page.locator('#table-rows tbody tr td:nth-child(2)').textContent();
  assert.ok(createdAt.startsWith(someone.created_at.slice(0, 19)), `${createdAt} is ${someone.created_at}`);

  // Export the table.
  const [tableExport] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('link', { name: 'Export TSV' }).click(),
  ]);
  const exportedPath = `${server.dataDir}/contacts.tsv`;
  await tableExport.saveAs(exportedPath);
  const exported = parseDelimited(readFileSync(exportedPath, 'utf8'), '\t');
  assert.deepEqual(exported[0], FIELDS.map(([, c]) => c));
  assert.deepEqual(exported.slice(1).map((r) => r[0]), users.map((u) => u.email.toLowerCase()));

  assertNoProblems(browser);
});
