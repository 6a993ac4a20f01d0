// Users: the Import / Export extension (Export, Import and History tabs) and the users list
// with each user's profile. Exports and imports are jobs of /api/v2/jobs, exactly as the
// Auth0 extension and the CLI's engines run them.

import {
  ApiError, announce, api, button, clearErrors, counts, fill, download, field, formatDate, formatNumber,
  formatSeconds, h, messageOf, openDialog, pageHeading, poll, progressBar, route, select,
  showError, table, upload, url,
} from './app.js';

export function registerUserRoutes() {
  route('/users/export', exportTab);
  route('/users/import', importTab);
  route('/users/history', historyTab);
  route('/users', usersList);
  route('/users/:id', userProfile);
}

const FORMATS = [
  ['tsv', 'Tab Separated Value file (*.csv)'],
  ['csv', 'Comma Separated Value file (*.csv)'],
  ['json_array', 'JSON file (*.json)'],
  ['json', 'NDJSON file (*.ndjson)'],
];

const DATE_FORMATS = [
  ['', 'As stored (2024-03-01T09:15:27.412Z)'],
  ['%Y%m%d', 'CCYYMMDD (20240301)'],
  ['%Y-%m-%d', 'CCYY-MM-DD (2024-03-01)'],
  ['%Y-%m-%d %H:%M:%S', 'CCYY-MM-DD HH:MM:SS (2024-03-01 09:15:27)'],
  ['custom', 'Custom (strftime pattern)…'],
];

const FORMULA_ESCAPES = [
  ['smart', 'On: prefix formulas with \' (numbers kept)'],
  ['auth0', 'Auth0 style: prefix every text cell with \''],
  ['none', 'Off (do not open in a spreadsheet)'],
];

function extensionHeader(active) {
  const tabs = [['export', 'Export'], ['import', 'Import'], ['history', 'History']];
  return [
    pageHeading('Users › Import / Export'),
    h('nav', { class: 'tabs', 'aria-label': 'Import / Export' },
      h('ul', {}, tabs.map(([key, label]) => h('li', {},
        h('a', { href: `#/users/${key}`, 'aria-current': key === active ? 'page' : null }, label))))),
  ];
}

async function connections(signal) {
  const list = await api('/api/v2/connections', { signal, query: { per_page: 100 } });
  return Array.isArray(list) ? list : list.connections || [];
}

/** Where an API validation message points: "… on property fields[2].name" → "fields[2].name". */
function propertyOf(err) {
  const m = /on property (\S+)$/.exec(err instanceof ApiError ? err.message : '');
  if (m) return m[1];
  const f = /^(fields\[\d+\])/.exec(err instanceof ApiError ? err.message : '');
  return f ? f[1] : '';
}

// ---------------------------------------------------------------- Export tab

