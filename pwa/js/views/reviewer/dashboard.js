// Dashboards: each district's average score over time, stations ranked with their change since the
// period before, the most-failed items, overdue inspections and actions, flagged inspections. Every
// chart has its table beside it (the accessible equivalent), and CSV / XLSX buttons save exactly
// that table; the inspections themselves are exported by the server.

import { api } from '../../api.js';
import { actionDescription, fmtDate, fmtDateTime, fmtMonth, fmtNumber, getLang, t, tx } from '../../i18n.js';
import { navigate } from '../../router.js';
import { displayPercent } from '../../scoring.js';
import { add, button, card, h, mount } from '../../ui.js';
import { barChart, lineChart } from './charts.js';
import {
  bilingual, busy, changeOf, changeText, districtName, districts, errorBox, flagList, inDays, oneName, page, pct, row,
  saveBlob, select, sincePassed, stations, table, tag,
} from './common.js';
import { csv, xlsx } from './files.js';

const today = () => inDays(0);
// How many overdue visits and actions, and flagged inspections at a time, the panels show.
const LATE = 200;
const FLAGGED = 50;
// Files carry the one decimal shown on screen, as numbers a spreadsheet can add up.
const num1 = (p) => (p === null ? null : Number(displayPercent(p)));
const groupName = (r) => oneName({ en: r.group_name, ur: r.name_ur });
// The charts measure their Urdu words to give them room, so in Urdu they are drawn once the app's Urdu
// font (cached with the app) has loaded, not with a fallback's widths; without it they are drawn anyway.
const urduFont = () => (getLang() === 'ur' && document.fonts
  ? document.fonts.load("12px 'Noto Nastaliq Urdu'", 'اردو').catch(() => null) : null);

// Every period from `from` to `to`, so the time axis shows the gaps too.
function periods(from, to, quarter) {
  const out = [];
  const step = quarter ? 3 : 1;
  let [y, m] = [Number(from.slice(0, 4)), Number(from.slice(5, 7)) - 1];
  m -= m % step;
  for (; y * 12 + m <= Number(to.slice(0, 4)) * 12 + Number(to.slice(5, 7)) - 1; m += step) {
    if (m > 11) { m -= 12; y += 1; }
    out.push(quarter ? `${y}-Q${m / 3 + 1}` : `${y}-${String(m + 1).padStart(2, '0')}`);
  }
  return out;
}

function periodLabel(p) {
  const [y, rest] = p.split('-');
  if (rest[0] === 'Q') return t('rv.dash.quarter', { q: fmtNumber(Number(rest[1])), y: fmtNumber(Number(y), { useGrouping: false }) });
  return fmtMonth(Number(y), Number(rest));
}

// cols: [label, numeric?, row => figure for the files, row => what the table shows (default: the figure)]
// A panel that shows only the first rows of a longer list says so (`cut`): `all` links to the screen
// that has every one, `more` fetches the next rows ({rows, more}) and draws the panel again with them.
// Its files hold the rows shown.
function panel(id, title, res, cols, chart, cut = {}) {
  const box = card({ class: 'rv-panel', id, 'aria-labelledby': `${id}-h` }, h('h2', { id: `${id}-h`, text: title }));
  if (res.err) return add(box, errorBox(res.err));
  if (!res.length) return add(box, h('p', { class: 'empty', text: t('rv.dash.empty') }));
  let tail = null;
  if (cut.all || cut.more) {
    const problemBox = h('div', { role: 'alert' });
    const more = cut.more && button(t('rv.dash.more'), (e) => busy(e.currentTarget, async () => {
      let next;
      try { next = await cut.more(); } catch (err) { mount(problemBox, errorBox(err)); return; }
      const again = panel(id, title, [...res, ...next.rows], cols, chart, { more: next.more });
      box.replaceWith(again);
      again.querySelectorAll('tbody tr')[res.length]?.querySelector('a, button')?.focus();
    }), { class: 'rv-more' });
    add(box, h('p', { class: 'hint rv-cut' }, t('rv.dash.firstOnly', { count: fmtNumber(res.length) }), ' ',
      cut.all ? h('a', { href: cut.all, text: t('rv.dash.seeAll') }) : null));
    tail = [problemBox, more];
  }
  const heads = cols.map(([label, num]) => [label, num]);
  const shown = (r) => cols.map(([, , value, show]) => (show ? show(r) : typeof value(r) === 'number' ? fmtNumber(value(r)) : value(r) ?? '—'));
  const save = (fmt) => (e) => busy(e.currentTarget, async () => {
    const data = [cols.map((c) => c[0]), ...res.map((r) => cols.map((c) => c[2](r)))];
    saveBlob((fmt === 'csv' ? csv : xlsx)(data, getLang() === 'ur'), `muaina-${id.slice(3)}-${today()}.${fmt}`);
  });
  // No scrolling box around the table: its column names stick below the top bar as the page scrolls
  // (reviewer.css), and the table is named for the panel it belongs to.
  const grid = table(heads, res.map((r) => row(heads, shown(r), { dataset: { key: r.code || r.item_key || r.id } })), 'rv-cards');
  grid.setAttribute('aria-label', t('rv.dash.tableOf', { title }));
  return add(box, h('div', { class: ['rv-panel-body', chart && 'with-chart'] }, chart, h('div', {}, grid, tail)),
  h('div', { class: 'rv-buttons' }, button(t('rv.dash.csv'), save('csv'), { iconName: 'note', class: 'rv-csv' }),
    button(t('rv.dash.xlsx'), save('xlsx'), { iconName: 'note', class: 'rv-xlsx' })));
}

