// The Campaign Manager: Documents, Data Import (definitions, processes, reports) and
// Tables, on /api/campaign/v1 — the engine the CLI's `userbridge campaign …` runs.

import {
  ApiError, announce, api, button, clearErrors, counts, fill, confirmDialog, field, hiddenLabel, formatBytes, formatDate,
  formatNumber, formatSeconds, h, messageOf, navigate, pageHeading, poll, progressBar, route,
  select, showError, table, upload, url,
} from './app.js';

const CAMPAIGN = '/api/campaign/v1';

export function registerCampaignRoutes() {
  route('/campaign/documents', documentsPage);
  route('/campaign/imports', importsPage);
  route('/campaign/imports/new', (ctx) => definitionPage({ ...ctx, id: null }));
  route('/campaign/imports/:id', (ctx) => definitionPage({ ...ctx, id: ctx.params.id }));
  route('/campaign/processes/:id', processPage);
  route('/campaign/tables', tablesPage);
  route('/campaign/tables/:name', tablePage);
}

function joinPath(dir, name) {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

function parentOf(path) {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

function docsHref(path) {
  return url('#/campaign/documents', { path: path === '/' ? '' : path });
}

function contentHref(path) {
  return url(`${CAMPAIGN}/documents/content`, { path });
}

// ---------------------------------------------------------------- Documents

async function documentsPage({ view, query, signal }) {
  const path = query.path || '/';
  view.append(pageHeading('Campaign Manager › Documents'));

  // Breadcrumbs: / › marketing › 2024
  const crumbs = [h('a', { href: docsHref('/') }, 'Documents')];
  let acc = '';
  for (const part of path.split('/').filter(Boolean)) {
    acc += `/${part}`;
    crumbs.push(' › ', h('a', { href: docsHref(acc) }, part));
  }
  const last = crumbs[crumbs.length - 1];
  last.setAttribute('aria-current', 'location');
  view.append(h('nav', { class: 'breadcrumbs', 'aria-label': 'Directory' }, crumbs));

  // New directory.
  const dirName = h('input', { id: 'new-directory', autocomplete: 'off' });
  const mkdirForm = h('form', { class: 'inline-form', novalidate: true, id: 'mkdir-form' },
    field('New directory name', dirName).wrapper,
    h('button', { type: 'submit', class: 'secondary' }, 'Create Directory'));
  mkdirForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(mkdirForm);
    const name = dirName.value.trim();
    if (!name) { showError(dirName, 'Enter a name for the directory.'); dirName.focus(); return; }
    try {
      const made = await api(`${CAMPAIGN}/documents/directories`, { method: 'POST', json: { path: joinPath(path, name) } });
      dirName.value = '';
      announce(`Created ${made.path}`);
      await refresh();
    } catch (err) {
      showError(dirName, messageOf(err));
      dirName.focus();
    }
  });

  // Upload Files.
  const files = h('input', { type: 'file', id: 'upload-files', multiple: true });
  const conflict = select([['fail', 'Refuse (keep the existing document)'], ['replace', 'Replace the existing document'], ['keep_both', 'Keep both (add a number)']], 'fail');
  const bar = progressBar('Upload progress');
  bar.el.hidden = true;
  const uploadButton = h('button', { type: 'submit', class: 'primary' }, 'Upload');
  const uploadForm = h('form', { class: 'upload-form', novalidate: true, id: 'upload-form' },
    h('div', { class: 'grid-2' },
      field(`Upload Files to ${path}`, files).wrapper,
      field('When a document has the same name', conflict).wrapper),
    h('div', { class: 'actions start' }, uploadButton), bar.el);
  uploadForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(uploadForm);
    if (!files.files.length) { showError(files, 'Choose one or more files to upload.'); files.focus(); return; }
    const data = new FormData();
    for (const f of files.files) data.append('file', f, f.name);
    uploadButton.disabled = true;
    bar.el.hidden = false;
    bar.set(0, 'Uploading: 0 %');
    try {
      const done = await upload(`${CAMPAIGN}/documents/upload`, data, {
        query: { path, on_conflict: conflict.value },
        onProgress: (p) => bar.set(p * 100, p < 1 ? `Uploading: ${Math.round(p * 100)} %` : 'Saving…'),
      });
      const names = (done.documents || []).map((d) => d.name).join(', ');
      bar.set(100, `Uploaded ${names}.`);
      announce(`Uploaded ${names}`);
      files.value = '';
      await refresh();
    } catch (err) {
      bar.el.hidden = true;
      showError(files, messageOf(err));
      files.focus();
    } finally {
      uploadButton.disabled = false;
    }
  });

  view.append(h('section', { class: 'card toolbar', 'aria-label': 'Add to this directory' }, mkdirForm, uploadForm));
  const listing = h('section', { class: 'listing', 'aria-label': `Contents of ${path}` });
  view.append(listing);

  async function refresh() {
    let data;
    try {
      data = await api(`${CAMPAIGN}/documents`, { signal, query: { path } });
    } catch (err) {
      fill(listing, h('p', { class: 'error', role: 'alert' }, messageOf(err)));
      return;
    }
    const entries = [
      ...(data.directories || []).map((d) => ({ ...d, isDirectory: true })),
      ...(data.documents || []),
    ];
    const t = table([
      {
        label: 'Name',
        cell: (e) => (e.isDirectory
          ? h('a', { href: docsHref(e.path), class: 'dir' }, `${e.name}/`)
          : h('span', { class: 'doc-name' }, e.name)),
      },
      { label: 'Size', cell: (e) => (e.isDirectory ? '' : formatBytes(e.size)), class: 'num' },
      { label: 'Uploaded', cell: (e) => formatDate(e.uploaded_at || e.created_at) },
      { label: 'Kind', cell: (e) => (e.isDirectory ? 'directory' : e.kind) },
      {
        label: 'Actions',
        class: 'row-actions',
        cell: (e) => [
          e.isDirectory ? null : h('a', { href: contentHref(e.path), download: e.name, class: 'button link', 'aria-label': `Download ${e.name}` }, 'Download'),
          e.isDirectory ? null : h('a', { href: url('#/campaign/imports/new', { document: e.path }), class: 'button link', 'aria-label': `New Import from ${e.name}` }, 'New Import'),
          h('button', {
            type: 'button',
            class: 'link danger',
            'aria-label': `Delete ${e.name}`,
            on: { click: (ev) => remove(e, ev.currentTarget) },
          }, 'Delete'),
        ],
      },
    ], entries, { caption: `${path} — ${entries.length} item${entries.length === 1 ? '' : 's'}`, empty: 'This directory is empty.' });
    t.querySelectorAll('tbody tr').forEach((tr, i) => { if (entries[i]) tr.dataset.path = entries[i].path; });
    fill(listing, t);
  }

  async function remove(entry, trigger) {
    const what = entry.isDirectory ? `the directory ${entry.path} and everything in it` : entry.path;
    const ok = await confirmDialog(`Delete ${entry.name}?`, `Delete ${what}? This cannot be undone.`, 'Delete');
    if (!ok) return;
    try {
      await api(`${CAMPAIGN}/documents`, { method: 'DELETE', query: { path: entry.path, recursive: entry.isDirectory ? 'true' : '' } });
      announce(`Deleted ${entry.path}`);
      await refresh();
      dirName.focus();
    } catch (err) {
      showError(trigger.parentElement, messageOf(err));
    }
  }

  await refresh();
}

