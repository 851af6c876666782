// Templates: the list (latest version, draft state, archived), creating one, importing one from a
// file, and a template's versions page (download a version as JSON, import into the draft, archive).

import { api } from '../../api.js';
import { fmtDateTime, fmtNumber, t, tx } from '../../i18n.js';
import { navigate } from '../../router.js';
import { confirmDialog, dialog, h, mount, namePair, pill, toast } from '../../ui.js';
import {
  adminPage, aicon, bilingual, busy, describeError, errorSummary, fieldBox, input, loadingFailed, newestOnly, placeErrors,
  saveBlob, searchBox, showFailure, styles,
} from './common.js';

const DRAFT_PILL = {
  none: () => pill('info', t('admin.draft.none')),
  published: () => pill('ok', t('admin.draft.published')),
  unpublished: () => pill('warn', t('admin.draft.unpublished')),
};

function templateRow(tp) {
  return h('li', { class: 'list-row tpl-row', dataset: { key: tp.key } },
    h('a', { class: 'row-link', href: `#/admin/templates/${tp.id}` },
      tp.title?.en || tp.title?.ur ? namePair(tp.title) : h('span', { class: 'strong', text: tp.key })),
    h('div', { class: 'row-meta' },
      h('span', { class: 'mono', text: tp.key }),
      h('span', { text: tp.latest_version ? t('admin.latestVersion', { version: fmtNumber(tp.latest_version), when: fmtDateTime(tp.latest_published_at) })
        : t('admin.neverPublished') }),
      DRAFT_PILL[tp.draft_status](),
      tp.archived ? pill('warn', t('admin.archived')) : null,
      h('a', { href: `#/admin/templates/${tp.id}/versions`, class: 'btn btn-light' }, t('admin.versionsAndFiles'))));
}

export async function listView(params) {
  await styles();
  const list = h('ul', { class: 'list', id: 'template-list', 'aria-live': 'polite' });
  const query = { q: params.q || '', archived: params.archived || 'false' };
  const load = newestOnly(list,
    () => api.admin.templates({ q: query.q, archived: query.archived === 'all' ? undefined : query.archived }),
    (rows) => mount(list, rows.length ? rows.map(templateRow) : h('li', { class: 'empty', text: t('admin.noTemplates') })));
  let timer;
  const filters = h('div', { class: 'filters' },
    searchBox(t('admin.searchTemplates'), query.q, (v) => { query.q = v; clearTimeout(timer); timer = setTimeout(load, 250); }, { id: 'template-search' }),
    fieldBox('archived', t('admin.showTemplates'), h('select', { onchange: (e) => { query.archived = e.target.value; load(); } },
      [['false', t('admin.showCurrent')], ['true', t('admin.showArchived')], ['all', t('admin.showAll')]]
        .map(([v, label]) => h('option', { value: v, selected: v === query.archived }, label)))));
  await load();
  return adminPage('templates',
    h('div', { class: 'page-head' }, h('h1', { text: t('admin.templates') }),
      h('div', { class: 'button-row' },
        h('button', { type: 'button', class: 'btn btn-primary', id: 'new-template', onclick: () => newTemplate() }, aicon('plus'), h('span', { text: t('admin.newTemplate') })),
        h('button', { type: 'button', class: 'btn btn-secondary', id: 'import-template', onclick: () => importDialog() }, aicon('upload'), h('span', { text: t('admin.importTemplate') })))),
    filters, list);
}

