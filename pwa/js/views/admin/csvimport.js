// Importing stations from a CSV file in two steps: the file is first checked by the server without
// writing anything (?dry_run=true), which shows what would be created and changed, or every
// problem by row and column; only then can the admin confirm the real import, which is all or
// nothing on the server as well.

import { api } from '../../api.js';
import { fmtBytes, fmtNumber, sayKnown, t } from '../../i18n.js';
import { confirmDialog, h, icon, mount, pill } from '../../ui.js';
import { adminPage, aicon, busy, describeError, fieldBox, problemCounts, saveBlob, serverMessage, splitField, styles, turns } from './common.js';

const COLUMNS = [
  ['code', true], ['name_en', true], ['name_ur', true], ['district_code', true], ['circle_code', false],
  ['lat', true], ['lon', true], ['sips', false], ['kind', false],
];


// The import's own problems (server/org/rules.py, importer.py), said in the person's language; the
// rest as every admin form says them (a station outside Pakistan is refused by the form too: common.js).
const CSV_MESSAGES = [
  [/^'.*': Urdu letters were lost/, 'admin.csvMsg.urduLost'],
  [/^'.*' has no Urdu letters/, 'admin.csvMsg.noUrdu'],
  [/^looks like (\S+) with its leading zero lost/, 'admin.csvMsg.zeroLost'],
  [/^could be any of the stations (.+): write the code exactly as stored$/, 'admin.csvMsg.caseTwins'],
  [/^the code '(.+)' is also on row (\d+)$/, 'admin.csvMsg.codeTwice'],
  [/^the file uses ';' between values/, 'admin.csvMsg.semicolons'],
  [/^the file uses tabs between values/, 'admin.csvMsg.tabs'],
];
const csvMessage = (message) => {
  const said = sayKnown(CSV_MESSAGES, message);
  return said === message ? serverMessage(message) : said;
};

function problemsTable(err) {
  const { errors } = err;
  const fileWide = errors.filter((e) => splitField(e.field).row === null);
  const byRow = errors.filter((e) => splitField(e.field).row !== null);
  const { count, rows, more } = problemCounts(err, byRow);
  return h('div', { class: 'callout callout-fail', role: 'alert', id: 'csv-problems' }, icon('alert'), h('div', {},
    h('h2', { class: 'h3', text: t('admin.csvProblems', { count, rows }) }),
    h('p', { text: t('admin.csvNothingWritten') }), more,
    fileWide.length ? h('ul', {}, fileWide.map((e) => h('li', { text: csvMessage(e.message) }))) : null,
    byRow.length ? h('div', { class: 'table-wrap' }, h('table', { class: 'table' },
      h('thead', {}, h('tr', {}, [t('admin.csvRow'), t('admin.csvColumn'), t('admin.csvProblem')].map((c) => h('th', { scope: 'col', text: c })))),
      h('tbody', {}, byRow.map((e) => {
        const { row, column } = splitField(e.field);
        return h('tr', { dataset: { row } }, h('td', { text: fmtNumber(row) }), h('td', { class: 'mono', text: column }),
          h('td', { text: csvMessage(e.message) }));
      })))) : null));
}

