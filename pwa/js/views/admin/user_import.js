// Importing many user accounts from a CSV file: the panel on the users' list (views/admin/users.js).

import { api } from '../../api.js';
import { kv } from '../../db.js';
import { sha256Hex, uuid } from '../../form.js';
import { fmtDateTime, fmtNumber, sayKnown, t } from '../../i18n.js';
import { confirmDialog, h, icon, mount, pill } from '../../ui.js';
import { aicon, busy, describeError, fieldBox, problemCounts, saveBlob, serverMessage, splitField, turns } from './common.js';

// Importing accounts from a CSV file, as the stations' import does it: the file is checked by the
// server without writing anything (?dry_run=true), which shows who would be created or every problem
// by row and column; then the admin confirms the real import, all or nothing on the server too. Its
// reply holds each new account's first password, once: shown here and offered as a file to hand out.
//
// A reply lost after the server made the accounts (a timeout, a dropped connection) must not lose their
// passwords: the confirmed file gets one import id (Idempotency-Key), sent again with the same bytes on
// every retry, so the server makes the accounts once and answers a retry with the same accounts and
// fresh first passwords for those nobody has used yet (`replayed`; the others come back `in_use`).

// A network failure, a timeout or a 5xx is retried by itself after these pauses, then by the admin's
// button; a 4xx is the server's answer about the file and is shown.
const RETRY_PAUSES_MS = [1000, 3000, 8000];
const worthRetrying = (err) => err.status === 0 || err.status >= 500;
const pause = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

// A confirmed import is also kept on this computer (kv, wiped at sign-out: it is this admin's) until
// the server answers it: a reload or a page left after a lost reply would otherwise lose its id, and a
// new id finds every account "already there", with no password to show. Kept by the SHA-256 of the
// file, so choosing the same file again finds it; with the file's bytes (at most the server's limit,
// server/auth/importer.py MAX_BYTES), so "Try again" is offered as soon as the page opens.
const PENDING = 'admin.userImport.pending';
const PENDING_MS = 24 * 3600 * 1000; // the server's IMPORT_RETRY_HOURS: an older id is refused
const KEEP_BYTES = 1024 * 1024;


// The imports not yet answered, newest first; those past the server's limit are dropped.
async function pendingImports() {
  let all = {};
  try { all = (await kv.get(PENDING)) || {}; } catch { /* no storage: nothing kept, the page's own retry still works */ }
  const fresh = Object.values(all).filter((p) => Date.now() - Date.parse(p.at) < PENDING_MS);
  if (fresh.length < Object.keys(all).length) await keepPending(fresh);
  return fresh.sort((a, b) => b.at.localeCompare(a.at));
}

async function keepPending(list) {
  try {
    if (list.length) await kv.set(PENDING, Object.fromEntries(list.map((p) => [p.sha256, p])));
    else await kv.del(PENDING);
  } catch { /* as above */ }
}

const rememberImport = async (record) => keepPending([...(await pendingImports()).filter((p) => p.sha256 !== record.sha256), record]);
const forgetImport = async (record) => keepPending((await pendingImports()).filter((p) => p.sha256 !== record.sha256));

// A 4xx is the server's answer about this import (made, refused, expired, another file): its id is done
// with. A 401 (the session ended) or 429 is not: the same id is still needed once signed in again.
const answered = (err) => err.status >= 400 && err.status < 500 && err.status !== 401 && err.status !== 429;

const IMPORT_COLUMNS = [['username', true], ['display_name', true], ['role', true], ['region_codes', false], ['district_codes', false]];

