// Home: what needs the inspector first. Needs attention and returned inspections, drafts in
// progress with their progress, my assignments (overdue → due this week → later), then a
// search over every station in scope, rendered incrementally.

import { addDays, fmtBytes, fmtDate, fmtDateTime, fmtNumber, pakistanDay, t, tx } from '../../i18n.js';
import { PHOTOS, getAll } from '../../db.js';
import { progressOf } from '../../form.js';
import { allDrafts } from '../../inspection.js';
import { fitsStation, isOffered, latestVersion, station, state, templateOf, version } from '../../state.js';
import { h, icon, lazyList, mount, pill, progress } from '../../ui.js';
import { followOutbox, syncPill } from './common.js';

const DONE = new Set(['done', 'completed', 'submitted', 'cancelled', 'closed']);

// Due dates are days of Pakistan's calendar (YYYY-MM-DD), compared as text with today's there.
function dueGroup(due, today) {
  if (!due) return 'later';
  if (due < today) return 'overdue';
  if (due < addDays(today, 7)) return 'due';
  return 'later';
}

// Drafts by when they last changed, the latest first.
export const newestFirst = (a, b) => (b.updated_at || '').localeCompare(a.updated_at || '');

// A draft in a list: station, checklist, sync state, when last changed and, while editable, progress.
export function draftRow(d) {
  const st = station(d.station_id);
  const def = version(d.template_version_id)?.definition;
  const p = def ? progressOf(def, d.answers) : { done: 0, total: 0 };
  const href = d.status === 'draft' || d.status === 'returned' ? `#/i/${d.id}/s/0` : `#/i/${d.id}/review`;
  return h('li', { class: 'list-row', dataset: { id: d.id } },
    h('a', { href, class: 'row-link' },
      h('span', { class: 'strong', text: st ? tx(st.name) : t('home.unknownStation') }),
      h('span', { class: 'hint', text: def ? tx(def.title) : '' })),
    h('div', { class: 'row-meta' }, syncPill(d),
      h('span', { class: 'hint', text: t('home.updated', { when: fmtDateTime(d.updated_at) }) })),
    d.status === 'draft' || d.status === 'returned'
      ? [progress(p.done, p.total, t('fill.progress', { done: fmtNumber(p.done), total: fmtNumber(p.total) })),
        h('span', { class: 'hint', text: t('fill.progress', { done: fmtNumber(p.done), total: fmtNumber(p.total) }) })] : null);
}

// Whether the bundle on the phone may still list an assignment as open although this inspection of
// its station and checklist completed it: the server completes the open assignment of a station and
// checklist with any submission of them, so once the bundle was fetched after the acknowledgement,
// an open one there is a later assignment (a schedule's next visit), to be begun afresh.
const unknownToBundle = (d) => d.status === 'draft'
  || (d.status === 'submitted' && (!d.acked_at || !state.bundle.fetched_at || d.acked_at > state.bundle.fetched_at));

// The inspection on this phone that an assignment is being or was done by, in any state: one begun
// for it, or one of its station and checklist begun from the station list.
function workFor(a, drafts) {
  return drafts.find((d) => d.assignment_id === a.id)
    || drafts.find((d) => !d.assignment_id && d.station_id === a.station_id && templateOf(d) === a.template_id && unknownToBundle(d));
}

// An assignment's place in the list. Done on this phone (submitted, sent or waiting to send), its
// due date is no longer measured against today: it was met or not when the inspection was finished,
// by the day in Pakistan, however long the phone then stayed offline.
function groupOf(a, d, today) {
  if (d && d.status !== 'draft' && d.status !== 'returned') {
    return d.finished_at && a.due_date && pakistanDay(new Date(d.finished_at)) > a.due_date ? 'late' : 'met';
  }
  return dueGroup(a.due_date, today);
}

function assignmentRow(a, group, d) {
  const st = station(a.station_id);
  // The version a new inspection would start on; none offered (the template archived), or one for
  // other kinds of station (its newest version left this kind out), is said plainly.
  const ver = a.template_version_id ? version(a.template_version_id) : latestVersion(a.template_id, isOffered);
  const withdrawn = !isOffered(ver) || !fitsStation(ver, st);
  const title = (ver || latestVersion(a.template_id))?.definition.title;
  // Begun already (d, workFor): the row continues it, or shows it submitted; never a second inspection.
  const open = d && (d.status === 'draft' || d.status === 'returned');
  const dueLabel = a.due_date ? fmtDate(a.due_date) : '—';
  return h('li', { class: 'list-row', dataset: { assignment: a.id } },
    h('a', { class: 'row-link', href: open ? `#/i/${d.id}/s/0` : d ? `#/i/${d.id}/review` : `#/start/${a.station_id}?t=${a.template_id}&a=${a.id}` },
      h('span', { class: 'strong', text: st ? tx(st.name) : t('home.unknownStation') }),
      h('span', { class: 'hint', text: title ? tx(title) : '' })),
    group === 'overdue' ? pill('fail', t('home.overdueOn', { date: dueLabel }))
      // Submitted after its due date: one pill says both (a second "Submitted" beside it would repeat it).
      : group === 'late' ? pill('warn', t('home.submittedLate', { date: dueLabel }), { class: 'late submitted' })
        : group === 'due' ? pill('warn', t('home.dueOn', { date: dueLabel }))
          : pill('info', t('home.dueOn', { date: dueLabel })),
    open ? pill('pending', t('home.inProgress')) : d && group !== 'late' ? pill('ok', t('home.submitted'), { class: 'submitted' }) : null,
    withdrawn && !d ? pill('warn', t('home.withdrawn'), { class: 'withdrawn' }) : null);
}

