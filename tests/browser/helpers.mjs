// Shared fixtures of the browser tests: a real `userbridge serve` on a fresh data directory,
// Debian's Chromium driven by playwright-core, login, screenshots at both widths.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..', '..');

export const PASSWORD = 'correct horse battery staple';
export const ARTIFACTS = join(here, 'artifacts');
export const WIDTHS = [[1280, 800], [390, 844]];

/** The binary under test: $USERBRIDGE_BIN, else the debug build of this checkout. */
export function userbridgeBin() {
  const bin = process.env.USERBRIDGE_BIN
    || join(process.env.CARGO_TARGET_DIR || join(repo, 'target'), 'debug', 'userbridge');
  assert.ok(existsSync(bin), `userbridge binary not found at ${bin} (cargo build -p userbridge, or set USERBRIDGE_BIN)`);
  return bin;
}

/** Runs a one-shot CLI command on `dataDir`; throws with its output when it fails. */
export function cli(dataDir, args, input) {
  const r = spawnSync(userbridgeBin(), ['--data-dir', dataDir, ...args], { input, encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) {
    throw new Error(`userbridge ${args.join(' ')} exited ${r.status}\n${r.stdout}\n${r.stderr}`);
  }
  return r.stdout;
}

/** A server on 127.0.0.1:0 with a known admin password and `seed` synthetic users. */
export async function startServer({ seed = 0 } = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'ub-browser-'));
  cli(dataDir, ['admin', 'reset-password', '--password-stdin'], `${PASSWORD}\n`);
  if (seed) cli(dataDir, ['users', 'seed', '--count', String(seed)]);
  const proc = spawn(userbridgeBin(), ['--data-dir', dataDir, 'serve', '--listen', '127.0.0.1:0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  const url = await new Promise((resolveUrl, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no listening line within 30 s\n${out}\n${stderr}`)), 30_000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = /userbridge listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) { clearTimeout(timer); resolveUrl(m[1]); }
    });
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`userbridge serve exited ${code}\n${out}\n${stderr}`)); });
  });
  proc.stdout.resume();
  return {
    url,
    dataDir,
    proc,
    async stop() {
      if (proc.exitCode === null) {
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        await exited;
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A management API token for comparing what the page shows with what the API answers. */
export async function apiToken(server) {
  const body = readFileSync(join(server.dataDir, 'management-client.json'), 'utf8');
  const r = await fetch(`${server.url}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  assert.equal(r.status, 200, 'token request');
  return (await r.json()).access_token;
}

export async function apiGet(server, token, path) {
  const r = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(r.status, 200, `GET ${path}`);
  return r.json();
}

/** Every user through the API, in user_id order (the order exports use). */
export async function allUsers(server, token) {
  const users = [];
  for (let page = 0; ; page += 1) {
    const batch = await apiGet(server, token, `/api/v2/users?per_page=100&page=${page}&sort=user_id:1`);
    users.push(...batch);
    if (batch.length < 100) break;
  }
  return users;
}

/**
 * Debian's Chromium through playwright-core: headless, no sandbox (root in CI), nothing
 * that reaches for the network by itself, a fresh profile each time.
 */
export async function launchBrowser() {
  const profile = mkdtempSync(join(tmpdir(), 'ub-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    acceptDownloads: true,
    viewport: { width: 1280, height: 800 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = context.pages()[0] || await context.newPage();
  page.setDefaultTimeout(30_000);
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    // Expected 4xx answers (a wrong password, a refused request) log as resource errors.
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  return {
    context,
    page,
    problems,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Logs in through the form and waits for the first page. */
export async function login(page, server) {
  await page.goto(`${server.url}/`);
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.locator('#topbar').waitFor();
}

/** Parses RFC 4180 delimited text (quoted cells may hold the delimiter, quotes, newlines). */
export function parseDelimited(text, delimiter) {
  const rows = [];
  let row = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; i += 1; }
      else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"' && cell === '') quoted = true;
    else if (c === delimiter) { row.push(cell); cell = ''; }
    else if (c === '\n') { row.push(cell); rows.push(row); row = []; cell = ''; }
    else if (c !== '\r') cell += c;
  }
  if (cell !== '' || row.length) { row.push(cell); rows.push(row); }
  return rows;
}

/** Waits until `predicate()` (async) is truthy; fails with `what` after `timeout` ms. */
export async function eventually(predicate, what, timeout = 30_000) {
  const until = Date.now() + timeout;
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() > until) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Every visible form control on the page has a <label> with text. */
export async function assertLabelled(page, where) {
  const unlabelled = await page.evaluate(() => [...document.querySelectorAll('input, select, textarea')]
    .filter((el) => el.type !== 'hidden' && el.getClientRects().length > 0)
    .filter((el) => ![...(el.labels || [])].some((l) => l.textContent.trim()))
    .map((el) => el.outerHTML.slice(0, 120)));
  assert.deepEqual(unlabelled, [], `${where}: controls without a label`);
}

/**
 * Screenshots of the current page at 1280×800 and 390×844 into artifacts/<name>-<width>.png,
 * checking at each width that nothing makes the page scroll sideways and every control is
 * labelled.
 */
export async function screenshots(page, name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  // The page as one sees it, not with the focus ring a keyboard check left behind.
  await page.evaluate(() => { if (!document.querySelector('dialog[open]')) document.activeElement?.blur(); });
  for (const [width, height] of WIDTHS) {
    await page.setViewportSize({ width, height });
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    await page.screenshot({ path: join(ARTIFACTS, `${name}-${width}.png`), fullPage: true });
    const overflow = await page.evaluate(() => {
      const over = document.documentElement.scrollWidth - document.documentElement.clientWidth;
      const wide = [...document.querySelectorAll('body *')]
        .filter((el) => el.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5)
        .filter((el) => !el.closest('.table-wrap') || el.classList.contains('table-wrap'))
        .slice(0, 5).map((el) => el.outerHTML.slice(0, 100));
      return { over, wide };
    });
    assert.ok(overflow.over <= 0, `${name} at ${width} px scrolls sideways by ${overflow.over} px: ${overflow.wide.join(' | ')}`);
    await assertLabelled(page, `${name} at ${width} px`);
  }
  await page.setViewportSize({ width: WIDTHS[0][0], height: WIDTHS[0][1] });
}

/** Presses Tab until focus comes back around; every visible control must have been reached. */
export async function assertTabReachable(page, where) {
  await page.evaluate(() => {
    document.querySelectorAll('[data-tab-seen]').forEach((el) => el.removeAttribute('data-tab-seen'));
    document.activeElement?.blur();
    window.scrollTo(0, 0);
  });
  const total = await page.evaluate(() => document.querySelectorAll('a[href], button, input, select, textarea, summary').length);
  for (let i = 0; i < total + 10; i += 1) {
    await page.keyboard.press('Tab');
    await page.evaluate(() => document.activeElement?.setAttribute('data-tab-seen', ''));
  }
  const missed = await page.evaluate(() => [...document.querySelectorAll('a[href], button, input, select, textarea, summary')]
    .filter((el) => el.getClientRects().length > 0 && !el.disabled && !el.closest('[inert]'))
    .filter((el) => !el.hasAttribute('data-tab-seen'))
    .filter((el) => !(el.type === 'radio' && !el.checked))
    .map((el) => el.outerHTML.slice(0, 120)));
  assert.deepEqual(missed, [], `${where}: controls Tab never reaches`);
}

/** The user's page-visible problems (uncaught errors, console errors) must be none. */
export function assertNoProblems(browser) {
  assert.deepEqual(browser.problems, [], 'errors in the page');
}
