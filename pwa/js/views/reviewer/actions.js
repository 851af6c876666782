// The corrective actions board: a column per status (open, in progress, done, verified) on a laptop,
// the same groups one after another on a phone, overdue actions marked by word and icon. Reviewers
// create actions (for any item), move them through the state machine and add notes. Cancelled
// actions (final, nothing was fixed because nothing needed fixing) are folded away below the board,
// out of the way of the open work; cancelling one asks for the reason, in a dialog of its own.

import { api } from '../../api.js';
import { actionDescription, actionOwner, fmtDate, fmtDateTime, fmtNumber, t, tx } from '../../i18n.js';
import { navigate, render } from '../../router.js';
import { templatesFor } from '../../state.js';
import { button, dialog, h, icon, mount, toast } from '../../ui.js';
import {
  bilingual, busy, cancelledWhy, endDialog, errorBox, fieldBox, inDays, oneName, page, placeProblems, problem, sayServer, select,
  sincePassed, stations, tag, what,
} from './common.js';
import { photoThumbs } from './inspection.js';

// The moves a reviewer may make from each status; server/actions/rules.py holds the same machine.
// Cancelling is for reviewers and admins only (the only roles with these screens), with a note.
const MOVES = {
  open: ['in_progress', 'done', 'verified', 'cancelled'],
  in_progress: ['done', 'verified', 'open', 'cancelled'],
  done: ['verified', 'open', 'cancelled'],
  verified: [],
  cancelled: [],
};
// Verified and cancelled are final: the server refuses notes and changes (409), so none are offered.
const FINAL = new Set(['verified', 'cancelled']);
const COLUMNS = ['open', 'in_progress', 'done', 'verified'];
const label = (s) => `${s.code} · ${oneName(s.name)}`;
const fail = (text) => h('div', { class: 'callout callout-fail' }, icon('alert'), h('ul', {}, text.map((x) => h('li', { text: x }))));

// Every change is sent with the action's change_seq as this screen read it (base_change_seq). Someone
// else changed it meanwhile (a colleague reopened it, "not good enough") when the server answers 409
// naming that field, with the action as it stands: the change is not made over theirs unseen.
const changedMeanwhile = (err) => err?.status === 409 && (err.errors || []).some((e) => e.field === 'base_change_seq');
const changedText = (now) => t('rv.act.changed', { status: t(`rv.status.${now.status}`) });
const changedBox = (now) => h('div', { class: 'callout callout-warn rv-changed', role: 'alert' }, icon('warn'), h('p', { text: changedText(now) }));

// After such a 409 on a card: the board is drawn again, showing the action as it is now, and its card
// says why nothing was changed (a notice does when the card is past what its column shows).
async function showChanged(id, now) {
  await redraw();
  const box = document.querySelector(`.rv-action[data-id="${id}"] .rv-msg`);
  if (box) mount(box, changedBox(now)); else toast(changedText(now), { kind: 'error' });
  refocus(id, 'button', now.status);
}
// The board is drawn afresh after a change, which takes the focused button with it: focus goes
// back to the same card (in its new column) so a keyboard or screen reader user keeps their place.
// A card folded away (a cancelled one) is unfolded first, or it could not take the focus.
// A card moved past what its new column shows (the column pages) is not on the board: focus goes
// to that column's heading, which says how many it holds, rather than to the top of the page.
function refocus(id, selector = 'button', status = null) {
  const card = document.querySelector(`.rv-action[data-id="${id}"]`);
  const fold = card?.closest('details');
  if (fold) fold.open = true;
  const heading = !card && status ? document.getElementById(`rv-col-${status}`) : null;
  // A <summary> (the cancelled fold's) takes focus as it is; a heading needs to be made able to.
  if (heading && !heading.matches('summary')) heading.setAttribute('tabindex', '-1');
  heading?.closest('details')?.setAttribute('open', '');
  (card?.querySelector(selector) || card || heading)?.focus();
}

// A column shows its first page of actions (soonest due first) and how many there are in all; "Show
// more" brings the next. One list for the whole board cut off at a few hundred, and verified actions,
// which only pile up, held the oldest due dates: a year in, it said "Open (0)" over thousands.
const PAGE = 100;
// How many cards each column of the board showed (by filters and status): drawn again after a change
// made on it (redraw), it shows as many, so the pages the reviewer opened and their place stay. Any
// other drawing (coming back to the board later) starts again from one page a column.
const shown = new Map();
let keepPages = false;
async function redraw() {
  keepPages = true;
  try { await render(); } finally { keepPages = false; }
}