function previewCard(preview) {
  const changed = preview.updated.length;
  const created = preview.created.length;
  return h('section', { class: 'card', id: 'csv-preview', 'aria-labelledby': 'csv-preview-h' },
    h('h2', { id: 'csv-preview-h', text: t('admin.csvPreview') }),
    h('p', { class: 'status-line' },
      pill('info', t('admin.csvRows', { count: preview.rows })),
      pill(created ? 'ok' : 'info', t('admin.csvCreated', { count: created })),
      pill(changed ? 'warn' : 'info', t('admin.csvUpdated', { count: changed })),
      pill('info', t('admin.csvUnchanged', { count: preview.unchanged }))),
    h('p', { class: 'hint', text: t('admin.csvNothingYet') }),
    created ? h('details', { open: created <= 20 }, h('summary', { text: t('admin.csvNewStations', { count: created }) }),
      h('ul', { class: 'code-list', id: 'csv-created' }, preview.created.map((c) => h('li', { class: 'mono', text: c })))) : null,
    changed ? h('details', { open: changed <= 20 }, h('summary', { text: t('admin.csvChangedStations', { count: changed }) }),
      h('div', { class: 'table-wrap' }, h('table', { class: 'table', id: 'csv-updated' },
        h('thead', {}, h('tr', {}, [t('admin.code'), t('admin.csvColumn'), t('admin.csvFrom'), t('admin.csvTo')].map((c) => h('th', { scope: 'col', text: c })))),
        h('tbody', {}, preview.updated.flatMap((u) => Object.entries(u.changes).map(([field, ch], i) => h('tr', {},
          h('td', { class: 'mono', text: i !== 0 ? '' : u.code_in_file ? t('admin.csvSpelt', { code: u.code, file: u.code_in_file }) : u.code }),
          h('td', { class: 'mono', text: field }),
          h('td', { text: ch.from === null ? '—' : String(ch.from) }), h('td', { class: 'strong', text: ch.to === null ? '—' : String(ch.to) })))))))) : null,
    notInFile(preview.not_in_file));
}

// Stations the file leaves out, in the districts it covers: information, since an import only adds
// and changes; an officer who meant the file to be the whole list sees what it lacks.
function notInFile(missing) {
  if (!missing?.count) return null;
  const more = missing.count - missing.codes.length;
  return h('div', { class: 'callout callout-info', id: 'csv-not-in-file' }, icon('note'), h('div', {},
    h('p', { class: 'strong', text: t('admin.csvNotInFile', { count: missing.count }) }),
    h('p', { class: 'hint', text: t('admin.csvNotInFileHint') }),
    h('ul', { class: 'code-list' }, missing.codes.map((c) => h('li', { class: 'mono', text: c }))),
    more > 0 ? h('p', { class: 'hint', text: t('admin.csvNotInFileMore', { count: more }) }) : null));
}