async function exportTab({ view, signal }) {
  view.append(...extensionHeader('export'));
  const conns = await connections(signal);
  const fields = [];

  const format = select(FORMATS, 'tsv');
  const connection = select([['', 'All connections'], ...conns.map((c) => [c.id, c.name])], '');
  const formatField = field('Export Format', format);
  const connectionField = field('Connection', connection);

  // Fields: the list, then a User Field / Column Name pair with Add.
  const fieldsBody = h('tbody');
  const fieldsTable = h('table', { class: 'data fields-table' },
    h('caption', { class: 'visually-hidden' }, 'Fields to export'),
    h('thead', {}, h('tr', {},
      h('th', { scope: 'col' }, 'User Field'), h('th', { scope: 'col' }, 'Column Name'),
      h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions')))),
    fieldsBody);
  const noFields = h('p', { class: 'hint' },
    'No fields: CSV and TSV exports get the 11 default columns, JSON exports the whole profile.');
  const userField = h('input', { id: 'export-user-field', autocomplete: 'off', placeholder: 'email' });
  const columnName = h('input', { id: 'export-column-name', autocomplete: 'off', placeholder: 'Email Address' });
  const addForm = h('form', { class: 'inline-form add-field', novalidate: true },
    field('User Field', userField).wrapper,
    field('Column Name', columnName).wrapper,
    h('button', { type: 'submit', class: 'secondary' }, 'Add'));
  const renderFields = () => {
    fill(fieldsBody, ...fields.map((f, i) => h('tr', { 'data-index': i },
      h('td', { 'data-label': 'User Field' }, h('code', {}, f.name)),
      h('td', { 'data-label': 'Column Name' }, f.export_as || f.name),
      h('td', { class: 'row-actions' }, button('Remove', () => {
        fields.splice(i, 1);
        renderFields();
        announce(`Removed ${f.name}`);
        userField.focus();
      }, 'link danger')))));
    fieldsBody.querySelectorAll('button').forEach((b, i) => b.setAttribute('aria-label', `Remove ${fields[i].name}`));
    fieldsTable.hidden = fields.length === 0;
    noFields.hidden = fields.length > 0;
  };
  addForm.addEventListener('submit', (e) => {
    e.preventDefault();
    clearErrors(addForm);
    const name = userField.value.trim();
    if (!name) {
      showError(userField, 'Enter a user field, e.g. email or user_metadata.plan.');
      userField.focus();
      return;
    }
    const entry = { name };
    if (columnName.value.trim()) entry.export_as = columnName.value.trim();
    fields.push(entry);
    userField.value = '';
    columnName.value = '';
    renderFields();
    announce(`Added ${name}`);
    userField.focus();
  });
  const addDefaults = button('Add Default Fields', async () => {
    // The engine's own default columns, so the page never keeps a copy of them.
    let defaults;
    try {
      defaults = (await api('/web/export-defaults')).fields;
    } catch (err) {
      showError(addDefaults, messageOf(err));
      return;
    }
    fields.push(...defaults);
    renderFields();
    announce(`Added the ${defaults.length} default fields`);
  }, 'secondary');
  renderFields();

  // Options.
  const dateFormat = select(DATE_FORMATS, '');
  const customDate = h('input', { id: 'export-custom-date', placeholder: '%d/%m/%Y' });
  const customField = field('Custom date format', customDate, 'A strftime pattern, e.g. %d/%m/%Y.');
  customField.wrapper.hidden = true;
  dateFormat.addEventListener('change', () => {
    customField.wrapper.hidden = dateFormat.value !== 'custom';
    if (!customField.wrapper.hidden) customDate.focus();
  });
  const bom = h('input', { type: 'checkbox', id: 'export-bom' });
  const formula = select(FORMULA_ESCAPES, 'smart');
  const delimitedOnly = h('fieldset', { class: 'options' },
    h('legend', {}, 'Spreadsheet options (CSV and TSV)'),
    field('Add a byte order mark (BOM) for spreadsheets', bom).wrapper,
    field('Formula protection', formula).wrapper);
  format.addEventListener('change', () => {
    delimitedOnly.disabled = format.value === 'json' || format.value === 'json_array';
  });

  const exportButton = h('button', { type: 'button', class: 'primary', id: 'export-button', disabled: true }, 'Counting users…');
  const formError = h('div', { class: 'form-error', id: 'export-error' });
  let count = null;
  const refreshCount = async () => {
    exportButton.disabled = true;
    exportButton.textContent = 'Counting users…';
    const selected = conns.find((c) => c.id === connection.value);
    try {
      const page = await api('/api/v2/users', {
        signal,
        query: { per_page: 1, include_totals: true, fields: 'user_id', connection: selected ? selected.name : '' },
      });
      count = page.total;
      exportButton.disabled = count === 0;
      exportButton.textContent = count === 0 ? 'Nothing to Export'
        : `Export ${formatNumber(count)} ${count === 1 ? 'User' : 'Users'}`;
    } catch (err) {
      if (!signal.aborted) showError(connection, `Cannot count the users: ${messageOf(err)}`);
    }
  };
  connection.addEventListener('change', () => { clearErrors(connectionField.wrapper.parentElement); refreshCount(); });

  // A div, not a form: the User Field / Column Name pair is its own form (Enter adds).
  const container = h('div', { class: 'card export-form' },
    h('div', { class: 'grid-2' }, formatField.wrapper, connectionField.wrapper),
    h('fieldset', { class: 'fields' }, h('legend', {}, 'Fields'), fieldsTable, noFields, addForm,
      h('div', { class: 'actions start' }, addDefaults)),
    h('fieldset', { class: 'options' }, h('legend', {}, 'Options'),
      field('Date format', dateFormat, 'How created_at, updated_at and other profile dates are written.').wrapper,
      customField.wrapper),
    delimitedOnly,
    formError,
    h('div', { class: 'actions' }, exportButton));
  view.append(container);

  exportButton.addEventListener('click', async () => {
    clearErrors(container);
    fill(formError);
    const body = { format: format.value, fields: fields.map((f) => ({ ...f })) };
    if (connection.value) body.connection_id = connection.value;
    const delimited = format.value === 'tsv' || format.value === 'csv';
    const options = {};
    const date = dateFormat.value === 'custom' ? customDate.value.trim() : dateFormat.value;
    if (dateFormat.value === 'custom' && !date) {
      showError(customDate, 'Enter a strftime pattern, or choose another date format.');
      customDate.focus();
      return;
    }
    if (date) options.date_format = date;
    if (delimited) {
      if (bom.checked) options.bom = true;
      options.formula_escape = formula.value;
    }
    if (Object.keys(options).length) body.options = options;
    exportButton.disabled = true;
    try {
      const job = await api('/api/v2/jobs/users-exports', { method: 'POST', json: body });
      exportDialog(job);
    } catch (err) {
      showExportError(err);
    } finally {
      exportButton.disabled = count === 0;
    }
  });

  function showExportError(err) {
    const property = propertyOf(err);
    const row = /^fields\[(\d+)\]/.exec(property);
    let target = formError;
    if (row) target = fieldsBody.querySelector(`tr[data-index="${row[1]}"] td:first-child`) || formError;
    else if (property === 'format') target = format;
    else if (property === 'connection_id' || (err.status === 404 && connection.value)) target = connection;
    else if (property === 'options.date_format') target = dateFormat.value === 'custom' ? customDate : dateFormat;
    else if (property === 'options.formula_escape') target = formula;
    else if (property === 'options.bom') target = bom;
    showError(target, messageOf(err));
    if (target.tagName === 'INPUT' || target.tagName === 'SELECT') target.focus();
  }

  await refreshCount();
}

/** Downloads an export's file. Every read of the job mints a fresh signed link (valid for
 * a minute), so the link is asked for at the moment of the click. */
async function downloadExport(jobId) {
  const job = await api(`/api/v2/jobs/${jobId}`);
  if (!job.location) throw new Error(`The file is no longer available (the job is ${job.status}).`);
  download(job.location);
}

/** The export job's progress dialog: percent and time left, then Download or the reason. */
function exportDialog(job) {
  const controller = new AbortController();
  const bar = progressBar('Export progress');
  const status = h('p', { class: 'status', id: 'export-status' });
  const failure = h('p', { class: 'error', role: 'alert', hidden: true, id: 'export-failure' });
  const downloadButton = button('Download', async () => {
    downloadButton.disabled = true;
    try {
      await downloadExport(job.id);
    } catch (err) {
      failure.hidden = false;
      failure.textContent = messageOf(err);
    } finally {
      downloadButton.disabled = false;
    }
  }, 'primary');
  downloadButton.hidden = true;
  const closeButton = button('Close', () => d.close(), 'secondary');
  const d = openDialog({
    title: 'Exporting users',
    content: [bar.el, status, failure],
    actions: [closeButton, downloadButton],
    onClose: () => controller.abort(),
  });
  d.dialog.dataset.job = job.id;
  const show = (j) => {
    d.dialog.dataset.status = j.status;
    switch (j.status) {
      case 'pending':
        bar.set(null, 'Waiting for a worker…');
        break;
      case 'processing':
        bar.set(j.percentage_done || 0,
          `${j.percentage_done || 0} % — ${j.time_left_seconds ? `about ${formatSeconds(j.time_left_seconds)} left` : 'estimating time left'}`);
        break;
      case 'completed':
        bar.set(100, '100 % — done');
        status.textContent = 'The export is complete. Download the file (gzip-compressed).';
        downloadButton.hidden = false;
        downloadButton.focus();
        announce('Export complete');
        break;
      case 'failed':
        bar.el.hidden = true;
        failure.hidden = false;
        failure.textContent = `The export failed: ${j.status_details || 'no reason was given.'}`;
        closeButton.focus();
        break;
      case 'expired':
        bar.el.hidden = true;
        failure.hidden = false;
        failure.textContent = 'This export has expired: its file was deleted.';
        break;
      default:
        status.textContent = `Status: ${j.status}`;
    }
    return ['completed', 'failed', 'expired'].includes(j.status);
  };
  let first = true;
  poll(async () => {
    const j = first && job.status ? job : await api(`/api/v2/jobs/${job.id}`, { signal: controller.signal });
    first = false;
    return show(j);
  }, { signal: controller.signal }).catch((err) => {
    if (controller.signal.aborted) return;
    bar.el.hidden = true;
    failure.hidden = false;
    failure.textContent = `Cannot read the job's status: ${messageOf(err)}`;
  });
  return d;
}

// ---------------------------------------------------------------- Import tab

const ACCEPT = '.json,.ndjson,.jsonl,.csv,.tsv,.txt,.gz,application/json,text/csv,application/gzip';

async function importTab({ view, signal }) {
  view.append(...extensionHeader('import'));
  const conns = await connections(signal);
  let files = [];

  const input = h('input', { type: 'file', id: 'import-files', multiple: true, accept: ACCEPT, class: 'file-input' });
  const chosen = h('ul', { class: 'file-list', 'aria-label': 'Chosen files' });
  const drop = h('div', { class: 'dropzone', id: 'import-dropzone' },
    h('label', { for: input.id }, h('strong', {}, 'Choose files'), ' or drop them here'),
    input,
    h('p', { class: 'hint' }, 'Users files: JSON array, NDJSON, CSV or TSV (.json, .ndjson, .csv, .tsv), or any of them gzip-compressed (.gz).'));
  const renderChosen = () => {
    fill(chosen, ...files.map((f, i) => h('li', {},
      h('span', { class: 'file-name' }, f.name), ' ', h('span', { class: 'muted' }, `(${formatNumber(f.size)} bytes)`), ' ',
      button('Remove', () => { files.splice(i, 1); renderChosen(); input.focus(); }, 'link danger'))));
    chosen.querySelectorAll('button').forEach((b, i) => b.setAttribute('aria-label', `Remove ${files[i].name}`));
    chosen.hidden = files.length === 0;
  };
  const addFiles = (list) => {
    clearErrors(drop.parentElement);
    for (const f of list) files.push(f);
    renderChosen();
    announce(`${files.length} file${files.length === 1 ? '' : 's'} chosen`);
  };
  input.addEventListener('change', () => { addFiles(input.files); input.value = ''; });
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    addFiles(e.dataTransfer.files);
  });
  renderChosen();

  const connection = select(conns.map((c) => [c.id, c.name]), conns[0] ? conns[0].id : '');
  const upsert = h('input', { type: 'checkbox', id: 'import-upsert' });
  const mappings = h('textarea', { id: 'import-columns', rows: 3, spellcheck: 'false', placeholder: 'Email Address=email' });
  const start = h('button', { type: 'submit', class: 'primary', id: 'import-start' }, 'Start Importing Users');
  const statusBody = h('tbody');
  const statusTable = h('div', { class: 'table-wrap', hidden: true },
    h('table', { class: 'data import-status' },
      h('caption', {}, 'Status per file'),
      h('thead', {}, h('tr', {}, ['File', 'Status', 'Result', 'Action'].map((t) => h('th', { scope: 'col' }, t)))),
      statusBody));

  const form = h('form', { class: 'card', novalidate: true, id: 'import-form' },
    drop, chosen,
    h('div', { class: 'grid-2' },
      field('Connection', connection).wrapper,
      field('Upsert pre-existing users', upsert, 'Update users that already exist instead of failing them.').wrapper),
    field('CSV/TSV columns', mappings,
      'One COLUMN=USER FIELD per line (e.g. Email Address=email). Columns named as user fields need none.').wrapper,
    h('div', { class: 'actions' }, start));
  view.append(form, statusTable);

  const columnMappings = () => mappings.value.split('\n').map((l) => l.trim()).filter(Boolean);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    const bad = columnMappings().find((l) => !l.includes('='));
    if (bad) { showError(mappings, `"${bad}" is not COLUMN=USER FIELD.`); mappings.focus(); return; }
    if (!files.length) { showError(drop, 'Choose at least one file.'); input.focus(); return; }
    if (!connection.value) { showError(connection, 'Choose the connection to import into.'); connection.focus(); return; }
    const batch = files;
    files = [];
    renderChosen();
    statusTable.hidden = false;
    start.disabled = true;
    for (const file of batch) {
      // Upload one file after the other; each job is then watched on its own.
      await importOne(file, connection.value, upsert.checked, columnMappings(), statusBody, signal);
    }
    start.disabled = false;
  });
}

