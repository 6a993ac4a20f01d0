// Failures the page must show with their reasons: an export job that fails for real, and
// an import whose bad users are each listed with every error message.

import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  assertNoProblems, cli, launchBrowser, login, parseDelimited, startServer,
} from './helpers.mjs';

let server;
let browser;

before(async () => {
  server = await startServer({ seed: 20 });
  browser = await launchBrowser();
  await login(browser.page, server);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('a failed export is shown as failed, with its reason, and polling stops', async () => {
  const { page } = browser;
  await page.goto(`${server.url}/#/users/export`);
  await page.waitForFunction(() => /^Export \d+ Users$/.test(document.querySelector('#export-button')?.textContent));

  // Export jobs write under <data-dir>/jobs/<id>/: a regular file in its place makes the
  // job fail when it creates its directory, as a full or read-only disk would.
  const jobsDir = join(server.dataDir, 'jobs');
  rmSync(jobsDir, { recursive: true, force: true });
  writeFileSync(jobsDir, 'not a directory');

  // Every read of the job's status, and what it answered.
  const reads = [];
  page.on('response', async (response) => {
    const m = /\/api\/v2\/jobs\/(job_[A-Za-z0-9]+)$/.exec(new URL(response.url()).pathname);
    if (m && response.request().method() === 'GET') {
      reads.push({ status: (await response.json()).status });
    }
  });

  await page.locator('#export-button').click();
  const dialog = page.locator('dialog[open]');
  const failure = dialog.locator('#export-failure');
  await failure.waitFor();
  assert.match(await failure.textContent(), /^The export failed: cannot create .*jobs/);
  assert.equal(await dialog.getAttribute('data-status'), 'failed');
  assert.equal(await dialog.getByRole('button', { name: 'Download' }).isVisible(), false);

  // No further reads after the one that said "failed". (Waiting is the only way to see that
  // nothing more happens: three poll intervals.)
  const failedAt = reads.findIndex((r) => r.status === 'failed');
  await page.waitForTimeout(1500);
  assert.equal(reads.slice(failedAt + 1).length, 0, `reads after the failure: ${JSON.stringify(reads)}`);
  assert.ok(reads.length >= 1);

  // History lists it as failed, with the reason.
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });
  rmSync(jobsDir, { force: true });
  await page.getByRole('link', { name: 'History' }).click();
  const row = page.locator('table.data tbody tr').first();
  await row.waitFor();
  assert.match(await row.textContent(), /Export.*failed.*cannot create/s);
  assertNoProblems(browser);
});

const GOOD = [
  { email: 'ana.good@example.com', given_name: 'Ana', user_metadata: { plan: 'gold' } },
  { email: 'bo.good@example.com', name: 'Bo Good' },
];
const BAD = [
  { email: 'not-an-email' },
  { given_name: 'No Email' },
  { email: 'colour@example.com', favourite_colour: 'blue' },
  { email: 'twice-wrong', email_verified: 'yes', shoe_size: 44 },
  { email: 'forbidden@example.com', app_metadata: { clientID: 'x' } },
];

test('an import with bad users lists each failed user with every error message', async () => {
  const { page } = browser;
  const file = join(server.dataDir, 'mixed-users.json');
  writeFileSync(file, JSON.stringify([GOOD[0], BAD[0], BAD[1], GOOD[1], BAD[2], BAD[3], BAD[4]], null, 2));

  await page.goto(`${server.url}/#/users/import`);
  await page.getByLabel('Choose files').setInputFiles(file);
  await page.locator('.file-list li', { hasText: 'mixed-users.json' }).waitFor();
  await page.getByLabel('Connection').selectOption({ label: 'Username-Password-Authentication' });
  await page.getByRole('button', { name: 'Start Importing Users' }).click();

  const row = page.locator('tr[data-file="mixed-users.json"]');
  await page.waitForFunction(() => ['completed', 'failed'].includes(document.querySelector('tr[data-file="mixed-users.json"]')?.dataset.status));
  assert.equal(await row.getAttribute('data-status'), 'completed');
  assert.match(await row.textContent(), /inserted 2, updated 0, failed 5, total 7/);

  await row.getByRole('button', { name: 'Show Summary of mixed-users.json' }).click();
  const report = page.locator('dialog#import-report');
  await report.locator('.failed-user').first().waitFor();
  assert.equal(await report.locator('[data-count="failed"]').textContent(), '5');
  assert.equal(await report.locator('[data-count="inserted"]').textContent(), '2');

  // The same errors as GET /api/v2/jobs/{id}/errors: every failed user, every message.
  const jobId = await row.getAttribute('data-job');
  const errors = await page.evaluate(async (id) => (await fetch(`/api/v2/jobs/${id}/errors`)).json(), jobId);
  assert.equal(errors.length, BAD.length);
  const items = report.locator('li.failed-user');
  assert.equal(await items.count(), BAD.length);
  for (const [i, e] of errors.entries()) {
    const item = items.nth(i);
    const who = e.user.email || '(no email, user_id or username)';
    assert.equal(await item.locator('.who strong').textContent(), who);
    const messages = await item.locator('.reasons .message').allTextContents();
    assert.deepEqual(messages, e.errors.map((x) => x.message), `messages of ${who}`);
    const codes = await item.locator('.reasons code').allTextContents();
    assert.deepEqual(codes, e.errors.map((x) => x.code));
  }
  // The user with two problems shows both.
  const twice = errors.find((e) => e.user.email === 'twice-wrong');
  assert.ok(twice.errors.length >= 2, JSON.stringify(twice));

  // Escape closes the report and gives focus back to the button that opened it.
  await page.keyboard.press('Escape');
  await report.waitFor({ state: 'detached' });
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Show Summary');
  assertNoProblems(browser);
});