function section(id, title, rows) {
  if (!rows.length) return null;
  return h('section', { class: 'home-section', 'aria-labelledby': id },
    h('h2', { id, text: title }), h('ul', { class: 'list' }, rows));
}

// Room left on the phone for what it keeps offline. Below LOW_SPACE the inspector is told how many
// more photos fit, at the size this phone's photos have (1 MB when it holds none), before a refused
// photo is the first they hear of it; and to connect, since a photo sent frees its space.
const LOW_SPACE = 200 * 1024 * 1024;

async function spaceCallout() {
  const est = await navigator.storage?.estimate?.().catch(() => null);
  if (!est?.quota) return null;
  const free = Math.max(0, est.quota - (est.usage || 0));
  if (free >= LOW_SPACE) return null;
  const sizes = (await getAll(PHOTOS).catch(() => [])).map((p) => p.blob?.size || 0).filter(Boolean);
  const each = sizes.length ? sizes.reduce((a, b) => a + b, 0) / sizes.length : 1024 * 1024;
  return h('div', { class: 'callout callout-warn', id: 'low-space', role: 'note' }, icon('warn'), h('div', {},
    h('p', { class: 'strong', text: t('space.low', { free: fmtBytes(free) }) }),
    h('p', { text: t('space.room', { count: Math.floor(free / each) }) }),
    h('a', { href: '#/settings', text: t('storage.title') })));
}

// Home follows the outbox while it is shown (as the Sync screen does): an inspection leaves "Waiting to
// send" when its last photo is acknowledged, not when the inspector next leaves and comes back. Only
// the parts about this phone's work are drawn again; the station search, drawn once, keeps what is
// typed in it, its focus and its place.
export async function homeView() {
  const search = h('input', { type: 'search', id: 'station-search', autocomplete: 'off', 'aria-label': t('home.searchLabel'), placeholder: t('home.searchPlaceholder') });
  const results = h('ul', { class: 'list', id: 'station-list' });
  const stations = Object.values(state.bundle.stations).filter((s) => !s.retired).sort((a, b) => tx(a.name).localeCompare(tx(b.name)));
  let stop = () => {};
  const filter = () => {
    const q = search.value.trim().toLowerCase();
    const hits = q ? stations.filter((s) => [s.code, s.name?.en, s.name?.ur].some((x) => x && x.toLowerCase().includes(q))) : stations;
    stop();
    stop = lazyList(results, hits, (s) => h('li', { class: 'list-row' },
      h('a', { class: 'row-link', href: `#/start/${s.id}` },
        h('span', { class: 'strong', text: tx(s.name) }), h('span', { class: 'hint', text: s.code || '' }))));
    count.textContent = t('home.stationCount', { count: hits.length });
  };
  const count = h('p', { class: 'hint', 'aria-live': 'polite' });
  search.addEventListener('input', filter);
  filter();

  const above = h('div', { class: 'home-work' });
  const below = h('div', { class: 'home-sent' });
  const node = h('div', { class: 'page home' }, above,
    h('section', { class: 'home-section', 'aria-labelledby': 'h-stations' },
      h('h2', { id: 'h-stations', text: t('home.stations') }),
      h('div', { class: 'search' }, icon('search'), search), count, results),
    below);
  const off = await followOutbox(node, workParts, (parts) => {
    mount(above, ...parts.above);
    mount(below, ...parts.below);
  });
  return { node, dispose: () => { off(); stop(); } };
}

async function workParts() {
  const drafts = (await allDrafts()).sort(newestFirst);
  const attention = drafts.filter((d) => d.sync === 'attention');
  const returned = drafts.filter((d) => d.status === 'returned' && d.sync !== 'attention');
  const inProgress = drafts.filter((d) => d.status === 'draft' && d.sync !== 'attention');
  const waiting = drafts.filter((d) => d.status === 'submitted' && (d.sync === 'queued' || d.sync === 'sending'));
  const sent = drafts.filter((d) => d.sync === 'on_server' && d.status !== 'returned').slice(0, 10);

  const today = pakistanDay();
  const order = { overdue: 0, due: 1, later: 2, met: 2, late: 2 };
  const assignments = Object.values(state.bundle.assignments)
    .filter((a) => !DONE.has(a.status) && (!a.inspector_id || a.inspector_id === state.user.id))
    .map((a) => { const d = workFor(a, drafts); return { a, d, g: groupOf(a, d, today) }; })
    .sort((x, y) => order[x.g] - order[y.g] || (x.a.due_date || '9').localeCompare(y.a.due_date || '9'));

  const nothing = !drafts.length && !assignments.length;
  return {
    above: [
      h('h1', { class: 'visually-hidden', text: t('home.title') }),
      h('p', { class: 'greeting', text: t('home.hello', { name: state.user.display_name }) }),
      !state.bundle.fetched_at ? h('div', { class: 'callout callout-warn' }, icon('warn'), h('p', { text: t('home.noBundle') })) : null,
      await spaceCallout(),
      section('h-attention', t('home.attention'), attention.map(draftRow)),
      section('h-returned', t('home.returned'), returned.map(draftRow)),
      section('h-progress', t('home.drafts'), inProgress.map(draftRow)),
      section('h-waiting', t('home.waiting'), waiting.map(draftRow)),
      section('h-assign', t('home.assignments'), assignments.map(({ a, d, g }) => assignmentRow(a, g, d))),
      nothing ? h('p', { class: 'empty', text: t('home.nothing') }) : null,
    ],
    below: [section('h-sent', t('home.sent'), sent.map(draftRow))],
  };
}