async function importOne(file, connectionId, upsert, columns, statusBody, signal) {
  const bar = progressBar(`Uploading ${file.name}`);
  bar.el.classList.add('compact');
  const result = h('span', { class: 'result' });
  const action = h('td', { class: 'row-actions' });
  const statusCell = h('td', { 'data-label': 'Status' }, bar.el);
  const row = h('tr', { 'data-file': file.name },
    h('td', { 'data-label': 'File' }, file.name), statusCell, h('td', { 'data-label': 'Result' }, result), action);
  statusBody.append(row);
  const form = new FormData();
  form.append('users', file, file.name);
  form.append('connection_id', connectionId);
  form.append('upsert', upsert ? 'true' : 'false');
  // The same COLUMN=PATH mappings as the CLI's --field; the server reads them for CSV/TSV.
  for (const mapping of columns) form.append('field', mapping);
  let job;
  try {
    job = await upload('/api/v2/jobs/users-imports', form, {
      signal,
      onProgress: (p) => bar.set(p * 100, `Uploading: ${Math.round(p * 100)} %`),
    });
  } catch (err) {
    row.dataset.status = 'failed';
    fill(statusCell, h('span', { class: 'badge failed' }, 'upload failed'));
    fill(result, h('span', { class: 'error', role: 'alert' }, messageOf(err)));
    return;
  }
  row.dataset.job = job.id;
  const show = (j) => {
    row.dataset.status = j.status;
    if (j.status === 'pending' || j.status === 'processing') {
      fill(statusCell, h('span', { class: `badge ${j.status}` }, j.status), bar.el);
      bar.set(j.status === 'processing' ? j.percentage_done || 0 : null,
        j.status === 'processing' ? `${j.percentage_done || 0} %` : 'Queued');
      return false;
    }
    fill(statusCell, h('span', { class: `badge ${j.status}` }, j.status));
    fill(result, importResult(j));
    if (j.summary || j.status === 'completed') {
      fill(action, button('Show Summary', () => importReportDialog(j.id, file.name), 'secondary'));
      action.firstChild.setAttribute('aria-label', `Show Summary of ${file.name}`);
    }
    announce(`${file.name}: ${j.status}`);
    return true;
  };
  show(job);
  // Not awaited: the next file uploads while this job runs.
  poll(async () => show(await api(`/api/v2/jobs/${job.id}`, { signal })), { signal }).catch((err) => {
    if (!signal.aborted) fill(result, h('span', { class: 'error', role: 'alert' }, messageOf(err)));
  });
}