async function newTemplate() {
  const value = { key: '', title: { en: '', ur: '' } };
  const summary = h('div', { hidden: true });
  const form = h('div', { class: 'form' },
    summary,
    bilingual('title', t('admin.templateTitle'), value.title, (lang, v) => { value.title[lang] = v; }),
    fieldBox('key', t('admin.key'), input('', (v) => { value.key = v.trim(); }, { spellcheck: 'false', autocapitalize: 'off', dir: 'ltr', id: 'new-key' }),
      { hint: t('admin.templateKeyHint') }));
  const created = await dialog({
    title: t('admin.newTemplate'), body: form,
    actions: [{ label: t('cancel'), value: null }, { label: t('admin.create'), value: 'create', kind: 'primary' }],
    onSubmit: async () => {
      try {
        const tpl = await api.admin.createTemplate(value);
        form.dataset.created = tpl.id;
        return true;
      } catch (err) {
        showFailure(form, summary, err);
        return false;
      }
    },
  });
  if (created) navigate(`/admin/templates/${form.dataset.created}`);
}

// Reads a chosen file as text; a file that is not JSON is said so before anything is sent.
async function readJsonFile(file) {
  const text = await file.text();
  try { return { text, parsed: JSON.parse(text) }; } catch { return { text, parsed: null }; }
}

export async function importDialog(template = null) {
  const state = { file: null, key: '' };
  const summary = h('div', { hidden: true });
  const fileInput = h('input', { type: 'file', accept: '.json,application/json', id: 'import-file', onchange: async (e) => {
    state.file = e.target.files[0] || null;
    if (!state.file || template) return;
    const { parsed } = await readJsonFile(state.file);
    if (parsed?.key && !state.key) { state.key = `${parsed.key}`; keyInput.value = state.key; }
  } });
  const keyInput = input('', (v) => { state.key = v.trim(); }, { spellcheck: 'false', autocapitalize: 'off', dir: 'ltr', id: 'import-key' });
  const form = h('div', { class: 'form' },
    h('p', { text: template ? t('admin.importIntoLead', { name: tx(template.title) || template.key }) : t('admin.importLead') }),
    // Changes saved but not published are in the draft alone: the import is their end.
    template?.draft_status === 'unpublished' ? h('p', { class: 'callout callout-warn', id: 'import-replaces', text: t('admin.importReplacesChanges') }) : null,
    summary,
    fieldBox('file', t('admin.importFile'), fileInput, { hint: t('admin.importFileHint') }),
    template ? null : fieldBox('key', t('admin.key'), keyInput, { hint: t('admin.importKeyHint') }));
  const done = await dialog({
    title: template ? t('admin.importInto') : t('admin.importTemplate'), body: form,
    actions: [{ label: t('cancel'), value: null }, { label: t('admin.import'), value: 'import', kind: 'primary' }],
    onSubmit: async () => {
      if (!state.file) {
        errorSummary(summary, placeErrors(form, [{ field: 'file', message: t('admin.importChoose') }]));
        return false;
      }
      const { text, parsed } = await readJsonFile(state.file);
      if (parsed === null) {
        errorSummary(summary, placeErrors(form, [{ field: 'file', message: t('admin.importNotJson') }]));
        return false;
      }
      try {
        const tpl = await api.admin.importTemplate(new Blob([text], { type: 'application/json' }),
          { key: template ? undefined : state.key, templateId: template?.id, etag: template?.draft_etag });
        form.dataset.id = tpl.id;
        return true;
      } catch (err) {
        // Someone saved the draft after this page showed it: their changes are kept, and this says so.
        if (err?.status === 412) {
          errorSummary(summary, placeErrors(form, [{ field: 'file', message: t('admin.importDraftChanged') }]));
          return false;
        }
        // The definition's problems are named by their place in the file (sections[0].items[2]…);
        // the export wrapper's own fields (format, version…) are the file's problem, shown at it.
        const wrapper = new Set(['format', 'format_version', 'version', 'exported_at', 'definition', 'body']);
        const errors = (err.errors || []).map((e) => (wrapper.has(e.field) ? { ...e, field: 'file', message: `${e.field}: ${e.message}` } : e));
        showFailure(form, summary, { status: err?.status, detail: err?.detail || err?.message, errors });
        return false;
      }
    },
  });
  if (done) {
    toast(t('admin.imported'));
    navigate(`/admin/templates/${form.dataset.id}`);
  }
}