const station = () => [t('rv.col.station'), false, (r) => `${r.station.code} ${oneName(r.station.name)}`, (r) => bilingual(r.station.name)];
const due = () => [t('rv.dash.due'), false, (r) => r.due_date, (r) => fmtDate(r.due_date)];
const change = () => [t('rv.dash.change'), false, (r) => r.change === null ? null : num1(r.change), (r) => changeText(r.change)];
const average = () => [t('rv.dash.average'), true, (r) => num1(r.avg_percent), (r) => pct(r.avg_percent)];

export default async function dashboardView(params) {
  const period = params.period === 'quarter' ? 'quarter' : 'month';
  const district = params.district || '';
  const get = (kind, query) => api.reviewer.dashboard(kind, { district_id: district, ...query }).catch((err) => ({ err }));
  const [dists, scores, ranks, failed, overdue, flagged] = await Promise.all([districts().catch(() => []),
    get('scores', { group_by: 'district', period }), get('rankings', { group_by: 'station', period, limit: 100 }),
    get('failed-items', { limit: 20 }), get('overdue', { limit: LATE }), get('flagged', { limit: FLAGGED }), urduFont()]);
  const go = (changes) => {
    const q = new URLSearchParams(Object.entries({ period, district, ...changes }).filter(([k, v]) => v && v !== 'month'));
    navigate(`/review/dashboard${q.size ? `?${q}` : ''}`);
  };
  const rows = (res, key = 'rows') => (res.err ? res : res[key]);
  const st = station();
  return page('/review/dashboard', t('rv.dash.title'),
    h('div', { class: 'rv-filters' },
      h('label', {}, t('rv.dash.period'), select('period', [['month', t('rv.dash.month')], ['quarter', t('rv.dash.quarterly')]], period,
        { onchange: (e) => go({ period: e.target.value }) })),
      h('label', {}, t('rv.col.district'), select('district', dists.map((d) => [d.id, tx(districtName(d))]), district,
        { all: t('rv.queue.allDistricts'), onchange: (e) => go({ district: e.target.value }) }))),
    h('p', { class: 'hint rv-counts', text: t('rv.dash.counts') }),
    exportForm(district),
    trend(scores, period),
    ranking(ranks),
    failedItems(failed),
    panel('rv-late-insp', t('rv.dash.overdueInspections'), rows(overdue, 'inspections'), [st,
      [t('start.template'), false, (r) => oneName(r.template.title)], overdueInspector(),
      due(), [t('rv.dash.daysOverdue'), true, (r) => r.days_overdue]], null,
    { all: overdue.inspections?.length >= LATE && '#/review/visits?show=overdue' }),
    panel('rv-late-act', t('rv.dash.overdueActions'), rows(overdue, 'actions'), [st,
      [t('rv.act.description'), false, (r) => actionDescription(r)], actionStatus(), due()], null,
    { all: overdue.actions?.length >= LATE && '#/review/actions?overdue=1' }),
    panel('rv-flagged', t('rv.dash.flagged'), rows(flagged), [
      [st[0], false, st[2], (r) => h('a', { href: `#/review/i/${r.id}` }, bilingual(r.station.name))],
      [t('role.inspector'), false, (r) => r.inspector.display_name],
      [t('rv.col.submitted'), false, (r) => r.submitted_at, (r) => fmtDateTime(r.submitted_at)],
      [t('review.score'), true, (r) => num1(r.score_percent), (r) => (r.score_overridden
        ? h('span', {}, pct(r.score_percent), ' ', tag('info', 'star', t('rv.overriddenShort'), { dataset: { mark: 'overridden' } }))
        : pct(r.score_percent))],
      [t('rv.act.status'), false, (r) => t(`rv.st.${r.status}`)],
      [t('rv.col.flags'), false, (r) => Object.keys(r.flags).filter((k) => r.flags[k]).join(' '), (r) => flagList(r.flags)]],
    null, { more: flagged.next && nextFlagged(get, flagged.next) }));
}

