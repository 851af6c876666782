// Visits: who inspects which station with which checklist, by when. Open visits in scope, overdue
// first, then those due within two weeks, then later ones; a visit whose inspector can no longer
// make it (deactivated, given another role, moved away) is marked and can be filtered for, and so is
// one held back by its station (deactivated) or its checklist (archived): it waits, off the phones,
// and can only be cancelled. Visits done lately are listed too, saying who did the inspection when a
// colleague's inspection of the station completed a visit given to someone else. An
// officer assigns a new visit (once, or repeating through a schedule) or plans repeating visits for
// many stations of a district at once (plan.js), reassigns or reschedules
// one, cancels one, and gives a repeating visit another inspector or stops it. The server's problems
// appear at their field.
//
// Choosing an inspector: GET /users gives an admin every inspector, and a reviewer the inspectors
// who can serve a station in their area. The server judges the choice for the station either way.

import { api } from '../../api.js';
import { fmtDate, problemText, sayKnown, t, tx } from '../../i18n.js';
import { navigate, render } from '../../router.js';
import { planDialog } from './plan.js';
import { state } from '../../state.js';
import { button, dialog, h, icon, mount, toast } from '../../ui.js';
import {
  bilingual, busy, endDialog, errorBox, fieldBox, inDays, oneName, page, placeProblems, row, select, stations, table,
  tag, what,
} from './common.js';

const LIMIT = 500;
const SOON_DAYS = 14;
const FREQUENCIES = ['monthly', 'quarterly', 'half_yearly'];
const SHOWS = ['overdue', 'needs', 'held', 'done'];
const DONE_DAYS = 30;