test('a TSV users file imports with its column mappings, and a bad row says why', async () => {
  const { page } = browser;
  const file = join(server.dataDir, 'people.tsv');
  writeFileSync(file, 'Email Address\tFirst Name\n' + 'tess.tab@example.com\tTess\n' + 'no-at-sign\tNed\n');

  await page.goto(`${server.url}/#/users/import`);
  await page.getByLabel('Choose files').setInputFiles(file);
  await page.locator('.file-list li', { hasText: 'people.tsv' }).waitFor();
  await page.getByLabel('Connection').selectOption({ label: 'Username-Password-Authentication' });
  // A line that is not COLUMN=FIELD is shown next to the box and nothing is sent.
  await page.getByLabel('CSV/TSV columns').fill('Email Address');
  await page.getByRole('button', { name: 'Start Importing Users' }).click();
  await page.locator('#import-columns-error').waitFor();
  assert.equal(await page.locator('#import-columns-error').textContent(), '"Email Address" is not COLUMN=USER FIELD.');
  assert.equal(await page.locator('tr[data-file="people.tsv"]').count(), 0, 'nothing was sent');
  await page.getByLabel('CSV/TSV columns').fill('Email Address=email\nFirst Name=given_name');
  await page.getByRole('button', { name: 'Start Importing Users' }).click();

  const row = page.locator('tr[data-file="people.tsv"]');
  await page.waitForFunction(() => ['completed', 'failed'].includes(document.querySelector('tr[data-file="people.tsv"]')?.dataset.status));
  assert.equal(await row.getAttribute('data-status'), 'completed', await row.textContent());
  assert.match(await row.textContent(), /inserted 1, updated 0, failed 1, total 2/);
  const tess = await page.evaluate(async () => (await fetch('/api/v2/users-by-email?email=tess.tab@example.com')).json());
  assert.equal(tess[0].given_name, 'Tess');
  await row.getByRole('button', { name: 'Show Summary of people.tsv' }).click();
  const report = page.locator('dialog#import-report');
  await report.locator('.failed-user').first().waitFor();
  assert.equal(await report.locator('.failed-user .who strong').textContent(), 'no-at-sign');
  await page.keyboard.press('Escape');
  await report.waitFor({ state: 'detached' });
  assertNoProblems(browser);
});

test('a Data Import run with rejected rows reports each reason and serves the reject file', async () => {
  const { page } = browser;
  const tsv = join(server.dataDir, 'people.tsv');
  writeFileSync(tsv, 'Email Address\tCreated At\n'
    + 'Good.Person@Example.com\t2024-03-01T09:15:27.412Z\n'
    + 'not-an-email\t2024-03-02T10:00:00Z\n'
    + 'late@example.com\tyesterday\n');
  cli(server.dataDir, ['campaign', 'docs', 'mkdir', '/incoming']);
  cli(server.dataDir, ['campaign', 'docs', 'upload', tsv, '--to', '/incoming']);
  cli(server.dataDir, ['campaign', 'imports', 'create', '--name', 'With rejects', '--document', '/incoming/people.tsv',
    '--table', 'people', '--create-table', '--delimiter', 'tab', '--key', 'Email Address',
    '--map', 'Email Address=Email Address:email', '--map', 'Created At=Created At:datetime:ISO 8601']);

  // Saved imports are listed and run from the list.
  await page.goto(`${server.url}/#/campaign/imports`);
  await page.getByRole('button', { name: 'Run Process With rejects' }).click();
  const report = page.locator('#process-report');
  await report.locator('#report-counts').waitFor();
  const count = async (k) => (await report.locator(`[data-count="${k}"]`).textContent());
  assert.deepEqual([await count('read'), await count('inserted'), await count('rejected')], ['3', '1', '2']);
  assert.match(await report.locator('.report-state').textContent(), /completed with rejects/);
  const reasons = await report.locator('table.data tbody tr').allTextContents();
  assert.equal(reasons.length, 2, `one row per reason: ${reasons}`);

  // The reject file: the source's header, then _line, _column, _reason_code, _reason.
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    report.getByRole('link', { name: 'Download the reject file' }).click(),
  ]);
  const path = join(server.dataDir, 'rejects.tsv');
  await download.saveAs(path);
  const rows = parseDelimited(readFileSync(path, 'utf8'), '\t');
  assert.deepEqual(rows[0], ['Email Address', 'Created At', '_line', '_column', '_reason_code', '_reason']);
  assert.deepEqual(rows.slice(1).map((r) => [r[0], r[2], r[3]]),
    [['not-an-email', '3', 'Email Address'], ['late@example.com', '4', 'Created At']]);
  for (const r of rows.slice(1)) assert.ok(r[5].length > 0, 'a reason is given');

  // Run it again from the process page: the same rows are now unchanged.
  // (The hash is read before the click: the new process's page may be there before it.)
  const first = new URL(page.url()).hash;
  await page.getByRole('button', { name: 'Run Process again' }).click();
  await page.waitForFunction((old) => location.hash !== old
    && document.querySelector('#process-report [data-count="unchanged"]')?.textContent === '1', first);
  assert.equal(await count('inserted'), '0');
  assertNoProblems(browser);
});