// The import's problems in the admin's words (the server writes English; these are the common ones).
const IMPORT_MESSAGES = [
  [/^must be 3 to 64 letters, digits/, 'admin.usernameRule'],
  [/^must not be blank$/, 'admin.userImport.msg.blank'],
  [/^is missing: reviewer or inspector$/, 'admin.userImport.msg.roleMissing'],
  [/^'(.*)' is not a role an import makes/, 'admin.userImport.msg.role'],
  [/^no region has the code (.+)$/, 'admin.userImport.msg.noRegion'],
  [/^no district has the code (.+)$/, 'admin.userImport.msg.noDistrict'],
  [/^the username '(.+)' is also on row (\d+)$/, 'admin.userImport.msg.twice'],
  [/^the account '(.+)' already exists as /, 'admin.userImport.msg.exists'],
  [/^has (\d+) values but the header names (\d+) columns$/, 'admin.userImport.msg.columns'],
  [/^the file has a header but no users$/, 'admin.userImport.msg.empty'],
];
const importMessage = (message) => {
  const said = sayKnown(IMPORT_MESSAGES, message);
  return said === message ? serverMessage(message) : said;
};

function importProblems(err) {
  const errors = err.errors?.length ? err.errors : [{ field: 'body', message: err.detail || '' }];
  const fileWide = errors.filter((e) => splitField(e.field).row === null);
  const byRow = errors.filter((e) => splitField(e.field).row !== null);
  const { count, rows, more } = problemCounts({ ...err, errors }, byRow);
  return h('div', { class: 'callout callout-fail', role: 'alert', id: 'user-import-problems' }, icon('alert'), h('div', {},
    h('h3', { text: t('admin.userImport.problems', { count, rows }) }),
    h('p', { text: t('admin.userImport.nothingWritten') }), more,
    fileWide.length ? h('ul', {}, fileWide.map((e) => h('li', { text: err.status === 413 ? t('admin.userImport.tooLarge') : importMessage(e.message) }))) : null,
    byRow.length ? h('div', { class: 'table-wrap' }, h('table', { class: 'table' },
      h('thead', {}, h('tr', {}, [t('admin.userImport.row'), t('admin.userImport.column'), t('admin.userImport.problem')]
        .map((c) => h('th', { scope: 'col', text: c })))),
      h('tbody', {}, byRow.map((e) => {
        const { row, column } = splitField(e.field);
        return h('tr', { dataset: { row } }, h('td', { text: fmtNumber(row) }), h('td', { class: 'mono', text: column }),
          h('td', { text: importMessage(e.message) }));
      })))) : null));
}

const areaWords = (u) => [...u.region_codes.map((c) => t('admin.scopeRegion', { name: c })), ...u.district_codes].join(', ');

function importPreview(preview) {
  const created = preview.created.length;
  return h('div', { id: 'user-import-preview' },
    h('h3', { text: t('admin.userImport.preview') }),
    h('p', { class: 'status-line' },
      pill(created ? 'ok' : 'info', t('admin.userImport.new', { count: created })),
      pill('info', t('admin.userImport.unchanged', { count: preview.unchanged.length }))),
    h('p', { class: 'hint', text: t('admin.userImport.nothingYet') }),
    created ? h('details', { open: created <= 20 }, h('summary', { text: t('admin.userImport.new', { count: created }) }),
      h('div', { class: 'table-wrap' }, h('table', { class: 'table', id: 'user-import-created' },
        h('thead', {}, h('tr', {}, [t('admin.username'), t('admin.displayName'), t('admin.role'), t('admin.scope')]
          .map((c) => h('th', { scope: 'col', text: c })))),
        h('tbody', {}, preview.created.map((u) => h('tr', {}, h('td', { class: 'mono', text: u.username }),
          h('td', { text: u.display_name }), h('td', { text: t(`role.${u.role}`) }), h('td', { class: 'mono', text: areaWords(u) }))))))) : null);
}

// A CSV cell as a spreadsheet reads it back.
// A name beginning = + - @ would be a formula to a spreadsheet: kept as text (as the server's exports do).
const csvCell = (raw) => {
  const v = /^[=+\-@\t\r]/.test(raw) ? `'${raw}` : raw;
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
};

// The sheet to hand out: UTF-8 with a byte-order mark, so Excel shows Urdu names as written.
function passwordsFile(passwords) {
  const lines = [['username', 'display_name', 'password'], ...passwords.filter((p) => p.password)
    .map((p) => [p.username, p.display_name, p.password])];
  return new Blob([`\ufeff${lines.map((l) => l.map(csvCell).join(',')).join('\r\n')}\r\n`], { type: 'text/csv' });
}

