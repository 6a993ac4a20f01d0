// The shell of the userbridge page: session (login, logout, CSRF token), the hash router,
// the API helper, dialogs and the small DOM helpers the views share. Every action calls
// the same HTTP API as any other client; nothing here computes what the server computes.

import { registerUserRoutes } from './users.js';
import { registerCampaignRoutes } from './campaign.js';

const session = { username: null, csrfToken: null };

// ---------------------------------------------------------------- DOM helpers

/** Builds an element: h('button', {class: 'x', on: {click: f}}, 'text', child, [more]). */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = value;
    else if (key === 'on') {
      for (const [event, handler] of Object.entries(value)) el.addEventListener(event, handler);
    } else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (['value', 'checked', 'selected', 'disabled', 'hidden', 'multiple', 'required'].includes(key)) {
      el[key] = value;
    } else if (value === true) el.setAttribute(key, '');
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

/** Replaces the children of `el` (null, false and undefined children are skipped). */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

let uniqueCounter = 0;
/** A fresh id for label/control pairs. */
export function uid(prefix) {
  uniqueCounter += 1;
  return `${prefix}-${uniqueCounter}`;
}

/** A labelled control: {wrapper, control}. `control` is an element without an id yet. */
export function field(labelText, control, hint) {
  if (!control.id) control.id = uid('f');
  const hintEl = hint ? h('p', { class: 'hint', id: `${control.id}-hint` }, hint) : null;
  if (hintEl) control.setAttribute('aria-describedby', hintEl.id);
  const wrapper = h('div', { class: control.type === 'checkbox' ? 'field check' : 'field' });
  const label = h('label', { for: control.id }, labelText);
  if (control.type === 'checkbox') wrapper.append(control, label);
  else wrapper.append(label, control);
  if (hintEl) wrapper.append(hintEl);
  return { wrapper, control };
}

/** A <label> only screen readers see, for a control whose visible label is a column header. */
export function hiddenLabel(control, text) {
  if (!control.id) control.id = uid('f');
  return h('label', { for: control.id, class: 'visually-hidden' }, text);
}

/** A select with [value, label] options. */
export function select(options, value) {
  const el = h('select');
  for (const [v, label] of options) el.append(h('option', { value: v }, label));
  if (value !== undefined) el.value = value;
  return el;
}

export function button(label, onClick, cls) {
  return h('button', { type: 'button', class: cls, on: { click: onClick } }, label);
}

/** Says something to screen readers without moving focus. */
export function announce(text) {
  const el = document.getElementById('announcer');
  el.textContent = '';
  setTimeout(() => { el.textContent = text; }, 30);
}

// ---------------------------------------------------------------- errors next to controls

/** Shows `message` right after `control` (or inside a container marked .errors-here). */
export function showError(control, message) {
  clearError(control);
  const id = `${control.id || uid('ctl')}-error`;
  if (!control.id) control.id = id.replace(/-error$/, '');
  const p = h('p', { class: 'error field-error', id, role: 'alert' }, message);
  if (['INPUT', 'SELECT', 'TEXTAREA'].includes(control.tagName)) {
    control.setAttribute('aria-invalid', 'true');
    const described = (control.getAttribute('aria-describedby') || '').split(' ').filter(Boolean);
    control.setAttribute('aria-describedby', [...described, id].join(' '));
    const wrapper = control.closest('.field') || control;
    wrapper.after(p);
  } else {
    control.append(p);
  }
  return p;
}

export function clearError(control) {
  const id = `${control.id}-error`;
  if (control.id) document.getElementById(id)?.remove();
  if (control.getAttribute && control.getAttribute('aria-invalid')) {
    control.removeAttribute('aria-invalid');
    const rest = (control.getAttribute('aria-describedby') || '').split(' ').filter((x) => x && x !== id);
    if (rest.length) control.setAttribute('aria-describedby', rest.join(' '));
    else control.removeAttribute('aria-describedby');
  }
}

/** Removes every error shown inside `root`. */
export function clearErrors(root) {
  root.querySelectorAll('[aria-invalid]').forEach(clearError);
  root.querySelectorAll('p.field-error').forEach((p) => p.remove());
}

/** The message of anything thrown. */
export function messageOf(err) {
  if (err instanceof ApiError) return err.message;
  return err && err.message ? err.message : String(err);
}