export default async function actionsView(params) {
  const station = params.station || '';
  const overdue = params.overdue === '1';
  if (!keepPages) shown.clear();
  const key = (status) => `${station}|${overdue}|${status}`;
  const load = (status, after) => api.reviewer.actions({
    station_id: station, overdue: overdue || undefined, status, after,
    limit: after ? PAGE : Math.min(500, Math.max(PAGE, shown.get(key(status)) || 0)),
  }).then((res) => {
    shown.set(key(status), (after ? shown.get(key(status)) || 0 : 0) + res.rows.length);
    return res;
  });
  const [list, ...pages] = await Promise.all([stations().catch(() => []),
    ...[...COLUMNS, 'cancelled'].map((status) => load(status).catch((err) => ({ err })))]);
  const failed = pages.find((res) => res.err);
  const go = (changes) => {
    const q = new URLSearchParams(Object.entries({ station, overdue: overdue ? '1' : '', ...changes }).filter(([, v]) => v));
    navigate(`/review/actions${q.size ? `?${q}` : ''}`);
  };
  const tools = h('div', { class: 'rv-filters' },
    h('label', {}, t('rv.col.station'), select('station', list.map((s) => [s.id, label(s)]), station,
      { all: t('rv.act.allStations'), onchange: (e) => go({ station: e.target.value }) })),
    h('div', { class: 'rv-check' }, h('input', { type: 'checkbox', id: 'rv-overdue', checked: overdue, onchange: (e) => go({ overdue: e.target.checked ? '1' : '' }) }),
      h('label', { for: 'rv-overdue', text: t('rv.act.onlyOverdue') })),
    button(t('rv.act.new'), async () => {
      const made = await actionDialog({});
      if (made) { await redraw(); refocus(made.id, 'button', 'open'); }
    }, { kind: 'primary', iconName: 'warn', id: 'rv-new-action' }));
  return page('/review/actions', t('rv.act.title'), h('p', { class: 'hint', text: t('rv.act.lead') }), tools,
    failed ? errorBox(failed.err) : [h('div', { class: 'rv-board' }, COLUMNS.map((status, i) => {
      const cards = h('ul', { class: 'list' }, pages[i].rows.map(actionCard));
      return h('section', { class: 'rv-col', dataset: { status }, 'aria-labelledby': `rv-col-${status}` },
        h('h2', { id: `rv-col-${status}` }, `${t(`rv.status.${status}`)} (${fmtNumber(pages[i].total ?? pages[i].rows.length)})`),
        pages[i].rows.length ? cards : h('p', { class: 'hint', text: t('rv.act.none') }), showMore(cards, pages[i], (after) => load(status, after)));
    })), cancelledFold(pages[COLUMNS.length], (after) => load('cancelled', after))]);
}

// The next page of a column, appended below what it shows, with focus on the first card it brought.
function showMore(cards, first, next) {
  if (!first.next) return null;
  let after = first.next;
  let shown = first.rows.length;
  const words = () => t('rv.act.more', { shown: fmtNumber(shown), total: fmtNumber(first.total ?? shown) });
  const problemBox = h('div', { role: 'alert' });
  const more = button(words(), (e) => busy(e.currentTarget, async () => {
    mount(problemBox);
    let res;
    try { res = await next(after); } catch (err) { mount(problemBox, errorBox(err)); return; }
    const added = res.rows.map(actionCard);
    cards.append(...added);
    shown += res.rows.length;
    after = res.next;
    if (!after) more.replaceWith(problemBox);
    else more.querySelector('span').textContent = words();
    (added[0]?.querySelector('button, a') || added[0])?.focus();
  }), { class: 'rv-more' });
  return h('div', {}, problemBox, more);
}

// Cancelled actions, closed (folded) by default: they are history, not work.
function cancelledFold(first, next) {
  const cards = h('ul', { class: 'list' }, first.rows.map(actionCard));
  return h('details', { class: 'rv-col rv-cancelled', dataset: { status: 'cancelled' } },
    h('summary', { id: 'rv-col-cancelled' }, `${t('rv.status.cancelled')} (${fmtNumber(first.total ?? first.rows.length)})`),
    h('p', { class: 'hint', text: t('rv.act.cancelledLead') }),
    first.rows.length ? cards : h('p', { class: 'hint', text: t('rv.act.none') }), showMore(cards, first, next));
}