export default async function csvImportView() {
  await styles();
  const result = h('div', { 'aria-live': 'polite', id: 'csv-result' });
  // The file's bytes as they were when checked: the import sends exactly what was previewed, even if
  // the file on disk changes afterwards (a File read later would read the new content, or fail), or
  // another file was chosen since. Each choice is read and checked in its own turn, and only the newest
  // choice's preview (or problems) is drawn.
  const turn = turns();
  let example = null;
  try {
    const [district] = await api.admin.list('districts', {});
    example = district?.code || null;
  } catch { example = null; }

  const runImport = async (button, preview, csv) => {
    const ok = await confirmDialog(t('admin.csvConfirmTitle'),
      t('admin.csvConfirmBody', { created: preview.created.length, updated: preview.updated.length }), t('admin.csvImportNow'));
    if (!ok) return;
    // No other file is chosen while the stations are written: its preview would be taken for this import's.
    fileInput.disabled = true;
    await busy(button, async () => {
      try {
        const counts = await api.admin.importStations(csv, false);
        mount(result, h('div', { class: 'callout callout-ok', role: 'status', id: 'csv-done' }, icon('check'), h('div', {},
          h('p', { class: 'strong', text: t('admin.csvDone') }),
          h('p', { text: t('admin.csvDoneBody', { created: counts.created, updated: counts.updated, unchanged: counts.unchanged }) }),
          h('a', { class: 'btn btn-secondary', href: '#/admin/hierarchy/stations' }, t('admin.csvSeeStations')))));
      } catch (err) {
        mount(result, failure(err));
      } finally {
        fileInput.disabled = false;
      }
    });
  };

  // A 422 lists the file's problems by row; a file over the server's limit is said with the limit.
  const failure = (err) => (err.status === 422 ? problemsTable(err)
    : h('p', { class: 'callout callout-fail', role: 'alert', id: 'csv-failed',
      text: err.status === 413 && err.body?.max_bytes ? t('admin.csvTooLarge', { size: fmtBytes(err.body.max_bytes) }) : describeError(err) }));

  const check = async (csv, mine) => {
    mount(result, pill('busy', t('admin.csvChecking')));
    try {
      const preview = await api.admin.importStations(csv, true);
      if (!turn.current(mine)) return;
      const nothing = !preview.created.length && !preview.updated.length;
      const go = h('button', { type: 'button', class: 'btn btn-primary', id: 'csv-confirm', disabled: nothing,
        onclick: (e) => runImport(e.currentTarget, preview, csv) }, t('admin.csvImportN', { count: preview.created.length + preview.updated.length }));
      mount(result, previewCard(preview), nothing ? h('p', { class: 'callout callout-info', text: t('admin.csvNothingToDo') }) : null, go);
    } catch (err) {
      if (!turn.current(mine)) return;
      mount(result, failure(err));
    }
  };

  const fileInput = h('input', { type: 'file', accept: '.csv,text/csv', id: 'csv-file', onchange: async (e) => {
    const file = e.target.files[0] || null;
    // Cleared, so that choosing the same file again once it is corrected is a change, checked anew.
    e.target.value = '';
    const mine = turn.take();
    fileInfo.textContent = file ? t('admin.csvChosen', { name: file.name, size: fmtBytes(file.size) }) : '';
    if (!file) { mount(result); return; }
    let csv;
    try {
      csv = new Blob([await file.arrayBuffer()], { type: 'text/csv' });
    } catch (err) {
      if (turn.current(mine)) mount(result, h('p', { class: 'callout callout-fail', role: 'alert', text: describeError(err) }));
      return;
    }
    if (turn.current(mine)) check(csv, mine);
  } });
  const fileInfo = h('p', { class: 'hint', 'aria-live': 'polite' });
  // With a byte-order mark and CRLF, as Excel writes "CSV UTF-8": without the mark Excel shows the Urdu
  // name as mojibake, and saving it so turns it into question marks.
  const sample = () => saveBlob(new Blob([`\ufeff${COLUMNS.map(([c]) => c).join(',')}\r\n`
    + `PS-EXAMPLE-1,Example Police Station,مثال پولیس اسٹیشن,${example || 'DISTRICT-CODE'},,31.5204,74.3587,true,police_station\r\n`], { type: 'text/csv' }), 'stations-example.csv');

  return adminPage('hierarchy',
    h('p', { class: 'crumbs' }, h('a', { href: '#/admin/hierarchy/stations', text: t('admin.nav.hierarchy') })),
    h('h1', { text: t('admin.importStations') }),
    h('section', { class: 'card', 'aria-labelledby': 'csv-file-h' },
      h('h2', { id: 'csv-file-h', text: t('admin.csvStep1') }),
      h('p', { text: t('admin.csvLead') }),
      fieldBox('file', t('admin.csvFile'), fileInput, { hint: t('admin.csvFileHint') }), fileInfo,
      h('details', {}, h('summary', { text: t('admin.csvColumns') }),
        h('div', { class: 'table-wrap' }, h('table', { class: 'table' },
          h('thead', {}, h('tr', {}, [t('admin.csvColumn'), t('admin.csvNeeded'), t('admin.csvMeaning')].map((c) => h('th', { scope: 'col', text: c })))),
          h('tbody', {}, COLUMNS.map(([c, needed]) => h('tr', {}, h('td', { class: 'mono', text: c }),
            h('td', { text: needed ? t('admin.csvRequired') : t('admin.csvOptional') }), h('td', { text: t(`admin.csvCol.${c}`) })))))),
        h('button', { type: 'button', class: 'btn btn-secondary', onclick: sample }, aicon('download'), h('span', { text: t('admin.csvExample') })))),
    result);
}