// ---------------------------------------------------------------- the API

export class ApiError extends Error {
  constructor(status, body) {
    const message = body && typeof body === 'object'
      ? body.message || body.error_description || body.error || `HTTP ${status}`
      : (body || `HTTP ${status}`);
    super(message);
    this.status = status;
    this.body = body;
    this.errorCode = body && typeof body === 'object' ? body.errorCode : undefined;
  }
}

/** The URL of `path` with `query` ({k: v}, empty values left out). */
export function url(path, query) {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
  }
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

function csrfHeaders(method) {
  return method === 'GET' || method === 'HEAD' || !session.csrfToken
    ? {}
    : { 'X-CSRF-Token': session.csrfToken };
}

/** Calls the API; resolves with the JSON (or null for 204); rejects with an ApiError. */
export async function api(path, { method = 'GET', json, body, query, signal } = {}) {
  const headers = { Accept: 'application/json', ...csrfHeaders(method) };
  let payload = body;
  if (json !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(json);
  }
  const response = await fetch(url(path, query), {
    method, headers, body: payload, signal, credentials: 'same-origin',
  });
  const type = response.headers.get('content-type') || '';
  let data = null;
  if (response.status !== 204) {
    data = type.includes('json') ? await response.json().catch(() => null) : await response.text();
  }
  if (!response.ok) {
    if (response.status === 401 && !path.startsWith('/web/')) sessionLost();
    throw new ApiError(response.status, data);
  }
  return data;
}

/** Uploads a FormData with XMLHttpRequest, reporting progress (0..1) as it goes. */
export function upload(path, formData, { query, onProgress, signal } = {}) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', url(path, query));
    xhr.setRequestHeader('Accept', 'application/json');
    if (session.csrfToken) xhr.setRequestHeader('X-CSRF-Token', session.csrfToken);
    xhr.upload.addEventListener('progress', (e) => {
      if (e.lengthComputable && onProgress) onProgress(e.loaded / e.total);
    });
    xhr.addEventListener('load', () => {
      let data = null;
      try { data = xhr.responseText ? JSON.parse(xhr.responseText) : null; } catch { data = xhr.responseText; }
      if (xhr.status >= 200 && xhr.status < 300) resolve(data);
      else {
        if (xhr.status === 401) sessionLost();
        reject(new ApiError(xhr.status, data));
      }
    });
    xhr.addEventListener('error', () => reject(new Error('The upload failed: the server could not be reached.')));
    xhr.addEventListener('abort', () => reject(new Error('The upload was cancelled.')));
    if (signal) signal.addEventListener('abort', () => xhr.abort());
    xhr.send(formData);
  });
}

/**
 * Calls `step` every `interval` ms until it returns true, throws, or `signal` aborts.
 * Never overlaps two calls; waits with setTimeout so the page stays responsive.
 */
export function poll(step, { signal, interval = 500 } = {}) {
  return new Promise((resolve, reject) => {
    const tick = async () => {
      if (signal && signal.aborted) { resolve(false); return; }
      try {
        if (await step()) { resolve(true); return; }
      } catch (err) { reject(err); return; }
      if (signal && signal.aborted) { resolve(false); return; }
      setTimeout(tick, interval);
    };
    tick();
  });
}

/** Starts a browser download of `href` (a same-origin URL). */
export function download(href, filename) {
  const a = h('a', { href, download: filename || '', class: 'visually-hidden' });
  document.body.append(a);
  a.click();
  a.remove();
}

// ---------------------------------------------------------------- formatting

export function formatBytes(n) {
  if (n === undefined || n === null) return '';
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i += 1; }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