// The flagged inspections after `after`, a page at a time, for the panel's "Show more".
function nextFlagged(get, after) {
  return async () => {
    const res = await get('flagged', { limit: FLAGGED, after });
    if (res.err) throw res.err;
    return { rows: res.rows, more: res.next && nextFlagged(get, res.next) };
  };
}

// The inspections themselves, as the server exports them: the days, station, state and checklist
// chosen here (a checklist adds one column per question, and an Excel sheet of the answers), in the
// district the dashboard shows. Closed until opened: most visits to the dashboard are for its figures.
function exportForm(district) {
  const from = h('input', { type: 'date', name: 'from' });
  const to = h('input', { type: 'date', name: 'to' });
  const where = select('station_id', [], '', { all: t('rv.exp.allStations') });
  const status = select('status', ['submitted', 'returned', 'approved', 'draft'].map((s) => [s, t(`rv.st.${s}`)]), '',
    { all: t('rv.exp.anyStatus') });
  const which = select('template_id', [], '', { all: t('rv.exp.anyTemplate') });
  const problems = h('div', { role: 'alert' });
  const box = h('details', { class: 'card rv-export' }, h('summary', { text: t('rv.exp.title') }));
  // The lists are asked for when the form is first opened, not with every dashboard.
  box.addEventListener('toggle', () => {
    if (!box.open || box.dataset.loaded) return;
    box.dataset.loaded = '1';
    stations().then((list) => add(where, list.filter((x) => !district || x.district_id === district)
      .map((x) => h('option', { value: x.id, text: `${x.code} ${oneName(x.name)}` })))).catch(() => {});
    api.reviewer.templates().then((list) => add(which, list.filter((x) => x.latest_version !== null)
      .map((x) => h('option', { value: x.id, text: tx(x.title) })))).catch(() => {});
  });
  const save = (fmt) => (e) => busy(e.currentTarget, async () => {
    mount(problems);
    if (from.value && to.value && to.value < from.value) {
      mount(problems, h('p', { class: 'callout callout-fail', text: t('rv.exp.backwards') }));
      to.focus();
      return;
    }
    // A date as the server's `to` takes in the whole of that day, as the form's "to" means.
    const query = { district_id: district, station_id: where.value, status: status.value, template_id: which.value,
      from: from.value, to: to.value };
    try {
      saveBlob(await api.reviewer.exportInspections(fmt, Object.fromEntries(Object.entries(query).filter(([, v]) => v))),
        `inspections-${today()}.${fmt}`);
    } catch (err) { mount(problems, errorBox(err)); }
  });
  return add(box, h('div', { class: 'rv-filters' },
    h('label', {}, t('rv.exp.from'), from), h('label', {}, t('rv.exp.to'), to),
    h('label', {}, t('rv.col.station'), where), h('label', {}, t('rv.act.status'), status),
    h('label', {}, t('start.template'), which)),
  h('p', { class: 'hint', text: t('rv.exp.hint') }), problems,
  h('p', { class: 'rv-buttons' }, button(t('rv.dash.csv'), save('csv'), { iconName: 'note', class: 'rv-exp-csv' }),
    button(t('rv.dash.xlsx'), save('xlsx'), { iconName: 'note', class: 'rv-exp-xlsx' })));
}

// An overdue action whose item a reviewer's score change has since passed says so: it may need
// cancelling rather than chasing (the actions board explains).
function actionStatus() {
  const status = (r) => t(`rv.status.${r.status}`);
  return [t('rv.act.status'), false,
    (r) => { const since = sincePassed(r); return since ? `${status(r)} (${since.short})` : status(r); },
    (r) => { const since = sincePassed(r); return since ? h('span', {}, status(r), ' ', tag('warn', 'warn', since.short, { dataset: { mark: since.mark } })) : status(r); }];
}

