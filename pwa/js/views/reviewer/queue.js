// The review queue: submitted inspections in the reviewer's scope, the one waiting longest first,
// filtered by district and flag, a page at a time. A table on a laptop; on a phone the same rows
// stack into cards (CSS), each value beside its column's name.

import { api } from '../../api.js';
import { fmtDate, fmtDateTime, t, tx } from '../../i18n.js';
import { navigate } from '../../router.js';
import { button, h, icon } from '../../ui.js';
import {
  FLAG_NAMES, bilingual, districtName, districts, errorBox, flagList, gradePill, page, pct, row, select, table,
} from './common.js';

// When a row's inspection was done (made_at: its phone's finish, as its own page and the dashboards
// have it), and, when it reached the server more than a day later (a phone offline for days), the day
// it arrived: the queue is in order of arrival, and a late one would otherwise look done that day.
const DAY_MS = 24 * 60 * 60 * 1000;
function when(r) {
  const made = r.made_at || r.submitted_at;
  if (!made) return '—';
  const late = Boolean(r.submitted_at) && new Date(r.submitted_at) - new Date(made) > DAY_MS;
  // One child for the cell (a card's grid puts it beside the column's name), its lines stacked.
  return h('div', { class: 'rv-when' }, h('div', { text: t('rv.queue.done', { date: fmtDateTime(made) }) }),
    late && h('div', { class: 'hint rv-arrived', text: t('rv.queue.arrived', { date: fmtDate(r.submitted_at) }) }));
}

// The cursors of pages seen, per filter, so "Previous" needs nothing kept on the server.
const cursors = new Map();

export default async function queueView(params) {
  const district = params.district || '';
  const flag = params.flag || '';
  const seen = cursors.get(district + flag) || [null];
  cursors.set(district + flag, seen);
  // A page this tab has not seen yet (after a reload) starts again from the first.
  const n = Math.min(Math.max(1, Number(params.page) || 1), seen.length);
  const go = (changes) => {
    const q = new URLSearchParams(Object.entries({ district, flag, ...changes }).filter(([, v]) => v && v !== 1));
    navigate(`/review${q.size ? `?${q}` : ''}`);
  };
  const [list, res] = await Promise.all([
    districts().catch(() => []),
    api.reviewer.queue({ district_id: district, flag, after: seen[n - 1], limit: 25 }).catch((err) => ({ err })),
  ]);
  const filters = h('div', { class: 'rv-filters' },
    h('label', {}, t('rv.queue.district'), select('district', list.map((d) => [d.id, tx(districtName(d))]), district,
      { all: t('rv.queue.allDistricts'), onchange: (e) => go({ district: e.target.value, page: 1 }) })),
    h('label', {}, t('rv.queue.flag'), select('flag', FLAG_NAMES.map((f) => [f, t(`rv.flag.${f}`)]), flag,
      { all: t('rv.queue.anyFlag'), onchange: (e) => go({ flag: e.target.value, page: 1 }) })));
  if (res.err) return page('/review', t('rv.queue.title'), filters, errorBox(res.err));
  if (res.next && seen.length === n) seen.push(res.next);

  const heads = [[t('rv.col.station')], [t('rv.col.district')], [t('role.inspector')], [t('rv.col.when')],
    [t('review.score'), true], [t('rv.col.grade')], [t('rv.col.flags')]];
  const rows = res.rows.map((r) => row(heads, [
    h('a', { class: 'rv-rowlink', href: `#/review/i/${r.id}` }, bilingual(r.station.name), h('span', { class: 'rv-code', text: r.station.code })),
    bilingual(districtName(r.district)), r.inspector.display_name, when(r),
    pct(r.score_percent), gradePill(r.grade), flagList(r.flags),
  ], { dataset: { id: r.id, station: r.station.code } }));
  return page('/review', t('rv.queue.title'), h('p', { class: 'hint', text: t('rv.queue.lead') }), filters,
    rows.length ? table(heads, rows, 'rv-cards rv-queue')
      : h('p', { class: 'empty rv-queue', text: t(district || flag ? 'rv.queue.noneFiltered' : 'rv.queue.empty') }),
    (res.next || n > 1) && h('nav', { class: 'rv-buttons', 'aria-label': t('rv.pager') },
      n > 1 && button(t('rv.prev'), () => go({ page: n - 1 }), { iconName: 'back' }),
      h('span', { text: t('rv.pageN', { n }) }),
      res.next && h('button', { type: 'button', class: 'btn btn-secondary', onclick: () => go({ page: n + 1 }) }, t('rv.next'), icon('next'))));
}