function summaryText(s) {
  return `inserted ${formatNumber(s.inserted)}, updated ${formatNumber(s.updated)}, failed ${formatNumber(s.failed)}, total ${formatNumber(s.total)}`;
}

function importResult(j) {
  const parts = [];
  if (j.summary) parts.push(h('span', { class: 'summary' }, summaryText(j.summary)));
  if (j.status === 'failed') parts.push(h('span', { class: 'error' }, j.status_details || 'The import failed.'));
  return h('span', {}, parts);
}

/** The report of an import job: its summary and every failed user with every reason. */
function importReportDialog(jobId, label) {
  const controller = new AbortController();
  const content = h('div', { class: 'report', 'aria-live': 'polite' }, h('p', {}, 'Loading…'));
  const close = button('Close', () => d.close(), 'secondary');
  const d = openDialog({
    title: `Import summary${label ? ` — ${label}` : ''}`,
    content,
    actions: [close],
    wide: true,
    onClose: () => controller.abort(),
  });
  d.dialog.id = 'import-report';
  poll(async () => {
    const job = await api(`/api/v2/jobs/${jobId}`, { signal: controller.signal });
    if (job.status === 'pending' || job.status === 'processing') {
      fill(content, h('p', {}, `The import is ${job.status}${job.percentage_done ? ` (${job.percentage_done} %)` : ''}…`));
      return false;
    }
    const parts = [h('p', { class: `badge ${job.status}` }, job.status)];
    if (job.summary) {
      parts.push(counts(['inserted', 'updated', 'failed', 'total'].map((k) => [
        k[0].toUpperCase() + k.slice(1), formatNumber(job.summary[k]), k])));
    }
    if (job.status === 'failed') parts.push(h('p', { class: 'error', role: 'alert' }, job.status_details || 'The import failed.'));
    if (job.status === 'expired') parts.push(h('p', {}, 'This job has expired: its details were deleted.'));
    if (job.summary && job.summary.failed > 0) {
      const errors = await api(`/api/v2/jobs/${jobId}/errors`, { signal: controller.signal });
      if (Array.isArray(errors)) parts.push(failedUsers(errors));
    } else if (job.status === 'completed') {
      parts.push(h('p', {}, 'Every user was imported.'));
    }
    fill(content, ...parts);
    return true;
  }, { signal: controller.signal }).catch((err) => {
    if (!controller.signal.aborted) fill(content, h('p', { class: 'error', role: 'alert' }, messageOf(err)));
  });
}