// A finished import says which file it was and when: the boxes of earlier imports stay on the page,
// each with its passwords, beside the preview of the next file.
// A retry's reply (`replayed`) is drawn the same way: the accounts already in use have no password
// here, and say so.
function importDone(result, file) {
  const download = () => saveBlob(passwordsFile(result.passwords), `new-user-passwords-${new Date().toISOString().slice(0, 10)}.csv`);
  const inUse = result.passwords.filter((p) => p.in_use).length;
  return h('div', { class: 'callout callout-ok', role: 'status', id: 'user-import-done' }, icon('check'), h('div', {},
    h('p', { class: 'strong', tabindex: '-1', text: t('admin.userImport.done', { count: result.created }) }),
    h('p', { class: 'hint', text: t('admin.userImport.fromFile', { file, when: fmtDateTime(new Date()) }) }),
    result.unchanged ? h('p', { text: t('admin.userImport.unchanged', { count: result.unchanged }) }) : null,
    result.replayed ? h('p', { id: 'user-import-replayed', text: t('admin.userImport.replayed') }) : null,
    inUse ? h('p', { id: 'user-import-in-use', text: t('admin.userImport.inUseCount', { count: inUse }) }) : null,
    result.passwords.length ? [
      inUse < result.passwords.length ? [
        h('p', { class: 'callout callout-warn', role: 'alert', id: 'user-import-once' }, icon('alert'),
          h('span', { text: t('admin.userImport.onlyNow') })),
        h('button', { type: 'button', class: 'btn btn-primary', id: 'user-import-download', onclick: download },
          aicon('download'), h('span', { text: t('admin.userImport.download') })),
      ] : null,
      h('details', { open: result.passwords.length <= 20 }, h('summary', { text: t('admin.userImport.passwords') }),
        h('div', { class: 'table-wrap' }, h('table', { class: 'table', id: 'user-import-passwords' },
          h('thead', {}, h('tr', {}, [t('admin.username'), t('admin.displayName'), t('admin.password')]
            .map((c) => h('th', { scope: 'col', text: c })))),
          h('tbody', {}, result.passwords.map((p) => h('tr', { dataset: { inUse: p.in_use ? 'true' : 'false' } },
            h('td', { class: 'mono', text: p.username }), h('td', { text: p.display_name }),
            p.in_use ? h('td', { class: 'in-use' }, pill('info', t('admin.userImport.inUse')))
              : h('td', { class: 'mono', dir: 'ltr', text: p.password }))))))),
    ] : null));
}