// A late visit whose inspector can no longer make it (deactivated, another role, moved away) says so,
// in the table and in its download: it waits for someone to reassign it on the Visits screen.
function overdueInspector() {
  const needs = t('rv.vis.needs');
  return [t('role.inspector'), false,
    (r) => (r.needs_inspector ? `${r.inspector.display_name} (${needs})` : r.inspector.display_name),
    (r) => (r.needs_inspector
      ? h('span', {}, r.inspector.display_name, ' ', h('a', { href: '#/review/visits?show=needs' }, tag('fail', 'cross', needs)))
      : r.inspector.display_name)];
}

function trend(res, period) {
  const list = res.err ? res : res.rows.sort((a, b) => groupName(a).localeCompare(groupName(b)) || a.period.localeCompare(b.period));
  let chart = null;
  if (!res.err && list.length) {
    const xs = periods(res.from, res.to, period === 'quarter');
    const lines = new Map();
    for (const r of list) {
      if (!lines.has(r.group_id)) lines.set(r.group_id, { name: groupName(r), values: xs.map(() => null) });
      lines.get(r.group_id).values[xs.indexOf(r.period)] = r.avg_percent;
    }
    chart = lineChart(t('rv.dash.trend'), t('rv.dash.trendDesc', { count: lines.size, from: periodLabel(xs[0]), to: periodLabel(xs.at(-1)) }),
      xs.map(periodLabel), [...lines.values()]);
  }
  return panel('rv-trend', t('rv.dash.trend'), list, [[t('rv.col.district'), false, groupName],
    [t('rv.dash.periodCol'), false, (r) => r.period, (r) => periodLabel(r.period)], [t('rv.dash.inspections'), true, (r) => r.inspections],
    average(), [t('rv.dash.critical'), true, (r) => r.critical_failed], change()], chart);
}

function ranking(res) {
  // Beside a bar, a change as a sign and its size; none when the table says "no change" or has none.
  const signed = (c) => {
    const { way, points } = changeOf(c);
    return way === 'up' || way === 'down' ? ` (${way === 'up' ? '+' : '−'}${points})` : '';
  };
  const top = res.err ? [] : res.rows.slice(0, 20);
  const chart = top.length > 0 && barChart(t('rv.dash.ranking'),
    t('rv.dash.rankingDesc', { count: top.length, total: res.rows.length, period: periodLabel(res.current) }),
    top.map((r) => [groupName(r), r.avg_percent, `${pct(r.avg_percent)}${signed(r.change)}`]));
  return panel('rv-ranking', res.err ? t('rv.dash.ranking') : t('rv.dash.rankingOf', { period: periodLabel(res.current), previous: periodLabel(res.previous) }),
    res.err ? res : res.rows, [[t('rv.dash.rank'), true, (r) => r.rank],
      [t('rv.col.station'), false, (r) => `${r.code} ${groupName(r)}`, (r) => bilingual({ en: r.group_name, ur: r.name_ur })],
      average(), change(), [t('rv.dash.previousRank'), true, (r) => r.previous_rank, (r) => (r.previous_rank ? fmtNumber(r.previous_rank) : '—')],
      [t('rv.dash.inspections'), true, (r) => r.inspections]], chart);
}

function failedItems(res) {
  const top = res.err ? [] : res.rows.slice(0, 10);
  // An item given a new key in a later version is a row of its own under the same label: each such
  // row names its key too (small, beside the label; in the chart and the files in brackets).
  const seen = new Map();
  for (const r of res.err ? [] : res.rows) seen.set(tx(r.label), (seen.get(tx(r.label)) || 0) + 1);
  const shared = (r) => seen.get(tx(r.label)) > 1;
  const name = (r) => (shared(r) ? `${tx(r.label)} (${r.item_key})` : tx(r.label));
  const shown = (r) => (shared(r) ? h('span', {}, tx(r.label), ' ',
    h('small', { class: 'hint rv-item-key', dir: 'ltr', text: r.item_key })) : tx(r.label));
  const chart = top.length > 0 && barChart(t('rv.dash.failed'), t('rv.dash.failedDesc', { count: top.length }),
    top.map((r) => [name(r), r.rate * 100, pct(r.rate * 100)]));
  return panel('rv-failed', t('rv.dash.failed'), res.err ? res : res.rows, [[t('rv.ev.item'), false, name, shown],
    [t('rv.dash.failedCol'), true, (r) => r.failed], [t('rv.dash.answered'), true, (r) => r.answered],
    [t('rv.dash.rate'), true, (r) => num1(r.rate * 100), (r) => pct(r.rate * 100)]], chart);
}
