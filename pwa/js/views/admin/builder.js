// The template builder: outline, editor and live preview side by side on a laptop, one at a time
// behind three tabs on a phone. There is no save button: every change is sent as the draft a
// moment after typing stops (PUT .../draft). The server stores a draft only when every rule
// passes, so while there are problems the changes live in a copy on this computer (IndexedDB via
// db.js) and the problems are shown at their fields and in a summary with links.
//
// Two admins (or two tabs, or two computers) may edit one draft. Every save names the draft it was
// edited from (If-Match with the server's draft_etag); when someone else saved in between, the server
// refuses it (412) and autosaving stops until the admin chooses: load their draft (this computer's
// edits are kept and offered to restore) or overwrite it with this one.

import { api } from '../../api.js';
import { kv } from '../../db.js';
import { fmtDateTime, fmtNumber, t, tx } from '../../i18n.js';
import { confirmDialog, h, icon, mount, pill } from '../../ui.js';
import { render } from '../../router.js';
import * as model from './model.js';
import {
  adminPage, aicon, boxFor, debounce, describeError, focusBox, loadingFailed, styles,
} from './common.js';
import { relocate, renderOutline, rowId, updateMarks, updateRow } from './outline.js';
import { applyErrors, describeProblem, followWords, renderEditor } from './editor.js';
import { forgetPreviewDraft, previewState, renderPreview } from './preview.js';
import { publishFlow } from './publish.js';

// Open builders by template id: a language switch or a visit to another screen re-renders the
// view, and the working copy (with its unsaved edits and preview answers) must survive that.
const sessions = new Map();
const LOCAL = (id) => `admin.template.${id}`;

function serverStable(tpl) {
  return tpl.draft ? model.stable(model.clean(tpl.draft)) : null;
}

async function openSession(tpl) {
  const known = sessions.get(tpl.id);
  // A refused save waits for the admin's choice, whatever re-rendered the view (a language switch).
  if (known?.conflict) return known;
  // Kept (with its selection and preview answers) unless another draft was saved since (an import
  // into the draft, another admin). Then the server's draft is shown, and edits made here that
  // never reached the server are offered to restore: kept silently, they would hide the new draft
  // and overwrite it with the next save.
  const unsaved = known && model.stable(model.clean(known.def)) !== known.savedStable;
  if (known && serverStable(tpl) === known.savedStable) {
    known.tpl = tpl;
    if (tpl.archived) known.status = 'archived';
    else if (known.status === 'archived') known.status = unsaved ? 'saving' : 'saved';
    return known;
  }
  const def = tpl.draft ? structuredClone(tpl.draft) : model.newDefinition(tpl.title);
  if (!def.grade_bands) def.grade_bands = model.defaultBands();
  if (!def.sections.length) {
    const section = model.newSection(def);
    followWords(section);
    def.sections.push(section);
  }
  const session = {
    id: tpl.id, tpl, def, selected: tpl.draft ? 'settings' : def.sections[0], errors: [],
    savedStable: serverStable(tpl), invalidStable: null, inflight: null, failure: null,
    status: tpl.archived ? 'archived' : tpl.draft ? 'saved' : 'new', preview: previewState(), pane: 'outline',
    restore: null, conflict: null,
  };
  const local = await kv.get(LOCAL(tpl.id)).catch(() => null);
  if (known) {
    // The old session's retry timer must not send its copy over the new draft.
    known.replaced = true;
    if (unsaved && model.stable(model.clean(known.def)) !== session.savedStable) {
      session.restore = { def: known.def, at: local?.at || new Date().toISOString() };
    }
  }
  if (!session.restore) {
    if (local?.def && model.stable(model.clean(local.def)) !== session.savedStable) session.restore = local;
    else if (local) kv.del(LOCAL(tpl.id));
  }
  sessions.set(tpl.id, session);
  return session;
}