// ---------------------------------------------------------------- Data Import: list

async function importsPage({ view, signal }) {
  view.append(pageHeading('Campaign Manager › Data Import'),
    h('div', { class: 'actions start' }, h('a', { href: '#/campaign/imports/new', class: 'button primary', id: 'new-import' }, 'New Import')));
  const data = await api(`${CAMPAIGN}/import-definitions`, { signal });
  const defs = data.definitions || [];
  const t = table([
    { label: 'Name', cell: (d) => h('a', { href: `#/campaign/imports/${d.id}` }, d.name) },
    { label: 'Document', cell: (d) => d.definition.document },
    { label: 'Table', cell: (d) => h('a', { href: `#/campaign/tables/${encodeURIComponent(d.definition.target.table)}` }, d.definition.target.table) },
    { label: 'Version', cell: (d) => String(d.version), class: 'num' },
    { label: 'Updated', cell: (d) => formatDate(d.updated_at) },
    {
      label: 'Actions',
      class: 'row-actions',
      cell: (d) => [
        h('a', { href: `#/campaign/imports/${d.id}`, class: 'button link', 'aria-label': `Open ${d.name}` }, 'Open'),
        h('button', {
          type: 'button', class: 'link', 'aria-label': `Run Process ${d.name}`,
          on: { click: (e) => runDefinition(d.id, e.currentTarget.parentElement) },
        }, 'Run Process'),
      ],
    },
  ], defs, { caption: 'Saved imports', empty: 'No saved import yet: start with New Import.' });
  view.append(t);
}

async function runDefinition(id, errorPlace, dryRun = false) {
  try {
    const process = await api(`${CAMPAIGN}/import-definitions/${id}/runs`, { method: 'POST', json: { dry_run: dryRun } });
    navigate(`#/campaign/processes/${process.id}`);
  } catch (err) {
    showError(errorPlace, messageOf(err));
  }
}

// ---------------------------------------------------------------- Data Import: a definition

const ENCODINGS = ['UTF-8', 'UTF-16LE', 'UTF-16BE', 'windows-1252', 'ISO-8859-1'];
const DELIMITERS = [['\t', 'Tab'], [',', 'Comma (,)'], [';', 'Semicolon (;)'], ['|', 'Pipe (|)'], ['other', 'Other…']];
const QUALIFIERS = [['"', 'Double quote (")'], ["'", "Single quote (')"], ['', 'None']];
const TYPES = ['text', 'integer', 'decimal', 'boolean', 'date', 'datetime', 'email'];
const MODES = [['add_and_update', 'Add and update'], ['add_only', 'Add only'], ['update_only', 'Update only'], ['overwrite', 'Overwrite (replace the table)']];
const DUPLICATES = [['last', 'Keep the last'], ['first', 'Keep the first'], ['reject', 'Reject them all']];
const VERIFY = [['names', 'Same names, any order'], ['exact', 'Same names, same order'], ['off', 'Do not check']];
const DATE_FORMAT_NAMES = ['CCYYMMDD', 'CCYY-MM-DD', 'DDMMCCYY', 'MMDDCCYY', 'DD/MM/CCYY', 'MM/DD/CCYY', 'DD.MM.CCYY', 'DDMMMCCYY',
  'CCYYMMDD HHMMSS', 'CCYYMMDD HH:MM:SS', 'CCYY-MM-DD HH:MM:SS', 'ISO 8601'];

/** Lower-case letters and digits only: how header names and column names are compared for
 * suggestions ("Email Address" ~ "email_address"). */
function normalise(name) {
  return name.toLowerCase().replace(/[^\p{L}\p{N}]/gu, '');
}

async function allDocuments(signal) {
  // A search for "" under / lists every document.
  const data = await api(`${CAMPAIGN}/documents?path=%2F&q=`, { signal });
  return data.documents || [];
}