function failedUsers(errors) {
  return h('section', { 'aria-label': 'Failed users' },
    h('h3', {}, `${formatNumber(errors.length)} failed user${errors.length === 1 ? '' : 's'}`),
    h('ol', { class: 'failed-users' }, errors.map((e) => {
      const u = e.user || {};
      const who = u.email || u.user_id || u.username || '(no email, user_id or username)';
      return h('li', { class: 'failed-user', 'data-index': e.index },
        h('p', { class: 'who' }, h('strong', {}, who),
          e.index !== undefined ? h('span', { class: 'muted' }, ` record ${e.index + 1} of the file`) : null),
        h('ul', { class: 'reasons' }, (e.errors || []).map((r) => h('li', {},
          h('code', {}, r.code), ' ', h('span', { class: 'message' }, r.message)))));
    })));
}

// ---------------------------------------------------------------- History tab

const PER_PAGE = 20;

async function historyTab({ view, query, signal }) {
  view.append(...extensionHeader('history'));
  const page = Math.max(0, Number(query.page) || 0);
  const data = await api('/api/v2/jobs', { signal, query: { page, per_page: PER_PAGE, include_totals: true } });
  const jobs = Array.isArray(data) ? data : data.jobs || [];
  const total = Array.isArray(data) ? undefined : data.total;
  const typeLabel = (j) => (j.type === 'users_export' ? 'Export' : j.type === 'users_import' ? 'Import' : j.type);
  const summary = (j) => {
    if (j.status === 'failed') return h('span', { class: 'error' }, j.status_details || 'failed');
    if (j.type === 'users_import') return j.summary ? summaryText(j.summary) : '';
    if (j.type === 'users_export') {
      const format = (FORMATS.find(([v]) => v === j.format) || [null, j.format || 'json'])[1];
      const n = (j.fields || []).length;
      return `${format}, ${n} field${n === 1 ? '' : 's'}${j.connection ? `, ${j.connection}` : ''}`;
    }
    return '';
  };
  const action = (j) => {
    const active = j.status === 'pending' || j.status === 'processing';
    if (j.type === 'users_export' && active) return button('Check Status', () => exportDialog({ id: j.id }), 'secondary');
    if (j.type === 'users_export' && j.status === 'completed') {
      return button('Download', async (e) => {
        const b = e.currentTarget;
        try {
          await downloadExport(j.id);
        } catch (err) {
          showError(b.parentElement, messageOf(err));
        }
      }, 'secondary');
    }
    if (j.type === 'users_import' && active) return button('Check Status', () => importReportDialog(j.id), 'secondary');
    if (j.type === 'users_import' && (j.summary || j.status === 'completed')) {
      return button('Show Summary', () => importReportDialog(j.id), 'secondary');
    }
    return '';
  };
  const t = table([
    { label: 'Type', cell: typeLabel },
    { label: 'Date', cell: (j) => h('time', { datetime: j.created_at }, formatDate(j.created_at)) },
    { label: 'Status', cell: (j) => h('span', { class: `badge ${j.status}` }, j.status) },
    { label: 'Summary', cell: summary },
    { label: 'Action', cell: action, class: 'row-actions' },
  ], jobs, { caption: 'Recent jobs, newest first', empty: 'No jobs yet: exports and imports appear here.' });
  t.querySelectorAll('tbody tr').forEach((tr, i) => {
    if (!jobs[i]) return;
    tr.dataset.job = jobs[i].id;
    tr.querySelectorAll('button').forEach((b) => b.setAttribute('aria-label', `${b.textContent}: ${typeLabel(jobs[i])} of ${formatDate(jobs[i].created_at)}`));
  });
  view.append(t, pager(page, jobs.length, total, PER_PAGE, (p) => `#/users/history?page=${p}`, 'jobs'));
}