// Why a cancelled action was cancelled, or that an open one's item has since been passed.
function reasonOf(a) {
  if (a.status === 'cancelled') {
    return h('p', { class: 'rv-cancel-reason strong', dataset: { reason: a.cancel_reason || 'person' } },
      icon('cross'), ' ', h('span', { text: cancelledWhy(a) }));
  }
  const since = sincePassed(a);
  return since && h('div', { class: 'callout callout-warn rv-passed', role: 'note', dataset: { mark: since.mark } }, icon('warn'),
    h('div', {}, h('p', { class: 'strong', text: since.title }), h('p', { text: t('rv.act.passedHint') })));
}

function actionCard(a) {
  const msg = h('div', { class: 'rv-msg' });
  const move = (to) => (to === 'cancelled'
    // Set apart from the moves that go forward: destructive, last, and behind a dialog asking why.
    ? button(t('rv.move.cancelled'), async () => {
      if (await cancelDialog(a)) { await redraw(); refocus(a.id, '.rv-notes', 'cancelled'); }
    }, { kind: 'danger', iconName: 'cross', class: 'rv-cancel-action', dataset: { to } })
    // Verifying closes the action for good, so it is confirmed first, with room for what was seen.
    : to === 'verified' ? button(t('rv.move.verified'), async () => {
      if (await verifyDialog(a)) { await redraw(); refocus(a.id, '.rv-notes', 'verified'); }
    }, { iconName: 'check', dataset: { to } })
    : button(t(`rv.move.${to}`), (e) => busy(e.currentTarget, async () => {
      try { await api.reviewer.updateAction(a.id, { status: to, base_change_seq: a.change_seq }); await redraw(); refocus(a.id, 'button', to); } catch (err) {
        if (changedMeanwhile(err)) await showChanged(a.id, err.body.action); else mount(msg, errorBox(err));
      }
    }), { dataset: { to } }));
  return h('li', { class: ['card', 'rv-action', a.overdue && 'is-overdue'], dataset: { id: a.id, status: a.status } },
    h('div', { class: 'strong' }, bilingual(a.station.name), h('span', { class: 'rv-code', text: a.station.code })),
    h('p', { class: 'rv-desc', dir: 'auto', text: actionDescription(a) }),
    actionOwner(a) && h('p', { class: 'hint', text: t('rv.act.owner', { owner: actionOwner(a) }) }),
    a.status === 'cancelled' ? reasonOf(a) : [
      a.overdue ? tag('fail', 'alert', t('home.overdueOn', { date: fmtDate(a.due_date) }))
        : h('p', { class: 'hint', text: t('home.dueOn', { date: fmtDate(a.due_date) }) }),
      reasonOf(a)],
    a.inspection_id && h('a', { href: `#/review/i/${a.inspection_id}`, text: t('rv.act.fromInspection') }),
    msg,
    h('div', { class: 'rv-item-actions' }, (MOVES[a.status] || []).filter((to) => to !== 'cancelled').map(move),
      button(t('rv.act.notes'), () => notesDialog(a), { iconName: 'note', class: 'rv-notes' }),
      (MOVES[a.status] || []).includes('cancelled') && move('cancelled')));
}

// Cancelling is final and needs the reason, which goes into the action's notes. The form says so
// before anything is sent; a missing note is caught here, and the server's 422 (should one come
// anyway) is shown at the note field. Resolves true when the action was cancelled; the board is drawn
// again after a refusal, since it no longer matches the server.
async function cancelDialog(a) {
  const area = h('textarea', { name: 'note', rows: 3, maxlength: 4000 });
  const needNote = [{ field: 'note', message: t('rv.act.cancelNeedNote') }];
  const { done, refused } = await endDialog({
    title: t('rv.act.cancelTitle', { station: a.station.code }),
    body: [
      h('p', {}, bilingual(a.station.name), h('span', { class: 'rv-code', text: a.station.code })),
      h('p', { dir: 'auto', text: actionDescription(a) }),
      what(t('rv.act.cancelWhat')),
      fieldBox('note', t('rv.act.cancelWhy'), area, { hint: t('rv.act.cancelWhyHint') }),
    ],
    keep: t('rv.act.cancelKeep'),
    confirm: t('rv.move.cancelled'),
    working: t('rv.act.cancelling'),
    check: (form) => {
      const noted = Boolean(area.value.trim());
      placeProblems(form, noted ? [] : needNote);
      return noted;
    },
    send: () => api.reviewer.updateAction(a.id, { status: 'cancelled', note: area.value.trim(), base_change_seq: a.change_seq }),
    fail: (form, host, err) => {
      const atNote = err?.status === 422 && (err.errors || []).some((e) => e.field === 'note');
      placeProblems(form, atNote ? needNote : []);
      if (!atNote) mount(host, changedMeanwhile(err) ? changedBox(err.body.action) : errorBox(err));
    },
  });
  if (refused) await redraw();
  return done;
}