async function definitionPage({ view, id, query, signal }) {
  const saved = id ? await api(`${CAMPAIGN}/import-definitions/${id}`, { signal }) : null;
  const def = saved ? saved.definition : null;
  const [documents, tablesData] = await Promise.all([
    allDocuments(signal),
    api(`${CAMPAIGN}/tables`, { signal }),
  ]);
  const tables = tablesData.tables || [];
  view.append(
    h('p', { class: 'breadcrumbs' }, h('a', { href: '#/campaign/imports' }, '‹ Data Import')),
    pageHeading(saved ? `Data Import › ${saved.name}` : 'Data Import › New Import'));
  if (saved) view.append(h('p', { class: 'muted' }, `Version ${saved.version}, saved ${formatDate(saved.updated_at)}.`));

  // --- Source
  const name = h('input', { id: 'import-name', autocomplete: 'off', value: def ? def.name : '' });
  const docPaths = documents.map((d) => d.path);
  const initialDoc = def ? def.document : query.document || '';
  if (initialDoc && !docPaths.includes(initialDoc)) docPaths.unshift(initialDoc);
  const docSelect = select([['', 'Choose a document…'], ...docPaths.map((p) => [p, p])], initialDoc);
  docSelect.id = 'import-document';
  const sourceSection = h('section', { class: 'card', 'aria-labelledby': 'src-title' },
    h('h2', { id: 'src-title' }, 'Source'),
    h('div', { class: 'grid-2' }, field('Import name', name).wrapper, field('Document', docSelect).wrapper));

  // --- What the sniffer found, the dialect, the preview
  const sniffBox = h('div', { class: 'sniff', id: 'sniff', 'aria-live': 'polite' });
  const encoding = select(ENCODINGS.map((e) => [e, e]));
  const delimiter = select(DELIMITERS);
  const otherDelimiter = h('input', { maxlength: 1, size: 2, id: 'import-delimiter-other' });
  const otherField = field('Other delimiter', otherDelimiter);
  const qualifier = select(QUALIFIERS);
  const header = h('input', { type: 'checkbox', checked: true });
  const skipRows = h('input', { type: 'number', min: 0, value: '0', inputmode: 'numeric' });
  encoding.id = 'import-encoding';
  delimiter.id = 'import-delimiter';
  qualifier.id = 'import-qualifier';
  header.id = 'import-header';
  skipRows.id = 'import-skip-rows';
  const syncOther = () => { otherField.wrapper.hidden = delimiter.value !== 'other'; };
  delimiter.addEventListener('change', syncOther);
  header.addEventListener('change', () => {
    // With a header, source columns are named; without one, numbered from 1.
    if (!sniffed) return;
    const names = sniffed.columns.map((c) => c.name);
    rows.forEach((r, i) => {
      const at = typeof r.source === 'number' ? r.source - 1 : names.indexOf(r.source);
      const index = at >= 0 ? at : i;
      r.source = header.checked ? names[index] : index + 1;
    });
    renderMapping();
  });
  const dialectSection = h('section', { class: 'card', 'aria-labelledby': 'dialect-title' },
    h('h2', { id: 'dialect-title' }, 'File format'),
    sniffBox,
    h('div', { class: 'grid-4' },
      field('Encoding', encoding).wrapper,
      field('Delimiter', delimiter).wrapper,
      otherField.wrapper,
      field('Text qualifier', qualifier).wrapper,
      field('Rows to skip before the header', skipRows).wrapper,
      field('The first row is a header', header).wrapper));
  const previewSection = h('section', { class: 'card', 'aria-labelledby': 'preview-title', hidden: true },
    h('h2', { id: 'preview-title' }, 'Preview'), h('div', { id: 'preview' }));

  // --- Target and mapping
  const tableInput = h('input', { id: 'import-table', autocomplete: 'off', list: 'import-table-list', value: def ? def.target.table : '' });
  const tableList = h('datalist', { id: 'import-table-list' }, tables.map((t) => h('option', { value: t.name })));
  const tableHint = h('p', { class: 'hint', id: 'import-table-state', 'aria-live': 'polite' });
  const mappingBody = h('tbody');
  const mappingTable = h('div', { class: 'table-wrap', id: 'mapping' }, h('table', { class: 'data mapping' },
    h('caption', {}, 'Columns: each source column and the table column it fills'),
    h('thead', {}, h('tr', {}, ['Import', 'Source column', 'Target column', 'Type', 'Format', 'Strip leading \'', 'Key']
      .map((t) => h('th', { scope: 'col' }, t)))),
    mappingBody));
  const mappingError = h('p', { class: 'error', role: 'alert', id: 'mapping-error', hidden: true });
  const targetSection = h('section', { class: 'card', 'aria-labelledby': 'target-title' },
    h('h2', { id: 'target-title' }, 'Target table and columns'),
    h('div', { class: 'grid-2' }, h('div', {}, field('Table', tableInput).wrapper, tableList, tableHint)),
    mappingTable, mappingError);

  // --- Options
  const mode = select(MODES, def ? def.mode : 'add_and_update');
  const duplicates = select(DUPLICATES, def ? def.duplicates : 'last');
  const verify = select(VERIFY, def ? def.verify_headers || 'names' : 'names');
  const clearToken = h('input', { value: def ? def.clear_token : '#CLEAR#', id: 'import-clear-token' });
  const blankOverwrites = h('input', { type: 'checkbox', checked: def ? def.blank_overwrites : false, id: 'import-blank-overwrites' });
  const th = (def && def.thresholds) || {};
  const maxRows = h('input', { type: 'number', min: 0, id: 'import-max-rejected-rows', value: th.max_rejected_rows ?? '' });
  const maxPercent = h('input', { type: 'number', min: 0, max: 100, step: 'any', id: 'import-max-rejected-percent', value: th.max_rejected_percent ?? '' });
  const firstRows = h('input', { type: 'number', min: 0, id: 'import-first-rows', value: def ? th.abort_if_first_rows_rejected ?? '' : '100' });
  mode.id = 'import-mode';
  duplicates.id = 'import-duplicates';
  verify.id = 'import-verify';
  const optionsSection = h('section', { class: 'card', 'aria-labelledby': 'options-title' },
    h('h2', { id: 'options-title' }, 'Options'),
    h('div', { class: 'grid-3' },
      field('Mode', mode).wrapper,
      field('Duplicate keys in the file', duplicates).wrapper,
      field('Check the header row on each run', verify).wrapper,
      field('Clear token', clearToken, 'A cell holding it empties the column; leave empty to turn off.').wrapper,
      field('Blank cells overwrite values', blankOverwrites).wrapper),
    h('fieldset', {}, h('legend', {}, 'Thresholds (the run is aborted and nothing changes)'),
      h('div', { class: 'grid-3' },
        field('Maximum rejected rows', maxRows, 'Empty: no limit.').wrapper,
        field('Maximum rejected percent', maxPercent, 'Empty: no limit.').wrapper,
        field('Abort if the first N rows are all rejected', firstRows, 'Empty: never.').wrapper)));

  // --- Actions
  const formError = h('div', { class: 'form-error', id: 'import-form-error' });
  const dryRun = h('input', { type: 'checkbox', id: 'import-dry-run' });
  const saveButton = button('Save', () => save(), 'secondary');
  saveButton.id = 'import-save';
  const runButton = button('Run Process', () => run(), 'primary');
  runButton.id = 'import-run';
  const actions = h('div', { class: 'card form-actions' },
    formError,
    h('div', { class: 'actions' }, field('Dry run (check everything, change nothing)', dryRun).wrapper, saveButton, runButton));

  const processesSection = h('section', { class: 'card', 'aria-labelledby': 'runs-title', hidden: !saved },
    h('h2', { id: 'runs-title' }, 'Processes'), h('div', { id: 'runs' }));

  view.append(sourceSection, dialectSection, previewSection, targetSection, optionsSection, actions, processesSection);

  // ----- state: one row per source column
  let rows = []; // {source, include, target, type, format, strip, key, els}
  let sniffed = null;
  let savedId = saved ? saved.id : null;

  function tableInfo() {
    const n = tableInput.value.trim().toLowerCase();
    return tables.find((t) => t.name.toLowerCase() === n) || null;
  }

  function suggestTarget(source) {
    const t = tableInfo();
    if (!t) return { name: source, spec: null };
    const match = t.columns.find((c) => normalise(c.name) === normalise(source));
    return match ? { name: match.name, spec: match.spec } : { name: '', spec: null };
  }

  function updateTableHint() {
    const t = tableInfo();
    if (!tableInput.value.trim()) tableHint.textContent = 'Name a new table, or pick an existing one.';
    else if (t) tableHint.textContent = `Existing table: ${formatNumber(t.rows)} rows, key ${t.key.join(', ') || '(none)'}.`;
    else tableHint.textContent = 'New table: created from the mapping when the run commits.';
  }

  function renderMapping() {
    fill(mappingBody);
    rows.forEach((r, i) => {
      const label = typeof r.source === 'number' ? `column ${r.source}` : r.source;
      const include = h('input', { type: 'checkbox', checked: r.include });
      const target = h('input', { value: r.target, autocomplete: 'off', list: 'import-target-columns' });
      const type = select(TYPES.map((t) => [t, t]), r.type);
      const format = h('input', { value: r.format || '', list: 'import-date-formats', placeholder: r.type === 'date' ? 'CCYYMMDD' : 'CCYYMMDD HHMMSS' });
      const strip = h('input', { type: 'checkbox', checked: r.strip });
      const key = h('input', { type: 'checkbox', checked: r.key });
      // Each control has its <label>, read by screen readers; the column headers show it.
      const cell = (control, text, header) => h('td', { 'data-label': header },
        hiddenLabel(control, text), control);
      const syncRow = () => {
        const isDate = type.value === 'date' || type.value === 'datetime';
        format.disabled = !isDate || !include.checked;
        format.hidden = !isDate;
        [target, type, strip, key].forEach((c) => { c.disabled = !include.checked; });
      };
      include.addEventListener('change', () => { r.include = include.checked; if (!r.include) { r.key = false; key.checked = false; } syncRow(); });
      target.addEventListener('input', () => { r.target = target.value; });
      type.addEventListener('change', () => { r.type = type.value; syncRow(); });
      format.addEventListener('input', () => { r.format = format.value; });
      strip.addEventListener('change', () => { r.strip = strip.checked; });
      key.addEventListener('change', () => { r.key = key.checked; });
      r.els = { include, target, type, format, strip, key };
      syncRow();
      const warn = r.warnings && r.warnings.length ? h('p', { class: 'hint warning' }, r.warnings.join('; ')) : null;
      mappingBody.append(h('tr', { 'data-source': label, 'data-index': i },
        cell(include, `Import ${label}`, 'Import'),
        h('th', { scope: 'row', 'data-label': 'Source column' }, label, warn),
        cell(target, `Target column for ${label}`, 'Target column'),
        cell(type, `Type of ${label}`, 'Type'),
        cell(format, `Date format of ${label}`, 'Format'),
        cell(strip, `Strip one leading apostrophe from ${label}`, 'Strip leading \''),
        cell(key, `Key: ${label}`, 'Key')));
    });
    const t = tableInfo();
    mappingBody.append(h('datalist', { id: 'import-target-columns' }, (t ? t.columns : []).map((c) => h('option', { value: c.name }))));
    mappingBody.append(h('datalist', { id: 'import-date-formats' }, DATE_FORMAT_NAMES.map((n) => h('option', { value: n }))));
  }

  function rowsFromSniff(s) {
    const headerRow = s.dialect.header;
    return s.columns.map((c, i) => {
      const source = headerRow ? c.name : i + 1;
      const suggestion = suggestTarget(headerRow ? c.name : `Column ${i + 1}`);
      const proposed = String(c.proposed_type || 'text').toLowerCase();
      const spec = suggestion.spec;
      return {
        source,
        include: true,
        target: suggestion.name,
        type: spec ? spec.type : proposed,
        format: spec && spec.format ? spec.format : c.date_format || '',
        strip: spec ? !!spec.strip_leading_apostrophe : !!c.strip_leading_apostrophe,
        key: false,
        warnings: c.warnings || [],
      };
    });
  }

  function rowsFromDefinition(d, s) {
    const out = d.mapping.map((m) => ({
      source: m.source,
      include: true,
      target: m.column.name,
      type: m.column.type,
      format: m.column.format || '',
      strip: !!m.column.strip_leading_apostrophe,
      key: d.key.some((k) => k.toLowerCase() === m.column.name.toLowerCase()),
      column: m.column,
      warnings: [],
    }));
    // Source columns the definition leaves out, so they can be added.
    if (s) {
      s.columns.forEach((c, i) => {
        const source = s.dialect.header ? c.name : i + 1;
        if (!out.some((r) => r.source === source)) {
          out.push({ source, include: false, target: c.name, type: String(c.proposed_type).toLowerCase(), format: c.date_format || '', strip: false, key: false, warnings: c.warnings || [] });
        }
      });
    }
    return out;
  }

  function setDialect(d) {
    encoding.value = ENCODINGS.find((e) => e.toLowerCase() === String(d.encoding).toLowerCase()) || d.encoding;
    if (DELIMITERS.some(([v]) => v === d.delimiter)) delimiter.value = d.delimiter;
    else { delimiter.value = 'other'; otherDelimiter.value = d.delimiter; }
    qualifier.value = d.qualifier || '';
    header.checked = d.header !== false;
    skipRows.value = String(d.skip_rows || 0);
    syncOther();
  }

  /** The file format as the controls say; the sniffer takes it as chosen, the definition saves it. */
  function chosenDialect() {
    return {
      encoding: encoding.value,
      delimiter: delimiter.value === 'other' ? otherDelimiter.value : delimiter.value,
      qualifier: qualifier.value || null,
      header: header.checked,
      skip_rows: Number(skipRows.value) || 0,
    };
  }

  function delimiterName(d) {
    const known = DELIMITERS.find(([v]) => v === d);
    return known ? known[1] : JSON.stringify(d);
  }

  function showSniff(s) {
    const dl = h('dl', { class: 'sniffed' },
      h('dt', {}, 'Encoding'), h('dd', { id: 'sniffed-encoding' }, `${s.dialect.encoding}${s.encoding_confirmed ? '' : ' (a guess: confirm it)'}${s.bom ? ', with BOM' : ''}`),
      h('dt', {}, 'Delimiter'), h('dd', { id: 'sniffed-delimiter' }, delimiterName(s.dialect.delimiter)),
      h('dt', {}, 'Qualifier'), h('dd', {}, s.dialect.qualifier === null ? 'none' : s.dialect.qualifier),
      h('dt', {}, 'Header row'), h('dd', {}, s.dialect.header ? 'yes' : 'no'),
      h('dt', {}, 'Line ending'), h('dd', {}, String(s.line_ending || '')),
      h('dt', {}, 'Rows (estimated)'), h('dd', {}, formatNumber(s.estimated_rows)));
    fill(sniffBox, 
      h('p', { class: 'summary' }, h('strong', {}, 'Detected: '), s.summary || ''),
      dl,
      (s.warnings || []).length ? h('ul', { class: 'warnings' }, s.warnings.map((w) => h('li', {}, w))) : null,
      h('details', {}, h('summary', {}, 'Why: what was tried'), h('ul', {}, (s.explanation || []).map((e) => h('li', {}, e)))));
    const cols = s.columns || [];
    const previewCaption = `The first ${Math.min(20, (s.rows || []).length)} rows as parsed with these settings`;
    const previewTable = h('table', { class: 'data preview-table' },
      h('caption', { class: 'visually-hidden' }, previewCaption),
      h('thead', {},
        h('tr', {}, cols.map((c) => h('th', { scope: 'col' }, c.name))),
        h('tr', { class: 'types' }, cols.map((c) => h('td', {}, String(c.proposed_type).toLowerCase(), c.date_format ? ` (${c.date_format})` : '')))),
      h('tbody', {}, (s.rows || []).map((r) => h('tr', {}, r.map((v) => h('td', {}, v === null ? '' : String(v)))))));
    fill(previewSection.querySelector('#preview'), h('p', { class: 'table-title', 'aria-hidden': 'true' }, previewCaption), h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': 'Preview rows' }, previewTable));
    previewSection.hidden = false;
  }

  async function sniff(fromDefinition, chosen = fromDefinition) {
    clearErrors(sourceSection);
    const path = docSelect.value;
    sniffed = null;
    if (!path) {
      fill(sniffBox, h('p', { class: 'hint' }, 'Choose a document to see how it will be read.'));
      previewSection.hidden = true;
      if (!fromDefinition) { rows = []; renderMapping(); }
      return;
    }
    fill(sniffBox, h('p', {}, 'Reading the document…'));
    try {
      const body = chosen ? { document: path, dialect: chosenDialect() } : { document: path };
      sniffed = await api(`${CAMPAIGN}/imports/sniff`, { method: 'POST', json: body, signal });
    } catch (err) {
      if (signal.aborted) return;
      fill(sniffBox);
      showError(docSelect, messageOf(err));
      if (fromDefinition) { rows = rowsFromDefinition(def, null); renderMapping(); }
      return;
    }
    showSniff(sniffed);
    if (fromDefinition) {
      rows = rowsFromDefinition(def, sniffed);
    } else if (chosen) {
      // The user changed the format: keep their mapping while the columns stay the same.
      const names = sniffed.columns.map((c) => c.name).join('\n');
      if (names !== previousColumns) rows = rowsFromSniff(sniffed);
    } else {
      setDialect(sniffed.dialect);
      if (!name.value.trim()) name.value = `Import ${path.split('/').pop()}`;
      rows = rowsFromSniff(sniffed);
    }
    renderMapping();
  }

  docSelect.addEventListener('change', () => sniff(false));
  // Every format control reads the document again under the chosen settings (the preview follows).
  let previousColumns = '';
  const resniff = () => {
    if (!docSelect.value) return;
    previousColumns = sniffed ? sniffed.columns.map((c) => c.name).join('\n') : '';
    sniff(false, true);
  };
  for (const control of [encoding, delimiter, qualifier, header, skipRows]) control.addEventListener('change', resniff);
  otherDelimiter.addEventListener('change', () => { if (otherDelimiter.value) resniff(); });
  tableInput.addEventListener('change', () => {
    updateTableHint();
    // Re-suggest targets for the rows the user has not typed into.
    if (sniffed) {
      rows.forEach((r) => {
        const s = suggestTarget(typeof r.source === 'number' ? `Column ${r.source}` : r.source);
        r.target = s.name;
        if (s.spec) { r.type = s.spec.type; r.format = s.spec.format || r.format; }
      });
      renderMapping();
    }
  });
  updateTableHint();
  if (def) setDialect(def.dialect);
  await sniff(!!def);

  function definitionBody() {
    const mapping = [];
    const key = [];
    for (const r of rows.filter((x) => x.include)) {
      const column = { ...(r.column || {}), name: r.target.trim(), type: r.type };
      if ((r.type === 'date' || r.type === 'datetime') && r.format.trim()) column.format = r.format.trim();
      else delete column.format;
      if (r.strip) column.strip_leading_apostrophe = true;
      else delete column.strip_leading_apostrophe;
      mapping.push({ source: r.source, column });
      if (r.key) key.push(r.target.trim());
    }
    const thresholds = {
      abort_if_first_rows_rejected: firstRows.value === '' ? null : Number(firstRows.value),
    };
    if (maxRows.value !== '') thresholds.max_rejected_rows = Number(maxRows.value);
    if (maxPercent.value !== '') thresholds.max_rejected_percent = Number(maxPercent.value);
    return {
      name: name.value.trim(),
      document: docSelect.value,
      dialect: chosenDialect(),
      target: { table: tableInput.value.trim(), create: !tableInfo() },
      mapping,
      key,
      mode: mode.value,
      duplicates: duplicates.value,
      clear_token: clearToken.value,
      blank_overwrites: blankOverwrites.checked,
      thresholds,
      verify_headers: verify.value,
    };
  }

  /** Puts a validation error next to the control its entry names. */
  function showDefinitionError(err) {
    const message = messageOf(err);
    const entry = (/^import definition: ([^:]+?)(?: \(|:)/.exec(message) || [])[1] || '';
    const included = rows.filter((x) => x.include);
    let target = null;
    const m = /^mapping\[(\d+)\]/.exec(entry);
    if (err instanceof ApiError && err.errorCode === 'import_exists') target = name;
    else if (entry === 'name') target = name;
    else if (entry === 'document') target = docSelect;
    else if (entry === 'dialect.encoding') target = encoding;
    else if (entry === 'dialect.delimiter') target = delimiter.value === 'other' ? otherDelimiter : delimiter;
    else if (entry === 'dialect.qualifier') target = qualifier;
    else if (entry === 'target.table') target = tableInput;
    else if (m && included[Number(m[1])]) target = included[Number(m[1])].els.target;
    else if (entry.startsWith('mapping')) target = mappingTable;
    else if (entry.startsWith('key')) target = included.find((x) => x.key)?.els.key || mappingTable;
    else if (entry === 'thresholds.max_rejected_percent') target = maxPercent;
    else if (entry === 'thresholds.max_rejected_rows') target = maxRows;
    if (target === mappingTable) {
      // About the mapping as a whole (no column named): right under the table.
      mappingError.textContent = message;
      mappingError.hidden = false;
      mappingError.scrollIntoView({ block: 'center' });
    } else if (target) {
      showError(target, message);
      target.focus();
    } else {
      showError(formError, message);
      formError.scrollIntoView({ block: 'center' });
    }
  }

  async function save() {
    clearErrors(view);
    mappingError.hidden = true;
    fill(formError);
    if (!docSelect.value) { showError(docSelect, 'Choose the document to import.'); docSelect.focus(); return null; }
    if (!tableInput.value.trim()) { showError(tableInput, 'Name the table to import into.'); tableInput.focus(); return null; }
    const body = definitionBody();
    saveButton.disabled = true;
    runButton.disabled = true;
    try {
      const result = savedId
        ? await api(`${CAMPAIGN}/import-definitions/${savedId}`, { method: 'PUT', json: body })
        : await api(`${CAMPAIGN}/import-definitions`, { method: 'POST', json: body });
      const first = !savedId;
      savedId = result.id;
      announce(`Saved ${result.name}, version ${result.version}`);
      fill(formError, h('p', { class: 'ok', role: 'status' }, `Saved “${result.name}”, version ${result.version}.`));
      if (first) history.replaceState(null, '', `#/campaign/imports/${result.id}`);
      processesSection.hidden = false;
      loadRuns();
      return result;
    } catch (err) {
      showDefinitionError(err);
      return null;
    } finally {
      saveButton.disabled = false;
      runButton.disabled = false;
    }
  }

  async function run() {
    const result = await save();
    if (!result) return;
    await runDefinition(result.id, formError, dryRun.checked);
  }

  async function loadRuns() {
    const box = processesSection.querySelector('#runs');
    if (!savedId) return;
    try {
      const data = await api(`${CAMPAIGN}/processes`, { signal, query: { definition: savedId } });
      const list = (data.processes || []).slice().reverse();
      fill(box, processTable(list));
    } catch (err) {
      if (!signal.aborted) fill(box, h('p', { class: 'error' }, messageOf(err)));
    }
  }
  loadRuns();
}

function processTable(list) {
  return table([
    { label: 'Process', cell: (p) => h('a', { href: `#/campaign/processes/${p.id}` }, p.id) },
    { label: 'Started', cell: (p) => formatDate(p.created_at) },
    { label: 'State', cell: (p) => h('span', { class: `badge ${p.state}` }, p.state.replaceAll('_', ' ')) },
    { label: 'Result', cell: (p) => (p.report ? countsLine(p.report.counts) : p.message || '') },
  ], list, { caption: 'Runs of this import, newest first', empty: 'Not run yet.' });
}

function countsLine(c) {
  return `read ${formatNumber(c.read)}, inserted ${formatNumber(c.inserted)}, updated ${formatNumber(c.updated)}, unchanged ${formatNumber(c.unchanged)}, rejected ${formatNumber(c.rejected)}`;
}

// ---------------------------------------------------------------- a process: progress, report

const FINAL = ['completed', 'completed_with_rejects', 'aborted', 'failed', 'cancelled'];

async function processPage({ view, params, signal }) {
  const id = params.id;
  let process = await api(`${CAMPAIGN}/processes/${id}`, { signal });
  let definition = null;
  try {
    definition = await api(`${CAMPAIGN}/import-definitions/${process.definition}`, { signal });
  } catch {
    // A deleted definition: its processes stay readable.
  }
  view.append(
    h('p', { class: 'breadcrumbs' }, h('a', { href: definition ? `#/campaign/imports/${definition.id}` : '#/campaign/imports' }, `‹ ${definition ? definition.name : 'Data Import'}`)),
    pageHeading(`Process ${id}`));
  const state = h('p', { class: 'process-state' });
  const bar = progressBar('Progress');
  const stats = h('div', { class: 'live-stats' });
  const cancel = button('Cancel', async () => {
    cancel.disabled = true;
    try {
      await api(`${CAMPAIGN}/processes/${id}/cancel`, { method: 'POST' });
      announce('Cancelling…');
    } catch (err) {
      showError(cancel.parentElement, messageOf(err));
    }
  }, 'danger');
  const live = h('section', { class: 'card', 'aria-labelledby': 'live-title' },
    h('h2', { id: 'live-title' }, 'Progress'), state, bar.el, stats, h('div', { class: 'actions start' }, cancel));
  const reportBox = h('section', { class: 'card report', id: 'process-report', 'aria-labelledby': 'report-title', hidden: true },
    h('h2', { id: 'report-title' }, 'Report'));
  const again = definition ? h('div', { class: 'actions start', hidden: true },
    button('Run Process again', (e) => runDefinition(definition.id, e.currentTarget.parentElement), 'secondary')) : null;
  view.append(live, reportBox, again);

  const show = (p) => {
    view.dataset.state = p.state;
    const label = p.state.replaceAll('_', ' ');
    fill(state, 'State: ', h('span', { class: `badge ${p.state}`, id: 'process-state' }, label),
      p.dry_run ? ' (dry run: nothing is changed)' : '',
      p.document ? ` — ${p.document}` : '');
    const pr = p.progress;
    if (pr) {
      bar.set(pr.phase === 'reading' ? pr.percent : null,
        `${pr.phase}: ${Math.floor(pr.percent)} %${pr.eta_seconds !== undefined ? `, about ${formatSeconds(pr.eta_seconds)} left` : ''}`);
      fill(stats, counts([
        ['Rows read', formatNumber(pr.rows_read), 'rows_read'],
        ['Rows rejected', formatNumber(pr.rows_rejected), 'rows_rejected'],
        ['Rows per second', formatNumber(Math.round(pr.rows_per_second)), 'rows_per_second'],
        ['Read', `${formatBytes(pr.bytes_read)} of ${formatBytes(pr.bytes_total)}`, 'bytes'],
      ]));
    } else if (p.state === 'queued') {
      bar.set(null, 'Waiting for its turn…');
    }
    cancel.hidden = FINAL.includes(p.state);
    if (p.progress && p.progress.cancel_requested) cancel.disabled = true;
    if (!FINAL.includes(p.state)) return false;
    live.hidden = !!p.report;
    bar.set(100, p.report ? '' : label);
    renderReport(reportBox, p);
    if (again) again.hidden = false;
    announce(`Process ${label}`);
    return true;
  };
  if (show(process)) return;
  await poll(async () => {
    process = await api(`${CAMPAIGN}/processes/${id}`, { signal });
    return show(process);
  }, { signal });
}

function renderReport(box, p) {
  box.hidden = false;
  const title = box.querySelector('h2');
  const r = p.report;
  if (!r) {
    fill(box, title, h('p', { class: p.state === 'cancelled' ? 'status' : 'error', role: 'alert' }, p.message || `The process ended ${p.state}.`));
    return;
  }
  const c = r.counts;
  const figures = counts(['read', 'inserted', 'updated', 'unchanged', 'rejected'].map((k) => [
    k[0].toUpperCase() + k.slice(1), formatNumber(c[k]), k]), { id: 'report-counts' });
  const reasons = Object.entries(r.rejects_by_reason || {});
  fill(box, title,
    h('p', { class: 'report-state' }, h('span', { class: `badge ${r.state}` }, r.state.replaceAll('_', ' ')),
      r.dry_run ? ' — dry run: nothing was changed.' : '',
      ` Table ${r.target.table}${r.target.created ? ' (created by this run)' : ''}, mode ${r.target.mode.replaceAll('_', ' ')}, key ${r.target.key.join(', ')}.`),
    figures,
    h('p', { class: 'muted' }, `${formatNumber(c.physical_lines)} lines in ${r.source.document} (${formatBytes(r.source.size_bytes)}), `
      + `${formatNumber(c.skipped_lines)} skipped, ${formatNumber(c.blank_lines)} blank; `
      + `${(r.duration_ms / 1000).toFixed(2)} s, ${formatNumber(Math.round(r.rows_per_second))} rows/s.`),
    r.threshold && r.threshold.tripped ? h('p', { class: 'error', role: 'alert' }, `Aborted: ${r.threshold.reason}`) : null,
    reasons.length ? table([
      { label: 'Reason', cell: ([k]) => h('code', {}, k) },
      { label: 'Rows', cell: ([, n]) => formatNumber(n), class: 'num' },
    ], reasons, { caption: 'Rejected rows by reason' }) : null,
    (r.warnings || []).length ? h('ul', { class: 'warnings' }, r.warnings.map((w) => h('li', {}, w))) : null,
    r.reject_file ? h('p', { class: 'actions start' },
      h('a', { href: `${CAMPAIGN}/processes/${p.id}/rejects`, class: 'button secondary', download: '', id: 'download-rejects' }, 'Download the reject file'),
      h('a', { href: docsHref(parentOf(r.reject_file)), class: 'button link' }, `Open ${r.reject_file} in Documents`)) : null,
    h('p', { class: 'actions start' },
      h('a', { href: `#/campaign/tables/${encodeURIComponent(r.target.table)}`, class: 'button link' }, `Browse table ${r.target.table}`)));
}

// ---------------------------------------------------------------- Tables

async function tablesPage({ view, signal }) {
  view.append(pageHeading('Campaign Manager › Tables'));
  const data = await api(`${CAMPAIGN}/tables`, { signal });
  const list = data.tables || [];
  view.append(table([
    { label: 'Table', cell: (t) => h('a', { href: `#/campaign/tables/${encodeURIComponent(t.name)}` }, t.name) },
    { label: 'Rows', cell: (t) => formatNumber(t.rows), class: 'num' },
    { label: 'Key', cell: (t) => t.key.join(', ') },
    { label: 'Columns', cell: (t) => t.columns.map((c) => c.name).join(', ') },
    { label: 'Created', cell: (t) => formatDate(t.created_at) },
  ], list, { caption: 'Campaign tables', empty: 'No table yet: a Data Import run creates one.' }));
}

const ROWS_PER_PAGE = 50;

async function tablePage({ view, params, query, signal }) {
  const name = params.name;
  const info = await api(`${CAMPAIGN}/tables/${encodeURIComponent(name)}`, { signal });
  const offset = Math.max(0, Number(query.offset) || 0);
  const where = query.where || '';
  view.append(
    h('p', { class: 'breadcrumbs' }, h('a', { href: '#/campaign/tables' }, '‹ Tables')),
    pageHeading(`Table ${info.name}`),
    h('p', { id: 'table-summary' }, `${formatNumber(info.rows)} rows; key ${info.key.join(', ') || '(none)'}.`),
    h('details', { class: 'card' }, h('summary', {}, 'Columns'),
      table([
        { label: 'Column', cell: (c) => c.name },
        { label: 'Type', cell: (c) => c.spec.type },
        { label: 'Format', cell: (c) => c.spec.format || '' },
      ], info.columns)),
    h('p', { class: 'actions start exports' },
      h('a', { href: url(`${CAMPAIGN}/tables/${encodeURIComponent(info.name)}/export`, { format: 'csv' }), class: 'button secondary', download: `${info.name}.csv`, id: 'export-table-csv' }, 'Export CSV'),
      h('a', { href: url(`${CAMPAIGN}/tables/${encodeURIComponent(info.name)}/export`, { format: 'tsv' }), class: 'button secondary', download: `${info.name}.tsv`, id: 'export-table-tsv' }, 'Export TSV')));

  // Filter: column, equals/contains, value.
  const m = /^([^=~]*)([=~])(.*)$/.exec(where) || [];
  const column = select(info.columns.map((c) => [c.name, c.name]), m[1] || info.columns[0]?.name);
  const op = select([['~', 'contains'], ['=', 'equals']], m[2] || '~');
  const value = h('input', { id: 'rows-filter-value', value: m[3] || '', autocomplete: 'off' });
  column.id = 'rows-filter-column';
  op.id = 'rows-filter-op';
  const form = h('form', { class: 'inline-form filter', role: 'search', novalidate: true },
    field('Column', column).wrapper, field('Match', op).wrapper, field('Value', value).wrapper,
    h('button', { type: 'submit' }, 'Filter'),
    where ? h('a', { href: `#/campaign/tables/${encodeURIComponent(info.name)}`, class: 'button secondary' }, 'Clear') : null);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const w = value.value === '' ? '' : `${column.value}${op.value}${value.value}`;
    location.hash = url(`#/campaign/tables/${encodeURIComponent(info.name)}`, { where: w });
  });
  view.append(form);

  let data;
  try {
    data = await api(`${CAMPAIGN}/tables/${encodeURIComponent(info.name)}/rows`, { signal, query: { limit: ROWS_PER_PAGE, offset, where } });
  } catch (err) {
    if (err instanceof ApiError && err.status === 400) { showError(value, messageOf(err)); return; }
    throw err;
  }
  const cols = data.columns;
  const rowsCaption = where
    ? `Rows where ${where.replace(/~/, ' contains ').replace(/=/, ' = ')}`
    : `Rows ${formatNumber(offset + 1)}–${formatNumber(offset + data.rows.length)} of ${formatNumber(data.total)}`;
  view.append(h('p', { class: 'table-title', 'aria-hidden': 'true' }, rowsCaption));
  const rowsTable = h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': `Rows of ${info.name}` },
    h('table', { class: 'data rows-table', id: 'table-rows' },
      h('caption', { class: 'visually-hidden' }, rowsCaption),
      h('thead', {}, h('tr', {}, cols.map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, data.rows.length
        ? data.rows.map((r) => h('tr', {}, r.map((v, i) => h('td', { 'data-label': cols[i] }, v === null ? '' : String(v)))))
        : h('tr', {}, h('td', { colspan: cols.length, class: 'empty' }, 'No rows.')))));
  view.append(rowsTable);
  const href = (o) => url(`#/campaign/tables/${encodeURIComponent(info.name)}`, { where, offset: o || '' });
  view.append(h('nav', { class: 'pager', 'aria-label': 'Pages' },
    offset > 0 ? h('a', { href: href(Math.max(0, offset - ROWS_PER_PAGE)), class: 'button secondary', rel: 'prev' }, 'Previous') : null,
    h('span', { class: 'pager-info' }, data.rows.length ? `${formatNumber(offset + 1)}–${formatNumber(offset + data.rows.length)}` : ''),
    data.rows.length === ROWS_PER_PAGE ? h('a', { href: href(offset + ROWS_PER_PAGE), class: 'button secondary', rel: 'next' }, 'Next') : null));
  announce(`${data.rows.length} rows shown`);
}