function pager(page, shown, total, perPage, href, noun) {
  const first = page * perPage + 1;
  const last = page * perPage + shown;
  const more = total !== undefined ? last < total : shown === perPage;
  const info = shown ? `${formatNumber(first)}–${formatNumber(last)}${total !== undefined ? ` of ${formatNumber(total)}` : ''} ${noun}` : '';
  return h('nav', { class: 'pager', 'aria-label': 'Pages' },
    page > 0 ? h('a', { href: href(page - 1), class: 'button secondary', rel: 'prev' }, 'Previous') : null,
    h('span', { class: 'pager-info' }, info),
    more ? h('a', { href: href(page + 1), class: 'button secondary', rel: 'next' }, 'Next') : null);
}

// ---------------------------------------------------------------- Users list and profile

/** The `q` for a search box: a query the user wrote is passed as is; plain text searches
 * email, name, given and family name by prefix (the search needs 3 characters for that). */
function searchQuery(text) {
  const t = text.trim();
  if (!t) return '';
  if (/[:"()[\]]/.test(t) || /(^|\s)(AND|OR|NOT)(\s|$)/.test(t)) return t;
  const escape = (s) => s.replace(/[^\p{L}\p{N}@._]/gu, (c) => `\\${c}`);
  const quoted = `"${t.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
  if ([...t].length < 3) return `email:${quoted} OR name:${quoted} OR given_name:${quoted} OR family_name:${quoted}`;
  const p = `${escape(t)}*`;
  if (t.includes('@')) return `email:${p}`;
  return `email:${p} OR name:${p} OR given_name:${p} OR family_name:${p}`;
}

const USERS_PER_PAGE = 50;

async function usersList({ view, query, signal }) {
  view.append(pageHeading('Users'));
  const text = query.search || '';
  const page = Math.max(0, Number(query.page) || 0);
  const searchInput = h('input', { type: 'search', id: 'users-search', value: text, autocomplete: 'off' });
  const hint = h('p', { class: 'hint', id: 'users-search-hint' },
    'Three characters or more match the start of the email, name, given or family name; a query such as email_verified:false works too.');
  searchInput.setAttribute('aria-describedby', hint.id);
  const form = h('form', { class: 'inline-form search', role: 'search', novalidate: true },
    field('Search by email or name', searchInput).wrapper,
    h('button', { type: 'submit' }, 'Search'),
    text ? h('a', { href: '#/users', class: 'button secondary' }, 'Clear') : null,
    hint);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    location.hash = url('#/users', { search: searchInput.value.trim() });
  });
  view.append(form);
  let data;
  try {
    data = await api('/api/v2/users', {
      signal,
      query: { q: searchQuery(text), page, per_page: USERS_PER_PAGE, include_totals: true, fields: 'user_id,email,name,identities,created_at' },
    });
  } catch (err) {
    if (err instanceof ApiError && err.status === 400) {
      showError(searchInput, messageOf(err));
      return;
    }
    throw err;
  }
  const users = data.users || [];
  const t = table([
    { label: 'Email', cell: (u) => h('a', { href: `#/users/${encodeURIComponent(u.user_id)}` }, u.email || u.user_id) },
    { label: 'Name', cell: (u) => u.name || '' },
    { label: 'Connection', cell: (u) => (u.identities && u.identities[0] ? u.identities[0].connection : '') },
    { label: 'Created', cell: (u) => h('time', { datetime: u.created_at }, formatDate(u.created_at)) },
  ], users, { caption: text ? `Users matching “${text}”` : 'All users', empty: 'No user matches.' });
  view.append(t, pager(page, users.length, data.total, USERS_PER_PAGE,
    (p) => url('#/users', { search: text, page: p }), 'users'));
}