export default async function builderView(params) {
  await styles();
  let tpl;
  try {
    tpl = await api.admin.template(params.id);
  } catch (err) {
    return adminPage('templates', h('h1', { text: t('admin.builder') }), loadingFailed(err, () => location.reload()));
  }
  const session = await openSession(tpl);
  const hosts = {
    head: h('div'), conflict: h('div', { id: 'builder-conflict' }), restore: h('div'), summary: h('div', { id: 'builder-problems' }),
    outline: h('section', { class: 'pane pane-outline', 'aria-labelledby': 'outline-h' }),
    editor: h('section', { class: 'pane pane-editor', 'aria-labelledby': 'editor-h', id: 'builder-editor' }),
    preview: h('section', { class: 'pane pane-preview', 'aria-labelledby': 'preview-h' }),
    announce: h('p', { class: 'visually-hidden', 'aria-live': 'polite', id: 'builder-announce' }),
  };
  const status = h('p', { class: 'save-state', id: 'save-state', role: 'status' });
  const tabs = h('div', { class: 'pane-tabs', role: 'group', 'aria-label': t('admin.panes') });
  const grid = h('div', { class: 'builder', dataset: { pane: session.pane } }, hosts.outline, hosts.editor, hosts.preview);

  const ui = { session };
  const previewSoon = debounce(() => renderPreview(hosts.preview, ui), 180);
  const storeLocal = debounce(() => {
    const key = model.stable(model.clean(session.def));
    if (key === session.savedStable && !session.conflict) kv.del(LOCAL(session.id));
    else keepLocal(key);
  }, 300);
  const keepLocal = (key = model.stable(model.clean(session.def))) =>
    kv.set(LOCAL(session.id), { def: session.def, at: new Date().toISOString() })
      .then(() => { session.localStable = key; }, () => {});

  function showStatus() {
    const n = session.errors.length;
    const s = session.status;
    const map = {
      new: ['info', t('admin.state.new')],
      saving: ['busy', t('admin.state.saving')],
      saved: ['ok', t('admin.state.saved')],
      invalid: ['warn', t('admin.state.invalid', { count: n })],
      failed: ['fail', session.failure?.status === 0 ? t('admin.state.offline') : t('admin.state.failed', { detail: describeError(session.failure) })],
      archived: ['info', t('admin.state.archived')],
      conflict: ['fail', t('admin.state.conflict')],
    };
    const [kind, words] = map[s] || map.new;
    status.dataset.state = s;
    mount(status, pill(kind, words));
  }

  function showSummary() {
    const errs = session.errors;
    if (!errs.length) { mount(hosts.summary); return; }
    mount(hosts.summary, h('div', { class: 'callout callout-warn error-summary', role: 'region', 'aria-labelledby': 'problems-h' },
      icon('warn'), h('div', {},
        h('h2', { class: 'h3', id: 'problems-h', text: t('admin.problemsTitle', { count: errs.length }) }),
        h('p', { text: t('admin.problemsLead') }),
        h('ul', { class: 'problem-list' }, errs.map((e) => {
          const words = describeProblem(ui, e);
          return h('li', {}, h('a', { href: '#', dataset: { field: e.field }, onclick: (ev) => { ev.preventDefault(); jumpTo(e); } },
            `${words.where} — ${words.field ? `${words.field}: ` : ''}${words.message}`));
        })))));
  }

  function jumpTo(e) {
    if (e.obj !== session.selected) select(e.obj);
    setPane('edit');
    focusBox(boxFor(hosts.editor, e.rest) || hosts.editor.querySelector('.editor-other:not([hidden])'));
  }

  function setErrors(list, layout) {
    session.errors = model.resolveErrors(layout, list);
    showSummary();
    applyErrors(hosts.editor, ui);
    updateMarks(ui);
  }

  async function save() {
    session.saveSoon?.cancel();
    while (session.inflight) await session.inflight.catch(() => {});
    if (session.tpl.archived || session.replaced) return false;
    if (session.conflict) {
      session.status = 'conflict';
      showStatus();
      return false;
    }
    const body = model.clean(session.def);
    const key = model.stable(body);
    if (key === session.savedStable) {
      session.status = 'saved';
      if (session.errors.length) setErrors([], []);
      showStatus();
      kv.del(LOCAL(session.id));
      return true;
    }
    if (key === session.invalidStable) {
      session.status = 'invalid';
      showStatus();
      return false;
    }
    const layout = model.layoutOf(session.def);
    session.status = 'saving';
    showStatus();
    session.inflight = api.admin.saveDraft(session.id, body, session.tpl.draft_etag ?? null);
    let again = false;
    try {
      session.tpl = await session.inflight;
      session.savedStable = key;
      session.unsureStable = null;
      session.invalidStable = null;
      session.failure = null;
      session.status = 'saved';
      // The copy on this computer is dropped once the server holds the same: left behind, it would
      // later be offered as "unsaved changes" over a newer draft (an import, another admin's edit).
      if (model.stable(model.clean(session.def)) === key) {
        storeLocal.cancel();
        kv.del(LOCAL(session.id));
      }
      setErrors([], layout);
      renderHead();
    } catch (err) {
      if (err.status === 422) {
        session.invalidStable = key;
        session.status = 'invalid';
        setErrors(err.errors.length ? err.errors : [{ field: '', message: err.detail }], layout);
      } else if (err.status === 412) {
        const theirs = err.body?.draft;
        if (theirs && model.stable(model.clean(theirs)) === session.unsureStable) {
          // A save of ours whose answer was lost did arrive: that draft is ours, not someone else's.
          session.tpl = { ...session.tpl, draft: theirs, draft_etag: err.body.draft_etag };
          session.savedStable = session.unsureStable;
          session.unsureStable = null;
          session.status = 'saving';
          again = true;
        } else {
          conflicted(err);
        }
      } else {
        // No answer: the draft may have been stored all the same (told apart from a conflict above).
        if (err.transient) session.unsureStable = key;
        session.failure = err;
        session.status = 'failed';
        // A lost connection is retried by itself; other failures wait for the next edit.
        if (err.transient) session.saveSoon(15000);
      }
    } finally {
      session.inflight = null;
    }
    showStatus();
    if (again || model.stable(model.clean(session.def)) !== key) return save();  // edited while it was on its way
    return session.status === 'saved';
  }
  const saveDebounced = debounce(() => save(), 800);
  session.saveSoon = (ms) => (ms ? setTimeout(() => saveDebounced(), ms) : saveDebounced());
  session.saveSoon.cancel = saveDebounced.cancel;
  ui.saveNow = () => save();

  // Someone else saved this draft since this page last heard from the server. Nothing more is sent
  // until the admin chooses; the edits stay on screen and in the copy on this computer meanwhile.
  function conflicted(err) {
    session.saveSoon.cancel();
    session.conflict = { draft: err.body?.draft ?? null, etag: err.body?.draft_etag ?? null };
    session.status = 'conflict';
    // Kept on this computer even when it is what this page saved last: theirs has replaced it.
    storeLocal.cancel();
    keepLocal();
    showStatus();
    // Announced (role=alert) without taking the focus from a field the admin may be typing in.
    renderConflict();
  }
  ui.onConflict = conflicted;

  // A publish refused for the draft's problems (a draft saved before a rule existed, such as a key of
  // an earlier version given to another question) shows them at their fields, as a refused save does.
  ui.onInvalid = (err) => {
    session.invalidStable = model.stable(model.clean(session.def));
    session.status = 'invalid';
    setErrors(err.errors?.length ? err.errors : [{ field: '', message: err.detail }], model.layoutOf(session.def));
    showStatus();
  };

  async function loadTheirs() {
    // Mine stays on this computer: the builder reopens on their draft and offers mine to restore.
    storeLocal.cancel();
    await keepLocal();
    session.conflict = null;
    session.status = 'saving';
    await render();
  }

  function overwrite() {
    // Saved over the draft the server showed us, and only over that one: another save since is
    // refused again and asked about again.
    const { draft, etag } = session.conflict;
    session.conflict = null;
    session.tpl = { ...session.tpl, draft, draft_etag: etag };
    session.savedStable = draft ? model.stable(model.clean(draft)) : null;
    session.invalidStable = null;
    renderConflict();
    save();
  }

  function renderConflict() {
    if (!session.conflict) { mount(hosts.conflict); return; }
    mount(hosts.conflict, h('div', { class: 'callout callout-fail', role: 'alert' }, icon('alert'),
      h('div', {},
        h('h2', { class: 'h3', id: 'conflict-h', tabindex: '-1', text: t('admin.conflictTitle') }),
        h('p', { text: t('admin.conflictBody') }),
        h('div', { class: 'button-row' },
          h('button', { type: 'button', class: 'btn btn-primary', id: 'conflict-load', onclick: loadTheirs }, t('admin.conflictLoad')),
          h('button', { type: 'button', class: 'btn btn-secondary', id: 'conflict-overwrite', onclick: overwrite }, t('admin.conflictOverwrite'))),
        h('p', { class: 'hint', text: t('admin.conflictHint') }))));
  }

  function select(obj, { fromOutline = false } = {}) {
    session.selected = obj;
    renderOutline(hosts.outline, ui);
    renderEditor(hosts.editor, ui);
    const at = obj === 'settings' ? null : model.locate(session.def, obj);
    if (at && at.s !== session.preview.section) { session.preview.section = at.s; renderPreview(hosts.preview, ui); }
    if (fromOutline) {
      document.getElementById(`${rowId(obj)}-btn`)?.focus();
      if (narrow()) setPane('edit');
    }
  }

  ui.select = select;
  ui.refreshPreview = ({ now = false } = {}) => (now ? renderPreview(hosts.preview, ui) : previewSoon());
  ui.changed = (kind, obj, opts = {}) => {
    if (session.tpl.archived) return;
    if (kind === 'moved' || kind === 'structure') {
      if (kind === 'structure' || !relocate(ui, obj)) renderOutline(hosts.outline, ui);
      renderEditor(hosts.editor, ui, { focus: opts.focusEditor });
      const at = model.locate(session.def, session.selected);
      if (at) session.preview.section = at.s;
      // A move redraws the preview a moment later, so the outline answers the key at once.
      if (kind === 'moved') previewSoon(); else renderPreview(hosts.preview, ui);
      if (opts.focusRow) document.getElementById(`${rowId(obj)}-btn`)?.focus();
    } else {
      if (kind === 'editor') renderEditor(hosts.editor, ui, { focus: opts.focus });
      updateRow(ui, obj);
      if (obj !== 'settings' && model.locate(session.def, obj)?.i !== undefined) {
        updateRow(ui, session.def.sections[model.locate(session.def, obj).s]);
      }
      previewSoon();
    }
    if (opts.announce) hosts.announce.textContent = opts.announce;
    // Said at once, so nobody leaves believing an edit is already on the server.
    session.status = session.conflict ? 'conflict' : 'saving';
    showStatus();
    storeLocal();
    saveDebounced();
  };
  ui.addItem = (section) => {
    const item = model.newItem(session.def);
    followWords(item);
    section.items.push(item);
    session.selected = item;
    ui.changed('structure', item, { focusEditor: 'label.en', announce: t('admin.added') });
    if (narrow()) setPane('edit');
  };
  ui.addSection = () => {
    const section = model.newSection(session.def);
    followWords(section);
    session.def.sections.push(section);
    session.selected = section;
    ui.changed('structure', section, { focusEditor: 'title.en', announce: t('admin.added') });
    if (narrow()) setPane('edit');
  };

  const narrow = () => getComputedStyle(tabs).display !== 'none';
  function setPane(pane) {
    session.pane = pane;
    grid.dataset.pane = pane;
    for (const b of tabs.children) b.setAttribute('aria-pressed', String(b.dataset.pane === pane));
  }
  mount(tabs, ['outline', 'edit', 'preview'].map((pane) => h('button', {
    type: 'button', class: 'btn btn-choice', dataset: { pane }, 'aria-pressed': String(session.pane === pane),
    onclick: () => setPane(pane),
  }, h('span', { text: t(`admin.pane.${pane}`) }))));

  function renderHead() {
    const tp = session.tpl;
    const title = tx(model.clean(session.def).title).trim() || tx(tp.title) || tp.key;
    const published = tp.latest_version
      ? t('admin.latestVersion', { version: fmtNumber(tp.latest_version), when: fmtDateTime(tp.latest_published_at) })
      : t('admin.neverPublished');
    mount(hosts.head, h('header', { class: 'builder-head' },
      h('p', { class: 'crumbs' }, h('a', { href: '#/admin/templates', text: t('admin.nav.templates') })),
      h('h1', { id: 'builder-title', text: title }),
      h('p', { class: 'row-meta' },
        h('span', { class: 'mono', text: tp.key }), h('span', { text: published }),
        tp.archived ? pill('warn', t('admin.archived')) : null),
      h('div', { class: 'head-actions' }, status,
        h('button', { type: 'button', class: 'btn btn-primary', id: 'publish', disabled: tp.archived,
          onclick: () => publishFlow(ui, { onPublished: renderHead }) }, aicon('upload'), h('span', { text: t('admin.publish') })),
        h('a', { class: 'btn btn-secondary', href: `#/admin/templates/${tp.id}/versions`, id: 'versions-link' },
          t('admin.versionsAndFiles')))));
    showStatus();
  }

  function renderRestore() {
    if (!session.restore) { mount(hosts.restore); return; }
    mount(hosts.restore, h('div', { class: 'callout callout-info', role: 'region', 'aria-label': t('admin.restoreTitle') }, icon('alert'),
      h('div', {},
        h('p', { class: 'strong', text: t('admin.restoreTitle') }),
        h('p', { text: t('admin.restoreBody', { when: fmtDateTime(session.restore.at) }) }),
        h('div', { class: 'button-row' },
          h('button', { type: 'button', class: 'btn btn-primary', id: 'restore-local', onclick: () => {
            session.def = session.restore.def;
            session.restore = null;
            session.selected = 'settings';
            renderAll();
            save();
          } }, t('admin.restore')),
          h('button', { type: 'button', class: 'btn btn-secondary', id: 'discard-local', onclick: async () => {
            // The edits exist nowhere else: asked first, as nothing brings them back.
            if (!await confirmDialog(t('admin.discardTitle'), t('admin.discardBody'), t('admin.discard'))) return;
            session.restore = null;
            kv.del(LOCAL(session.id));
            renderRestore();
          } }, t('admin.discard'))))));
  }

  function renderAll() {
    renderHead();
    renderConflict();
    renderRestore();
    showSummary();
    renderOutline(hosts.outline, ui);
    renderEditor(hosts.editor, ui);
    renderPreview(hosts.preview, ui);
    // An archived template is read here but changed only after unarchiving (on its versions page).
    hosts.outline.inert = !!session.tpl.archived;
    hosts.editor.inert = !!session.tpl.archived;
  }

  // A reload or a closed tab gives no dispose. A write begun while the page unloads may not finish,
  // so leaving while an edit is neither on the server nor in the copy on this computer asks first
  // (the browser's own "Leave site?"); an edit already in that copy is offered back on return.
  const onHide = () => { storeLocal.flush(); saveDebounced.flush(); };
  const onVisibility = () => { if (document.visibilityState === 'hidden') onHide(); };
  const onBeforeUnload = (e) => {
    const key = model.stable(model.clean(session.def));
    onHide();
    if (!session.tpl.archived && key !== session.savedStable && key !== session.localStable) e.preventDefault();
  };
  window.addEventListener('beforeunload', onBeforeUnload);
  window.addEventListener('pagehide', onHide);
  document.addEventListener('visibilitychange', onVisibility);

  renderAll();
  // Edits left unsaved by an earlier visit (or before unarchiving) are sent now.
  if (!session.tpl.archived && !session.conflict && session.status !== 'new' && model.stable(model.clean(session.def)) !== session.savedStable) save();
  const node = adminPage('templates', hosts.head, hosts.conflict, hosts.restore, hosts.summary, tabs, hosts.announce, grid);
  node.classList.add('builder-page');
  return {
    node,
    dispose() {
      // Leaving sends what is pending at once; the copy on this computer covers a failure.
      window.removeEventListener('beforeunload', onBeforeUnload);
      window.removeEventListener('pagehide', onHide);
      document.removeEventListener('visibilitychange', onVisibility);
      storeLocal.flush();
      saveDebounced.flush();
      previewSoon.cancel();
      forgetPreviewDraft();
    },
  };
}