export function formatDate(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const pad = (x) => String(x).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function formatSeconds(s) {
  if (s === undefined || s === null) return '';
  const n = Math.max(0, Math.round(s));
  if (n < 60) return `${n} s`;
  const m = Math.floor(n / 60);
  if (m < 60) return `${m} min ${n % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function formatNumber(n) {
  return n === undefined || n === null ? '' : Number(n).toLocaleString('en-US');
}

// ---------------------------------------------------------------- dialogs

/**
 * A modal dialog (native <dialog>: focus stays inside, Escape closes it).
 * Returns {dialog, body, actions, close}. `onClose` runs once, however it was closed.
 */
export function openDialog({ title, content, actions = [], onClose, wide }) {
  const titleId = uid('dialog-title');
  const body = h('div', { class: 'dialog-body' }, content);
  const footer = h('div', { class: 'actions' }, actions);
  const dialog = h('dialog', { class: wide ? 'wide' : null, 'aria-labelledby': titleId },
    h('div', { class: 'dialog-head' },
      h('h2', { id: titleId }, title),
      h('button', { type: 'button', class: 'icon', 'aria-label': 'Close this dialog', on: { click: () => dialog.close() } }, '×')),
    body, footer);
  const opener = document.activeElement;
  let closed = false;
  dialog.addEventListener('close', () => {
    if (closed) return;
    closed = true;
    if (onClose) onClose();
    dialog.remove();
    if (opener && opener.isConnected && opener.focus) opener.focus();
  });
  document.body.append(dialog);
  dialog.showModal();
  return { dialog, body, actions: footer, close: () => dialog.close() };
}

/** Asks a yes/no question; resolves true when confirmed. */
export function confirmDialog(title, message, confirmLabel) {
  return new Promise((resolve) => {
    let answer = false;
    let d = null;
    const yes = button(confirmLabel, () => { answer = true; d.close(); }, 'danger');
    const no = button('Cancel', () => d.close(), 'secondary');
    d = openDialog({ title, content: h('p', {}, message), actions: [no, yes], onClose: () => resolve(answer) });
    no.focus();
  });
}

// ---------------------------------------------------------------- small widgets

/** A table: columns [{label, cell(row) -> node|string, class}], rows. */
export function table(columns, rows, { caption, empty } = {}) {
  const t = h('table', { class: 'data' },
    caption ? h('caption', {}, caption) : null,
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', class: c.class }, c.label)))));
  const tbody = h('tbody');
  if (!rows.length && empty) {
    tbody.append(h('tr', {}, h('td', { colspan: columns.length, class: 'empty' }, empty)));
  }
  for (const row of rows) {
    tbody.append(h('tr', {}, columns.map((c) => h('td', { class: c.class, 'data-label': c.label }, c.cell(row)))));
  }
  t.append(tbody);
  return h('div', { class: 'table-wrap' }, t);
}

/** A progress bar with a text line below it: {el, set(percent|null, text)}. */
export function progressBar(label) {
  const id = uid('progress');
  const bar = h('progress', { id, max: 100 });
  const text = h('p', { class: 'progress-text', 'aria-live': 'polite' });
  const el = h('div', { class: 'progress' }, h('label', { for: id }, label), bar, text);
  return {
    el,
    bar,
    text,
    set(percent, line) {
      if (percent === null || percent === undefined) bar.removeAttribute('value');
      else bar.value = Math.max(0, Math.min(100, percent));
      if (line !== undefined) text.textContent = line;
    },
  };
}

/** Figures as a description list: pairs [label, value, key]; each pair in its own div. */
export function counts(pairs, attrs) {
  return h('dl', { class: 'counts', ...attrs }, pairs.map(([label, value, key]) => h('div', {},
    h('dt', {}, label), h('dd', { 'data-count': key }, value))));
}

/** A page heading that receives focus after navigation. */
export function pageHeading(text) {
  return h('h1', { tabindex: '-1', class: 'page-title' }, text);
}

// ---------------------------------------------------------------- router

const routes = [];
let current = null; // {controller}

/** Registers `pattern` ('/users/:id') → handler({params, query, view, signal}). */
export function route(pattern, handler) {
  const names = [];
  const regex = new RegExp(`^${pattern.replace(/:[a-z]+/g, (m) => { names.push(m.slice(1)); return '([^/]+)'; })}$`);
  routes.push({ regex, names, handler });
}

export function navigate(hash) {
  if (location.hash === hash) render();
  else location.hash = hash;
}

function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '/users/export';
  const [path, qs] = raw.split('?');
  return { path: path || '/', query: Object.fromEntries(new URLSearchParams(qs || '')) };
}

async function render() {
  if (!session.csrfToken) return;
  if (current) current.controller.abort();
  document.querySelectorAll('dialog[open]').forEach((d) => d.close());
  const controller = new AbortController();
  current = { controller };
  const { path, query } = parseHash();
  const view = document.getElementById('view');
  fill(view);
  updateNav(path);
  for (const r of routes) {
    const m = r.regex.exec(path);
    if (!m) continue;
    const params = {};
    r.names.forEach((n, i) => { params[n] = decodeURIComponent(m[i + 1]); });
    try {
      await r.handler({ params, query, view, signal: controller.signal });
    } catch (err) {
      if (controller.signal.aborted) return;
      view.append(h('p', { class: 'error', role: 'alert' }, messageOf(err)));
    }
    if (!controller.signal.aborted) {
      const title = view.querySelector('h1');
      if (title) {
        document.title = `${title.textContent} — userbridge`;
        if (!view.contains(document.activeElement) && !document.querySelector('dialog[open]')) {
          title.focus({ preventScroll: true });
        }
      }
    }
    return;
  }
  view.append(pageHeading('Not found'), h('p', {}, 'There is no page here. ', h('a', { href: '#/users/export' }, 'Go to Import / Export')));
}

function updateNav(path) {
  const section = path.startsWith('/users/export') || path.startsWith('/users/import') || path.startsWith('/users/history')
    ? 'users-io'
    : path.startsWith('/users') ? 'users-list'
      : path.startsWith('/campaign/documents') ? 'documents'
        : path.startsWith('/campaign/imports') || path.startsWith('/campaign/processes') ? 'imports'
          : path.startsWith('/campaign/tables') ? 'tables' : '';
  document.querySelectorAll('#main-nav a').forEach((a) => {
    if (a.dataset.section === section) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  });
}

// ---------------------------------------------------------------- session

function showApp() {
  document.getElementById('login-view').hidden = true;
  document.getElementById('topbar').hidden = false;
  document.getElementById('account-name').textContent = session.username;
  render();
}

function showLogin(message) {
  if (current) current.controller.abort();
  document.querySelectorAll('dialog[open]').forEach((d) => d.close());
  document.getElementById('view').replaceChildren();
  document.getElementById('topbar').hidden = true;
  document.getElementById('login-view').hidden = false;
  document.title = 'Sign in — userbridge';
  const error = document.getElementById('login-error');
  error.hidden = !message;
  error.textContent = message || '';
  document.getElementById('login-username').focus();
}

function sessionLost() {
  if (!session.csrfToken) return;
  session.csrfToken = null;
  session.username = null;
  showLogin('Your session has ended. Log in again.');
}

async function login(event) {
  event.preventDefault();
  const form = event.target;
  const user = form.elements.username;
  const password = form.elements.password;
  const error = document.getElementById('login-error');
  error.hidden = true;
  [user, password].forEach((c) => c.removeAttribute('aria-invalid'));
  if (!user.value.trim() || !password.value) {
    const missing = !user.value.trim() ? user : password;
    missing.setAttribute('aria-invalid', 'true');
    error.textContent = !user.value.trim() ? 'Enter your username.' : 'Enter your password.';
    error.hidden = false;
    missing.focus();
    return;
  }
  const submit = document.getElementById('login-submit');
  submit.disabled = true;
  try {
    const data = await api('/web/login', { method: 'POST', json: { username: user.value.trim(), password: password.value } });
    session.username = data.username;
    session.csrfToken = data.csrf_token;
    password.value = '';
    if (!location.hash) history.replaceState(null, '', '#/users/export');
    showApp();
  } catch (err) {
    error.textContent = messageOf(err);
    error.hidden = false;
    password.setAttribute('aria-invalid', 'true');
    password.select();
    password.focus();
  } finally {
    submit.disabled = false;
  }
}

async function logout() {
  try {
    await api('/web/logout', { method: 'POST' });
  } catch (err) {
    // The session may already be gone; either way the page forgets it.
  }
  session.csrfToken = null;
  session.username = null;
  showLogin();
}

async function boot() {
  registerUserRoutes();
  registerCampaignRoutes();
  document.getElementById('login-form').addEventListener('submit', login);
  document.getElementById('logout').addEventListener('click', logout);
  window.addEventListener('hashchange', render);
  try {
    const data = await api('/web/session');
    session.username = data.username;
    session.csrfToken = data.csrf_token;
    showApp();
  } catch {
    showLogin();
  }
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot);
else boot();