async function userProfile({ view, params, signal }) {
  const user = await api(`/api/v2/users/${encodeURIComponent(params.id)}`, { signal });
  view.append(
    h('p', { class: 'breadcrumbs' }, h('a', { href: '#/users' }, '‹ Users')),
    pageHeading(user.name || user.email || user.user_id));
  const main = ['user_id', 'email', 'email_verified', 'username', 'phone_number', 'phone_verified',
    'given_name', 'family_name', 'nickname', 'name', 'created_at', 'updated_at', 'last_login',
    'logins_count', 'last_ip', 'blocked'];
  const rows = main.filter((k) => user[k] !== undefined);
  const dl = h('dl', { class: 'profile' }, rows.map((k) => [h('dt', {}, k), h('dd', {}, String(user[k]))]));
  const picture = user.picture && user.picture.startsWith('data:') ? h('img', { src: user.picture, alt: '' }) : null;
  view.append(h('section', { class: 'card', 'aria-labelledby': 'profile-main' },
    h('h2', { id: 'profile-main' }, 'Profile'), picture, dl));
  for (const key of ['identities', 'user_metadata', 'app_metadata', 'multifactor']) {
    if (user[key] === undefined) continue;
    view.append(h('section', { class: 'card', 'aria-label': key },
      h('h2', {}, key), h('pre', { class: 'json', tabindex: '0' }, JSON.stringify(user[key], null, 2))));
  }
  view.append(h('details', { class: 'card' }, h('summary', {}, 'The whole profile as JSON'),
    h('pre', { class: 'json', tabindex: '0' }, JSON.stringify(user, null, 2))));
}