// Verified is final: the action leaves the board's open columns and nothing more can be added to it.
// Resolves true when the action was verified; the board is drawn again after a refusal.
async function verifyDialog(a) {
  const area = h('textarea', { name: 'note', rows: 3, maxlength: 4000 });
  const { done, refused } = await endDialog({
    title: t('rv.act.verifyTitle', { station: a.station.code }),
    body: [
      h('p', {}, bilingual(a.station.name), h('span', { class: 'rv-code', text: a.station.code })),
      h('p', { dir: 'auto', text: actionDescription(a) }),
      what(t('rv.act.verifyWhat')),
      fieldBox('note', t('rv.act.verifyNote'), area, { hint: t('rv.act.verifyNoteHint') }),
    ],
    keep: t('rv.act.verifyKeep'),
    confirm: t('rv.move.verified'),
    working: t('rv.act.verifying'),
    kind: 'primary',
    send: () => api.reviewer.updateAction(a.id, { status: 'verified', base_change_seq: a.change_seq,
      ...(area.value.trim() ? { note: area.value.trim() } : {}) }),
    fail: (form, host, err) => mount(host, changedMeanwhile(err) ? changedBox(err.body.action) : errorBox(err)),
  });
  if (refused) await redraw();
  return done;
}

// The photos named as evidence of the fix, as thumbnails that open larger, as on the inspection page.
function evidencePhotos(a) {
  const ids = a.evidence_photo_ids || [];
  return ids.length > 0 && h('section', { class: 'rv-act-evidence' },
    h('h3', { text: t('rv.act.evidence') }),
    photoThumbs(ids, { title: t('rv.act.evidenceOf', { station: a.station.code }), alt: (n) => t('rv.act.evidenceAlt', { n: fmtNumber(n + 1) }),
      meta: (id) => api.reviewer.photo(id) }));
}

async function notesDialog(a) {
  const area = h('textarea', { rows: 3, maxlength: 4000 });
  const list = h('div', { text: '…' });
  const evidence = h('div');
  const errors = h('div', { role: 'alert' });
  // What the dialog shows, and so what a note is written against (its change_seq is sent): the action
  // read as the dialog opens (the board's copy until then), or as a 409 says it is now.
  let seen = a;
  let changed = false;
  const show = (full) => {
    seen = full;
    mount(evidence, evidencePhotos(full));
    mount(list, full.notes?.length
      ? h('ol', { class: 'rv-timeline' }, full.notes.map((n) => h('li', {}, icon(n.status_to ? 'sync' : 'note'), h('div', {},
        h('p', { class: 'hint', text: `${fmtDateTime(n.at)} · ${n.author?.display_name || '—'}` }),
        n.status_to && h('p', { text: t('rv.act.moved', { from: t(`rv.status.${n.status_from}`), to: t(`rv.status.${n.status_to}`) }) }),
        n.body && h('p', { dir: 'auto', text: n.body })))))
      : h('p', { class: 'hint', text: t('rv.act.noNotes') }));
  };
  api.reviewer.action(a.id).then(show, (err) => mount(list, errorBox(err)));
  // A verified or cancelled action is closed: its history is read, nothing is added to it.
  const closed = FINAL.has(a.status);
  const form = h('div', { class: 'rv-form' }, h('p', { dir: 'auto', text: actionDescription(a) }), evidence, list, errors,
    closed ? h('p', { class: 'hint rv-closed', text: t('rv.act.closed') }) : fieldBox('note', t('rv.act.addNote'), area));
  const added = await dialog({
    title: t('rv.act.notesOf', { station: a.station.code }),
    body: form,
    actions: closed ? [{ label: t('close'), value: 'close', kind: 'primary' }]
      : [{ label: t('close'), value: 'close' }, { label: t('rv.act.addNote'), value: 'add', kind: 'primary' }],
    onSubmit: async (v) => {
      if (v !== 'add') return true;
      mount(errors);
      placeProblems(form, area.value.trim() ? [] : [{ field: 'note', message: t('rv.act.noteEmpty') }]);
      if (!area.value.trim()) return false;
      try { await api.reviewer.updateAction(a.id, { note: area.value.trim(), base_change_seq: seen.change_seq }); } catch (err) {
        // Changed meanwhile: the dialog shows it as it is now and keeps the note, to be added again.
        if (changedMeanwhile(err)) { changed = true; show(err.body.action); mount(errors, changedBox(err.body.action)); } else mount(errors, errorBox(err));
        return false;
      }
      await redraw();
      return true;
    },
  });
  if (added === 'add') refocus(a.id, '.rv-notes');
  // Closed without the note after a 409: the board still shows the action as it was.
  else if (changed) { await redraw(); refocus(a.id, '.rv-notes', seen.status); }
}