export async function versionsView(params) {
  await styles();
  let tpl;
  let versions;
  try {
    [tpl, versions] = await Promise.all([api.admin.template(params.id), api.admin.versions(params.id)]);
  } catch (err) {
    return adminPage('templates', h('h1', { text: t('admin.versions') }), loadingFailed(err, () => location.reload()));
  }
  const archiveBtn = h('button', { type: 'button', class: ['btn', tpl.archived ? 'btn-secondary' : 'btn-danger'], id: 'archive-toggle',
    onclick: async (e) => {
      const btn = e.currentTarget;
      const archiving = !tpl.archived;
      const ok = await confirmDialog(archiving ? t('admin.archiveTitle') : t('admin.unarchiveTitle'),
        archiving ? t('admin.archiveBody') : t('admin.unarchiveBody'), archiving ? t('admin.archive') : t('admin.unarchive'));
      if (!ok) return;
      await busy(btn, async () => {
        try {
          await api.admin.setArchived(tpl.id, archiving);
          toast(archiving ? t('admin.archivedDone') : t('admin.unarchivedDone'));
          navigate(`/admin/templates/${tpl.id}/versions`, { replace: true });
        } catch (err) {
          toast(describeError(err), { kind: 'error' });
        }
      });
    } }, tpl.archived ? t('admin.unarchive') : t('admin.archive'));

  const download = (v) => async (e) => busy(e.currentTarget, async () => {
    try {
      saveBlob(await api.admin.exportVersion(tpl.id, v.version), `${tpl.key}-v${v.version}.json`);
    } catch (err) {
      toast(describeError(err), { kind: 'error' });
    }
  });
  const rows = versions.map((v) => h('tr', { dataset: { version: v.version } },
    h('th', { scope: 'row', text: t('admin.versionN', { version: fmtNumber(v.version) }) }),
    h('td', { text: fmtDateTime(v.published_at) }),
    h('td', { text: t('admin.versionSize', { sections: v.sections, items: v.items }) }),
    h('td', {}, h('button', { type: 'button', class: 'btn btn-secondary', dataset: { export: v.version }, onclick: download(v),
      'aria-label': t('admin.downloadVersion', { version: fmtNumber(v.version) }) }, aicon('download'), h('span', { text: t('admin.downloadJson') })))));

  return adminPage('templates',
    h('p', { class: 'crumbs' }, h('a', { href: '#/admin/templates', text: t('admin.nav.templates') })),
    h('h1', { text: `${tx(tpl.title) || tpl.key} — ${t('admin.versions')}` }),
    h('p', { class: 'row-meta' }, h('span', { class: 'mono', text: tpl.key }),
      tpl.archived ? pill('warn', t('admin.archived')) : pill('ok', t('admin.inUse'))),
    h('div', { class: 'button-row' },
      h('a', { class: 'btn btn-primary', href: `#/admin/templates/${tpl.id}` }, t('admin.openBuilder')),
      h('button', { type: 'button', class: 'btn btn-secondary', id: 'import-into', disabled: tpl.archived,
        onclick: () => importDialog(tpl) }, aicon('upload'), h('span', { text: t('admin.importInto') })),
      archiveBtn),
    h('p', { class: 'hint', text: tpl.archived ? t('admin.archivedHint') : t('admin.archiveHint') }),
    versions.length ? h('div', { class: 'table-wrap' }, h('table', { class: 'table', id: 'versions' },
      h('caption', { class: 'visually-hidden', text: t('admin.versions') }),
      h('thead', {}, h('tr', {}, [t('admin.version'), t('admin.publishedAt'), t('admin.size'), t('admin.file')].map((c) => h('th', { scope: 'col', text: c })))),
      h('tbody', {}, rows)))
      : h('p', { class: 'empty', text: t('admin.noVersions') }));
}

