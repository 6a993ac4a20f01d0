// Dashboard sign-in: a wrong password is refused next to the form and sets no cookie; a
// state-changing request without the CSRF token is refused and changes nothing; logout.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { assertNoProblems, launchBrowser, login, startServer } from './helpers.mjs';

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('a wrong password is refused next to the form and sets no session cookie', async () => {
  const { page, context } = browser;
  await page.goto(`${server.url}/`);
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', { name: 'Log in' }).click();
  const error = page.locator('#login-form #login-error');
  await error.waitFor();
  assert.equal(await error.textContent(), 'Wrong username or password');
  assert.equal(await page.getByLabel('Password').getAttribute('aria-invalid'), 'true');
  assert.equal(await page.locator('#topbar').isVisible(), false);
  assert.deepEqual((await context.cookies()).filter((c) => c.name === 'ub_session'), []);
  // The page never saw a session either.
  const session = await page.evaluate(async () => (await fetch('/web/session')).status);
  assert.equal(session, 401);
  assertNoProblems(browser);
});

test('a state-changing request without the CSRF token is refused and changes nothing', async () => {
  const { page, context } = browser;
  await login(page, server);
  const [cookie] = (await context.cookies()).filter((c) => c.name === 'ub_session');
  assert.ok(cookie, 'the session cookie is set');
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.sameSite, 'Strict');
  assert.equal(await page.evaluate(() => document.cookie.includes('ub_session')), false, 'scripts cannot read it');

  // From the page's own context, with its cookie, but without X-CSRF-Token.
  const refused = await page.evaluate(async () => {
    const r = await fetch('/api/campaign/v1/documents/directories', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ path: '/no-csrf' }),
    });
    return { status: r.status, body: await r.json() };
  });
  assert.equal(refused.status, 403);
  assert.equal(refused.body.errorCode, 'invalid_csrf_token');
  // A wrong token is no better.
  const wrong = await page.evaluate(async () => (await fetch('/api/campaign/v1/documents/directories', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': 'forged' },
    body: JSON.stringify({ path: '/forged' }),
  })).status);
  assert.equal(wrong, 403);
  const missing = await page.evaluate(async () => {
    const r = await fetch('/api/campaign/v1/documents?path=/no-csrf');
    return { status: r.status, body: await r.json() };
  });
  assert.equal(missing.status, 404, 'the directory was not created');
  assert.equal(missing.body.errorCode, 'inexistent_document');

  // An empty directory: the export button says so and cannot be pressed.
  await page.goto(`${server.url}/#/users/export`);
  await page.waitForFunction(() => document.querySelector('#export-button')?.textContent === 'Nothing to Export');
  assert.equal(await page.locator('#export-button').isDisabled(), true);

  // The page itself sends the token: creating the directory through the form works.
  await page.goto(`${server.url}/#/campaign/documents`);
  await page.getByLabel('New directory name').fill('with-csrf');
  await page.getByRole('button', { name: 'Create Directory' }).click();
  await page.getByRole('link', { name: 'with-csrf/' }).waitFor();

  // Logout ends the session: the login form is back and the API answers 401.
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.locator('#login-form').waitFor();
  assert.equal(await page.evaluate(async () => (await fetch('/api/v2/users?per_page=1')).status), 401);
  assert.equal(await page.evaluate(async () => (await fetch('/web/session')).status), 401);
  assertNoProblems(browser);
});