// The server says its problems in English (server/assignments/rules.py); these are said in the user's words.
const MESSAGES = [
  [/^no station with this id is in your area$/, 'rv.msg.stationMissing'],
  [/^the station is deactivated$/, 'rv.msg.stationOff'],
  [/^no user has this id$/, 'rv.msg.noUser'],
  [/^this user is not an inspector$/, 'rv.msg.notInspector'],
  [/^this inspector's account is deactivated$/, 'rv.msg.inspectorOff'],
  [/^the station is outside this inspector's districts and regions$/, 'rv.msg.outside'],
  [/^no template has this id$/, 'rv.msg.noTemplate'],
  [/^the template is archived$/, 'rv.msg.archived'],
  [/^the template has no published version yet$/, 'rv.msg.unpublished'],
  [/^the template is for (.+), and this station is a (.+)$/, 'rv.msg.wrongKind'],
  [/^must be between (\S+) and (\S+)$/, 'rv.msg.between'],
  [/^the assignment is done: /, 'rv.msg.done'],
  [/^this station already has an active schedule for this template; change or stop that one$/, 'rv.msg.scheduled'],
  [/^this template is already scheduled at this station$/, 'rv.msg.scheduled'],
  [/^the assignment is cancelled; /, 'rv.msg.cancelled'],
  [/^the schedule is stopped$/, 'rv.msg.stopped'],
  [/^(assignment|schedule) not found$/, 'rv.msg.notFound'],
];
const dates = (x) => (x.includes('-') ? fmtDate(x) : x);
const say = (message) => sayKnown(MESSAGES, message, dates);
// A refusal (a 409, offline) in the reviewer's words: this screen's messages first, then by status.
export const refusal = (err) => problemText(err, {
  messages: MESSAGES, fill: dates, keys: { offline: 'rv.offline', notFound: 'rv.msg.notFound', forbidden: 'error.forbidden' },
});

const stationLabel = (s) => `${s.code} · ${oneName(s.name)}`;

// 0 overdue, 1 due within two weeks, 2 later: the order the officer works in.
function bucket(a) {
  if (a.overdue) return 0;
  return a.due_date <= inDays(SOON_DAYS) ? 1 : 2;
}

function duePill(a) {
  const b = bucket(a);
  return h('span', { class: 'rv-due' }, h('span', { text: fmtDate(a.due_date) }),
    b === 0 ? tag('fail', 'alert', t('rv.vis.overdue'), { dataset: { due: 'overdue' } })
      : b === 1 ? tag('warn', 'warn', t('rv.vis.dueSoon'), { dataset: { due: 'soon' } })
        : tag('info', null, t('rv.vis.later'), { dataset: { due: 'later' } }));
}

const needsPill = () => tag('fail', 'cross', t('rv.vis.needs'), { dataset: { needs: '1' } });
// Why a visit waits whoever makes it: its station is deactivated, or its checklist archived.
const heldPill = (reason) => h('span', { class: 'rv-held' }, tag('warn', 'alert', t(`rv.vis.held.${reason}`), { dataset: { held: reason } }),
  h('span', { class: 'hint', text: t(`rv.vis.heldWhy.${reason}`) }));
// A done visit says who made its inspection when that is not the inspector it was given to.
const doneBy = (a) => a.status === 'done' && a.done_by_id && a.done_by_id !== a.inspector_id
  && h('span', { class: 'hint rv-done-by', text: t('rv.vis.doneBy', { name: a.done_by_name }) });

// After a redraw, focus returns to the row the officer acted on (or the button that opened the form).
const refocus = (kind, id) => (document.querySelector(`.rv-${kind}[data-id="${id}"] .rv-change`) || document.getElementById('rv-new-visit'))?.focus();
// After a row is cancelled or stopped it is gone: focus goes to the row now in its place.
const refocusAt = (kind, index) => {
  const rows = document.querySelectorAll(`.rv-${kind}`);
  (rows[Math.min(index, rows.length - 1)]?.querySelector('.rv-change') || document.getElementById('rv-new-visit'))?.focus();
};

export default async function visitsView(params) {
  const show = SHOWS.includes(params.show) ? params.show : '';
  const [res, stranded, plans] = await Promise.all([
    (show === 'done'
      ? api.reviewer.assignments({ status: 'done', limit: LIMIT, due_from: inDays(-DONE_DAYS) })
      : api.reviewer.assignments({
        status: 'open', limit: LIMIT, overdue: show === 'overdue' || undefined,
        needs_inspector: show === 'needs' || undefined, held_back: show === 'held' || undefined,
      })).catch((err) => ({ err })),
    show ? [] : api.reviewer.assignments({ status: 'open', needs_inspector: true, limit: LIMIT }).catch(() => []),
    show === 'overdue' || show === 'done' ? []
      : api.reviewer.schedules({ active: true, needs_inspector: show === 'needs' || undefined, held_back: show === 'held' || undefined })
        .catch((err) => ({ err })),
  ]);
  const ctx = context();
  const names = show === 'overdue' || show === 'done' ? null : await Promise.all([ctx.stations(), ctx.templates()]);
  const go = (value) => navigate(`/review/visits${value ? `?show=${value}` : ''}`);
  const tools = h('div', { class: 'rv-filters' },
    h('label', {}, t('rv.vis.show'), select('show', [['', t('rv.vis.all')], ['overdue', t('rv.vis.onlyOverdue')], ['needs', t('rv.vis.onlyNeeds')],
      ['held', t('rv.vis.onlyHeld')], ['done', t('rv.vis.onlyDone')]], show,
      { id: 'rv-show', onchange: (e) => go(e.target.value) })),
    button(t('rv.vis.new'), async () => {
      const made = await assignDialog(ctx);
      if (made) { await render(); refocus(made.kind, made.id); }
    }, { kind: 'primary', iconName: 'pin', id: 'rv-new-visit' }),
    // One repeating visit for each of many stations of a district (plan.js).
    button(t('rv.plan.open'), async () => {
      const made = await planDialog(ctx, say);
      if (!made) return;
      await render();
      toast(t('rv.plan.made', { count: made.counts.created }) + (made.counts.skipped ? ` ${t('rv.plan.willSkip', { count: made.counts.skipped })}` : ''));
      document.getElementById('rv-plan-many')?.focus();
    }, { iconName: 'pin', id: 'rv-plan-many' }));
  const alert = stranded.length > 0 && h('div', { class: 'callout callout-warn rv-stranded', role: 'status' }, icon('alert'),
    h('p', {}, t('rv.vis.countNeeds', { count: stranded.length }), ' ', h('a', { href: '#/review/visits?show=needs', text: t('rv.vis.showNeeds') })));
  const lead = show === 'done' ? t('rv.vis.leadDone', { days: DONE_DAYS }) : t('rv.vis.lead');
  return page('/review/visits', t('rv.vis.title'), h('p', { class: 'hint', text: lead }), tools, alert,
    res.err ? errorBox(res.err) : visitTable(res, show, ctx),
    names && (plans.err ? errorBox(plans.err) : scheduleTable(plans, ctx, ...names, res.err ? [] : res)));
}

function visitTable(list, show, ctx) {
  const done = show === 'done';
  const heads = [[t('rv.col.station')], [t('rv.vis.col.template')], [t('role.inspector')], [t('rv.vis.col.due')], ...(done ? [] : [[t('rv.vis.col.change')]])];
  const sorted = done ? [...list].sort((a, b) => b.due_date.localeCompare(a.due_date) || a.station_code.localeCompare(b.station_code))
    : [...list].sort((a, b) => bucket(a) - bucket(b) || a.due_date.localeCompare(b.due_date) || a.station_code.localeCompare(b.station_code));
  const rows = sorted.map((a, i) => row(heads, [
    h('span', {}, bilingual(a.station_name), h('span', { class: 'rv-code', text: a.station_code })),
    tx(a.template_title),
    h('span', { class: 'rv-who' }, h('span', { text: a.inspector_name }), a.needs_inspector && needsPill(), doneBy(a)),
    done ? h('span', { class: 'rv-due' }, h('span', { text: fmtDate(a.due_date) }), tag('ok', 'check', t('rv.vis.done'), { dataset: { due: 'done' } }))
      : h('span', {}, duePill(a), a.held_back && heldPill(a.held_back)),
    !done && h('div', { class: 'rv-row-actions' },
      // A held-back visit can only be cancelled: the server refuses a new date or inspector for it.
      !a.held_back && button(t('rv.vis.change'), async () => {
        if (await changeDialog(a, ctx)) { await render(); refocus('visit', a.id); }
      }, { class: 'rv-change', iconName: 'sync' }),
      button(t('rv.vis.cancel'), (e) => busy(e.currentTarget, async () => {
        const { done, refused } = await cancelDialog(a);
        if (done || refused) { await render(); refocusAt('visit', i); }
        if (done) toast(t('rv.vis.cancelled', { station: a.station_code }));
      }), { kind: 'danger', class: 'rv-cancel', iconName: 'cross' })),
  ].filter((cell) => cell !== false), { class: ['rv-visit', a.overdue && 'is-overdue', a.needs_inspector && 'needs-inspector', a.held_back && 'is-held'], dataset: { id: a.id, station: a.station_code } }));
  return h('section', { class: 'rv-visits', 'aria-labelledby': 'rv-visits-h' },
    h('h2', { id: 'rv-visits-h', text: t(done ? 'rv.vis.headingDone' : 'rv.vis.heading', { count: list.length }) }),
    list.length >= LIMIT && h('p', { class: 'hint', text: t('rv.vis.limited', { count: LIMIT }) }),
    rows.length ? table(heads, rows, 'rv-cards rv-visit-table') : h('p', { class: 'empty', text: t(show ? 'rv.vis.noneFiltered' : 'rv.vis.none') }));
}

function scheduleTable(list, ctx, stationList, templates, visits) {
  const stationOf = new Map(stationList.map((s) => [s.id, s]));
  const titleOf = (c) => tx(templates.find((x) => x.id === c.template_id)?.title) || c.template_key;
  const heads = [[t('rv.col.station')], [t('rv.vis.col.template')], [t('role.inspector')], [t('rv.sch.freq')], [t('rv.sch.next')], [t('rv.vis.col.change')]];
  const rows = list.map((c, i) => row(heads, [
    h('span', {}, stationOf.has(c.station_id) && bilingual(stationOf.get(c.station_id).name), h('span', { class: 'rv-code', text: c.station_code })),
    titleOf(c),
    h('span', { class: 'rv-who' }, h('span', { text: c.inspector_name }), c.needs_inspector && needsPill(),
      c.needs_inspector && h('span', { class: 'hint', text: t('rv.sch.held') }),
      c.held_back && h('span', { class: 'rv-held' }, tag('warn', 'alert', t(`rv.vis.held.${c.held_back}`), { dataset: { held: c.held_back } }),
        h('span', { class: 'hint', text: t(`rv.sch.heldBack.${c.held_back}`) }))),
    t(`rv.freq.${c.frequency}`),
    fmtDate(c.next_due),
    h('div', { class: 'rv-row-actions' },
      button(t('rv.sch.change'), async () => {
        if (await scheduleDialog(c, ctx, titleOf(c))) { await render(); refocus('schedule', c.id); }
      }, { class: 'rv-change', iconName: 'sync' }),
      button(t('rv.sch.stop'), (e) => busy(e.currentTarget, async () => {
        const { done, refused } = await stopDialog(c, titleOf(c), visits.find((a) => a.id === c.open_assignment_id));
        if (done || refused) { await render(); refocusAt('schedule', i); }
        if (done) toast(t('rv.sch.stopped', { station: c.station_code }));
      }), { kind: 'danger', class: 'rv-stop', iconName: 'cross' })),
  ], { class: ['rv-schedule', c.needs_inspector && 'needs-inspector'], dataset: { id: c.id, station: c.station_code } }));
  return h('section', { class: 'rv-schedules', 'aria-labelledby': 'rv-sch-h' },
    h('h2', { id: 'rv-sch-h', text: t('rv.sch.title') }),
    h('p', { class: 'hint', text: `${t('rv.sch.heading', { count: list.length })} · ${t('rv.sch.lead')}` }),
    rows.length ? table(heads, rows, 'rv-cards rv-schedule-table') : h('p', { class: 'empty', text: t('rv.sch.none') }));
}

// What the forms need, asked for once per drawing of the screen and only when a form opens.
function context() {
  const memo = (fn) => { let p; return () => (p ||= fn()); };
  const ctx = {
    stations: memo(() => stations().catch(() => [])),
    templates: memo(() => api.reviewer.templates({ archived: false })
      .then((list) => list.filter((x) => x.latest_version !== null)).catch(() => [])),
    inspectors: memo(async () => (await api.reviewer.inspectors())
      .map((u) => ({ id: u.id, name: u.display_name })).sort((a, b) => a.name.localeCompare(b.name))),
  };
  return ctx;
}

// The inspector <select>: the candidates, and the current inspector even when they are not one
// (marked when they can no longer make the visit), so the form opens showing what is so.
function inspectorSelect(people, current) {
  const options = people.map((p) => [p.id, p.name]);
  if (current && !people.some((p) => p.id === current.id)) {
    options.unshift([current.id, current.stranded ? t('rv.vis.cannotServe', { name: current.name }) : current.name]);
  } else if (current?.stranded) {
    const i = options.findIndex(([id]) => id === current.id);
    options[i] = [current.id, t('rv.vis.cannotServe', { name: current.name })];
  }
  return select('inspector_id', options, current?.id || '', { all: !current && t('rv.vis.pickInspector') });
}

const inspectorHint = () => (state.user?.role === 'admin' ? undefined : t('rv.vis.inspectorHint'));

// A 422 goes beside its fields; anything else (a 409, offline) above the form.
function showFailure(form, host, err, rename = {}) {
  const problems = err?.status === 422 && err.errors?.length
    ? err.errors.map((e) => ({ ...e, field: rename[e.field] || e.field })) : [{ field: '', message: refusal(err) }];
  const left = placeProblems(form, problems, say);
  mount(host, left.length ? h('div', { class: 'callout callout-fail', role: 'alert' }, icon('alert'),
    h('ul', {}, left.map((p) => h('li', { text: say(p.message) })))) : null);
}

async function assignDialog(ctx) {
  const [list, templates, people] = await Promise.all([ctx.stations(), ctx.templates(), ctx.inspectors().catch(() => [])]);
  const where = select('station_id', list.map((s) => [s.id, stationLabel(s)]), '', { all: t('rv.vis.pickStation') });
  const which = h('select', { name: 'template_id' });
  // Only the checklists made for the chosen station's kind are offered.
  const fill = () => {
    const kind = list.find((s) => s.id === where.value)?.kind || 'police_station';
    const keep = which.value;
    const fits = templates.filter((x) => !x.kinds || x.kinds.includes(kind));
    mount(which, h('option', { value: '', text: t('rv.vis.pickTemplate') }),
      fits.map((x) => h('option', { value: x.id, text: tx(x.title), selected: x.id === keep || fits.length === 1 })));
  };
  where.addEventListener('change', fill);
  fill();
  const who = inspectorSelect(people, null);
  const due = h('input', { type: 'date', name: 'due_date', value: inDays(SOON_DAYS) });
  const repeat = select('frequency', [['', t('rv.vis.once')], ...FREQUENCIES.map((f) => [f, t(`rv.freq.${f}`)])], '');
  const host = h('div');
  const form = h('div', { class: 'rv-form' }, host,
    fieldBox('station_id', t('rv.col.station'), where), fieldBox('template_id', t('rv.vis.col.template'), which),
    fieldBox('inspector_id', t('role.inspector'), who, { hint: inspectorHint() }), fieldBox('due_date', t('rv.vis.due'), due),
    fieldBox('frequency', t('rv.vis.repeat'), repeat, { hint: t('rv.vis.repeatHint') }));
  let made = null;
  let existing = null;
  await dialog({
    title: t('rv.vis.new'),
    body: form,
    actions: [{ label: t('cancel'), value: null }, { label: t('rv.vis.assign'), value: 'assign', kind: 'primary' }],
    onSubmit: async (value, dlg) => {
      if (value !== 'assign') return true;
      const missing = [[where, 'rv.vis.pickStation'], [which, 'rv.vis.pickTemplate'], [who, 'rv.vis.pickInspector'], [due, 'rv.vis.needDue']]
        .filter(([el]) => !el.value).map(([el, key]) => ({ field: el.name, message: t(key) }));
      if (missing.length) { placeProblems(form, missing); mount(host); return false; }
      const body = { station_id: where.value, template_id: which.value, inspector_id: who.value };
      try {
        made = repeat.value
          ? { kind: 'schedule', ...(await api.reviewer.createSchedule({ ...body, frequency: repeat.value, next_due: due.value })) }
          : { kind: 'visit', ...(await api.reviewer.createAssignment({ ...body, due_date: due.value })) };
        return true;
      } catch (err) {
        if (err.status === 409 && err.body?.assignment_id) {
          placeProblems(form, []);
          mount(host, h('div', { class: 'callout callout-fail', role: 'alert' }, icon('alert'), h('div', {},
            h('p', { text: t('rv.vis.exists') }),
            button(t('rv.vis.openExisting'), () => { existing = err.body.assignment_id; dlg.dispatchEvent(new Event('cancel')); }, { id: 'rv-open-existing' }))));
          host.querySelector('button').focus();
        } else {
          showFailure(form, host, err, { next_due: 'due_date' });
        }
        return false;
      }
    },
  });
  if (existing) {
    const a = await api.reviewer.assignment(existing).catch(() => null);
    if (a && await changeDialog(a, ctx)) return { kind: 'visit', id: a.id };
  }
  return made;
}

// Reassign (inspector) and reschedule (due date) one open visit; only what changed is sent.
async function changeDialog(a, ctx) {
  const people = await ctx.inspectors().catch(() => []);
  const who = inspectorSelect(people, { id: a.inspector_id, name: a.inspector_name, stranded: a.needs_inspector });
  const due = h('input', { type: 'date', name: 'due_date', value: a.due_date });
  const host = h('div');
  const form = h('div', { class: 'rv-form' }, host,
    h('p', {}, bilingual(a.station_name), h('span', { class: 'rv-code', text: `${a.station_code} · ${tx(a.template_title)}` })),
    a.needs_inspector && h('p', {}, needsPill()),
    fieldBox('inspector_id', t('role.inspector'), who, { hint: inspectorHint() }), fieldBox('due_date', t('rv.vis.due'), due));
  const saved = await dialog({
    title: t('rv.vis.changeTitle', { station: a.station_code }),
    body: form,
    actions: [{ label: t('cancel'), value: null }, { label: t('rv.vis.saveChange'), value: 'save', kind: 'primary' }],
    onSubmit: async (value) => {
      if (value !== 'save') return true;
      if (!due.value) { placeProblems(form, [{ field: 'due_date', message: t('rv.vis.needDue') }]); return false; }
      const changes = Object.fromEntries([['inspector_id', who.value], ['due_date', due.value]]
        .filter(([k, v]) => v && v !== a[k]));
      if (!Object.keys(changes).length) return true;
      try { await api.reviewer.updateAssignment(a.id, changes); return true; } catch (err) { showFailure(form, host, err); return false; }
    },
  });
  return saved === 'save';
}

// A repeating visit's inspector; its open visit follows on the server.
async function scheduleDialog(c, ctx, title) {
  const people = await ctx.inspectors().catch(() => []);
  const who = inspectorSelect(people, { id: c.inspector_id, name: c.inspector_name, stranded: c.needs_inspector });
  const host = h('div');
  const form = h('div', { class: 'rv-form' }, host,
    h('p', { class: 'strong', text: `${c.station_code} · ${title} · ${t(`rv.freq.${c.frequency}`)}` }),
    fieldBox('inspector_id', t('role.inspector'), who, { hint: [inspectorHint(), t('rv.sch.changeHint')].filter(Boolean).join(' ') }));
  const saved = await dialog({
    title: t('rv.sch.changeTitle', { station: c.station_code }),
    body: form,
    actions: [{ label: t('cancel'), value: null }, { label: t('rv.vis.saveChange'), value: 'save', kind: 'primary' }],
    onSubmit: async (value) => {
      if (value !== 'save' || who.value === c.inspector_id) return true;
      try { await api.reviewer.updateSchedule(c.id, { inspector_id: who.value }); return true; } catch (err) { showFailure(form, host, err); return false; }
    },
  });
  return saved === 'save';
}

const meta = (...pairs) => h('dl', { class: 'rv-meta' }, pairs.map(([k, v]) => h('div', {}, h('dt', { text: k }), h('dd', {}, v))));

// A visit from a repeating visit is cancelled alone: the server makes the next one (once the
// repeating visit has an inspector who can make it), so the dialog says so and points to stopping.
async function cancelDialog(a) {
  const plan = a.schedule_id && await api.reviewer.schedule(a.schedule_id).catch(() => null);
  const then = a.schedule_id ? [
    plan && t('rv.vis.cancelPart', { freq: t(`rv.freq.${plan.frequency}`) }),
    t(plan?.held_back ? `rv.vis.cancelNextWaits.${plan.held_back}` : plan?.needs_inspector ? 'rv.vis.cancelNextHeld' : 'rv.vis.cancelNext'),
    t('rv.vis.cancelStopHint'),
  ] : [t('rv.vis.cancelOnce')];
  return endDialog({
    fail: showFailure,
    title: t('rv.vis.cancelTitle', { station: a.station_code }),
    body: [
      h('p', {}, bilingual(a.station_name), h('span', { class: 'rv-code', text: `${a.station_code} · ${tx(a.template_title)}` })),
      meta([t('role.inspector'), a.inspector_name], [t('rv.vis.col.due'), duePill(a)]),
      what(t('rv.vis.cancelWhat', { name: a.inspector_name }), then.filter(Boolean).join(' ')),
    ],
    keep: t('rv.vis.cancelKeep'),
    confirm: t('rv.vis.cancel'),
    working: t('rv.vis.cancelling'),
    send: () => api.reviewer.updateAssignment(a.id, { status: 'cancelled' }),
  });
}

// Stopping a repeating visit also cancels its open visit (`open`, when this screen lists it) and
// is final: a stopped one is not restarted.
function stopDialog(c, title, open) {
  return endDialog({
    fail: showFailure,
    title: t('rv.sch.stopTitle', { station: c.station_code }),
    body: [
      h('p', { class: 'strong', text: `${c.station_code} · ${title} · ${t(`rv.freq.${c.frequency}`)}` }),
      meta([t('role.inspector'), c.inspector_name], [t('rv.sch.next'), fmtDate(c.next_due)]),
      what([t('rv.sch.stopNoMore'),
        c.open_assignment_id && (open ? t('rv.sch.stopOpen', { date: fmtDate(open.due_date) }) : t('rv.sch.stopOpenAny'))]
        .filter(Boolean).join(' '), t('rv.sch.stopFinal')),
    ],
    keep: t('rv.sch.stopKeep'),
    confirm: t('rv.sch.stop'),
    working: t('rv.sch.stopping'),
    send: () => api.reviewer.updateSchedule(c.id, { active: false }),
  });
}