export async function importPanel(reload) {
  const result = h('div', { 'aria-live': 'polite', id: 'user-import-result' });
  // Finished imports, newest first, each with its passwords shown only now, have a place of their own
  // that no preview replaces, nor a later import: the passwords of each stay until the page is left.
  const finished = h('div', { 'aria-live': 'polite', id: 'user-import-finished' });
  // Each file chosen is read and checked in its own turn: only the newest choice's preview is drawn,
  // and its button sends the very bytes that preview was of (not whichever file was chosen last).
  const turn = turns();
  const failed = (err) => mount(result, err.status === 422 || err.status === 413 ? importProblems(err)
    : h('p', { class: 'callout callout-fail', role: 'alert', text: describeError(err) }));
  let sending = false;

  // The import id is made here, once per confirmed file, and never again for it: a retry with a new id
  // would find every account "unchanged", and their passwords would be lost. It is kept on this
  // computer before the first send.
  const runImport = async (button, preview, csv, file, digest) => {
    const ok = await confirmDialog(t('admin.userImport.confirmTitle'),
      t('admin.userImport.confirmBody', { count: preview.created.length }), t('admin.userImport.createNow'));
    if (!ok) return;
    const record = { id: uuid(), sha256: digest, name: file, size: csv.size, at: new Date().toISOString(),
      bytes: csv.size <= KEEP_BYTES ? await csv.arrayBuffer() : null };
    await rememberImport(record);
    await send(button, csv, record);
  };

  const send = async (button, csv, record) => {
    // No other file is chosen while the accounts are made, nor while a failed send waits to be tried
    // again: its preview would be taken for this import's. (An import kept from an earlier visit leaves
    // the choice open: it is kept by its file, and found again when that file is chosen.)
    fileInput.disabled = true;
    sending = true;
    await busy(button, async () => {
      mount(result, pill('busy', t('admin.userImport.creating')));
      let done;
      for (let attempt = 0; !done; attempt += 1) {
        try {
          done = await api.admin.importUsers(csv, false, record.id);
        } catch (err) {
          if (worthRetrying(err) && attempt < RETRY_PAUSES_MS.length) {
            mount(result, pill('busy', t('admin.userImport.retrying', { n: fmtNumber(attempt + 1), of: fmtNumber(RETRY_PAUSES_MS.length) })));
            await pause(RETRY_PAUSES_MS[attempt]);
          } else if (worthRetrying(err)) {
            mount(result, sendFailed(csv, record));
            return;
          } else {
            if (answered(err)) await forgetImport(record);
            fileInput.disabled = false;
            // 409: the id is another file's, another admin's, or too old to be retried.
            if (err.status === 409) mount(result, h('p', { class: 'callout callout-fail', role: 'alert', text: t('admin.userImport.retryRefused') }));
            else failed(err);
            result.append(...await pendingBoxes(record));
            return;
          }
        }
      }
      // An answer reaching a page already left is shown nowhere: the import stays kept, and its "Try
      // again" on return brings the passwords afresh.
      if (result.isConnected) await forgetImport(record);
      fileInput.disabled = false;
      // The newest box carries the ids; those before it keep their content.
      for (const older of finished.querySelectorAll('[id]')) older.removeAttribute('id');
      const box = importDone(done, record.name);
      finished.prepend(box);
      mount(result, await pendingBoxes(record));
      box.querySelector('.strong').focus();
      reload();
    });
    sending = false;
  };

  // The server may have made the accounts: "Try again" sends the same file with the same id, which
  // makes nothing twice and brings their passwords. The same box is shown for an import kept from an
  // earlier visit, when the page opens or when its file is chosen again; without its bytes (a file over
  // the limit) it asks for the file. Only the first box on the page carries the ids.
  const sendFailed = (csv, record, { first = true } = {}) => {
    const again = csv ? h('button', { type: 'button', class: 'btn btn-primary', id: first ? 'user-import-retry' : null,
      onclick: (e) => send(e.currentTarget, csv, record) }, t('admin.userImport.tryAgain'))
      : h('p', { text: t('admin.userImport.chooseAgain') });
    return h('div', { class: 'callout callout-fail import-unsent', role: 'alert', id: first ? 'user-import-unsent' : null,
      dataset: { file: record.name } }, icon('alert'), h('div', {},
      h('p', { class: 'strong', text: t('admin.userImport.unsent', { file: record.name }) }),
      h('p', { class: 'hint', text: t('admin.userImport.sentAt', { when: fmtDateTime(new Date(record.at)) }) }),
      h('p', { text: t('admin.userImport.unsentHow') }), again));
  };
  const keptFile = (record) => (record.bytes ? new Blob([record.bytes], { type: 'text/csv' }) : null);
  // The kept imports other than `except`, as boxes (after an answer, those still waiting stay in view).
  const pendingBoxes = async (except) => (await pendingImports()).filter((p) => p.sha256 !== except?.sha256)
    .map((p, i) => sendFailed(keptFile(p), p, { first: i === 0 && !result.querySelector('#user-import-unsent') }));

  const check = async (csv, file, digest, mine) => {
    mount(result, pill('busy', t('admin.userImport.checking')));
    try {
      const preview = await api.admin.importUsers(csv, true);
      if (!turn.current(mine)) return;
      const nothing = !preview.created.length;
      const go = h('button', { type: 'button', class: 'btn btn-primary', id: 'user-import-confirm', disabled: nothing,
        onclick: (e) => runImport(e.currentTarget, preview, csv, file, digest) }, t('admin.userImport.importN', { count: preview.created.length }));
      mount(result, importPreview(preview), nothing ? h('p', { class: 'callout callout-info', text: t('admin.userImport.nothingToDo') }) : null, go);
    } catch (err) {
      if (turn.current(mine)) failed(err);
    }
  };

  const fileInfo = h('p', { class: 'hint', 'aria-live': 'polite' });
  const fileInput = h('input', { type: 'file', accept: '.csv,text/csv', id: 'user-import-file', onchange: async (e) => {
    const file = e.target.files[0] || null;
    // Cleared, so that choosing the same file again once it is corrected is a change, checked anew.
    e.target.value = '';
    const mine = turn.take();
    fileInfo.textContent = file ? file.name : '';
    if (!file) { mount(result); return; }
    let csv;
    let digest;
    let kept;
    try {
      const bytes = await file.arrayBuffer();
      csv = new Blob([bytes], { type: 'text/csv' });
      digest = await sha256Hex(bytes);
      kept = (await pendingImports()).find((p) => p.sha256 === digest);
    } catch (err) {
      if (turn.current(mine)) failed(err);
      return;
    }
    if (!turn.current(mine)) return;
    // The file of an import not yet answered: its preview would find the accounts "already there" and
    // offer nothing; its own id, sent again, brings them with their passwords.
    if (kept) mount(result, sendFailed(csv, kept));
    else check(csv, file.name, digest, mine);
  } });
  const example = () => saveBlob(new Blob(['\ufeffusername,display_name,role,region_codes,district_codes\r\n'
    + 'dsp.example,DSP Example,inspector,,DISTRICT-CODE\r\nrpo.example,RPO Example,reviewer,REGION-CODE,\r\n'],
  { type: 'text/csv' }), 'users-example.csv');

  // Imports kept from an earlier visit are said as the page opens, with their "Try again".
  const kept = await pendingImports();
  mount(result, kept.map((p, i) => sendFailed(keptFile(p), p, { first: i === 0 })));

  // A reload or a closed tab gives no dispose: leaving while a send is on its way or waits to be tried
  // again asks first (the browser's own "Leave site?"). What is kept here survives it; this says that
  // the import is not finished.
  const onBeforeUnload = (e) => { if (sending || result.querySelector('.import-unsent')) e.preventDefault(); };
  window.addEventListener('beforeunload', onBeforeUnload);

  const node = h('section', { class: 'card', id: 'user-import', hidden: !kept.length, 'aria-labelledby': 'user-import-h' },
    h('h2', { id: 'user-import-h', tabindex: '-1', text: t('admin.importUsers') }),
    h('p', { text: t('admin.userImport.lead') }),
    fieldBox('file', t('admin.userImport.file'), fileInput, { hint: t('admin.userImport.fileHint') }), fileInfo,
    h('details', {}, h('summary', { text: t('admin.userImport.columns') }),
      h('div', { class: 'table-wrap' }, h('table', { class: 'table' },
        h('thead', {}, h('tr', {}, [t('admin.userImport.column'), t('admin.userImport.needed'), t('admin.userImport.meaning')]
          .map((c) => h('th', { scope: 'col', text: c })))),
        h('tbody', {}, IMPORT_COLUMNS.map(([c, needed]) => h('tr', {}, h('td', { class: 'mono', text: c }),
          h('td', { text: needed ? t('admin.userImport.required') : t('admin.userImport.optional') }),
          h('td', { text: t(`admin.userImport.col.${c}`) })))))),
      h('button', { type: 'button', class: 'btn btn-secondary', onclick: example }, aicon('download'), h('span', { text: t('admin.userImport.example') }))),
    finished, result);
  return { node, open: kept.length > 0, dispose: () => window.removeEventListener('beforeunload', onBeforeUnload) };
}