// A new corrective action. With `station` and `item` (from an inspection) those are fixed; from
// the board, any station in scope and optionally one of its checklist items. Resolves with the
// created action, or null when cancelled.
export async function actionDialog({ station, inspectionId, item }) {
  const list = station ? [station] : await stations().catch(() => []);
  const where = select('station', list.map((s) => [s.id, label(s)]), station?.id, { all: !station && t('rv.act.pickStation'), disabled: Boolean(station) });
  const which = h('select', { name: 'item' });
  // Item keys repeat across checklists (item_1 of one is not item_1 of another): the items are grouped
  // by checklist, and a choice is sent with its checklist's id.
  let picks = [];
  where.addEventListener('change', () => {
    const st = list.find((s) => s.id === where.value);
    const versions = st ? templatesFor(st) : [];
    picks = [];
    const groups = versions.map((v) => h('optgroup', { label: tx(v.definition.title) },
      v.definition.sections.flatMap((s) => s.items).map((it) => {
        picks.push({ template_id: v.template_id, key: it.key });
        return h('option', { value: String(picks.length - 1), text: tx(it.label) });
      })));
    mount(which, h('option', { value: '', text: t('rv.act.noItem') }), groups);
  });
  where.dispatchEvent(new Event('change'));
  const desc = h('textarea', { rows: 3, maxlength: 2000, value: item ? tx(item.label) : '' });
  const owner = h('input', { type: 'text', maxlength: 200, value: station ? t('rv.act.sho', { station: oneName(station.name) }) : '' });
  // Two weeks, as for the actions a critical failure opens by itself.
  const due = h('input', { type: 'date', value: inDays(14) });
  const errors = h('div', { role: 'alert' });
  // A problem is said at its field, the server's 422 too; anything else (offline, a 409) above them.
  const form = h('div', { class: 'rv-form' }, errors, fieldBox('station_id', t('rv.col.station'), where),
    !item && fieldBox('item_key', t('rv.act.item'), which), fieldBox('description', t('rv.act.description'), desc),
    fieldBox('owner_name', t('rv.act.ownerLabel'), owner), fieldBox('due_date', t('rv.act.dueLabel'), due));
  const picked = () => (which.value === '' ? null : picks[Number(which.value)]);
  let created = null;
  await dialog({
    title: item ? t('rv.act.newFor', { label: tx(item.label) }) : t('rv.act.new'),
    body: form,
    actions: [{ label: t('cancel'), value: null }, { label: t('rv.act.create'), value: 'create', kind: 'primary' }],
    onSubmit: async () => {
      mount(errors);
      const bad = [!where.value && { field: 'station_id', message: t('rv.act.pickStation') },
        !desc.value.trim() && { field: 'description', message: t('rv.act.needDescription') },
        !due.value && { field: 'due_date', message: t('rv.act.needDue') }].filter(Boolean);
      placeProblems(form, bad);
      if (bad.length) return false;
      try {
        created = await api.reviewer.createAction({ station_id: where.value, description: desc.value.trim(), due_date: due.value,
          owner_name: owner.value.trim(), inspection_id: inspectionId || null, item_key: item?.key || picked()?.key || null,
          template_id: item ? null : picked()?.template_id || null });
        return true;
      } catch (err) {
        const left = err?.status === 422 && err.errors?.length ? placeProblems(form, err.errors, sayServer) : [{ message: problem(err) }];
        if (left.length) mount(errors, fail(left.map((p) => (p.field ? `${p.field}: ${sayServer(p.message)}` : p.message))));
        return false;
      }
    },
  });
  return created;
}
