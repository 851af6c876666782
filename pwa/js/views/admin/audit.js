// The audit trail: the hash chain's verification first and prominently (intact, or the first
// altered entry), then the log filtered by action, entity and actor, newest first, paged by
// `before`. The filters live in the address (#/admin/audit?actor_id=…) so a view can be linked.

import { api } from '../../api.js';
import { dictionaries, fmtDateTime, fmtNumber, getLang, t } from '../../i18n.js';
import { navigate } from '../../router.js';
import { h, icon, mount, pill } from '../../ui.js';
import {
  adminPage, busy, fieldBox, input, loadingFailed, searchBox, select, styles, turns,
} from './common.js';

// Entries per page; `?limit=` in the address changes it (within what the server allows).
const PAGE = 50;
// A full check older than this is said to be: `muaina verify-audit` run nightly keeps it fresh.
const FULL_CHECK_DAYS = 2;
const ENTITIES = ['user', 'template', 'region', 'district', 'circle', 'station', 'assignment', 'schedule', 'inspection',
  'photo', 'review', 'action', 'export', 'demo'];
export const ACTIONS = ['auth.login', 'auth.login_failed', 'auth.login_throttled', 'auth.logout', 'auth.password_change_failed',
  'auth.password_change_throttled', 'user.create', 'user.update', 'user.import', 'user.import_replay',
  'template.create', 'template.draft', 'template.publish', 'template.archive', 'template.unarchive', 'template.import',
  'template.export', 'region.create', 'region.update', 'district.create', 'district.update', 'circle.create', 'circle.update',
  'station.create', 'station.update', 'station.import', 'assignment.create', 'assignment.update', 'schedule.create', 'schedule.bulk_create',
  'schedule.update', 'inspection.create', 'inspection.update', 'inspection.submit', 'inspection.conflict', 'review.approve',
  'review.return', 'review.override', 'action.create', 'action.update', 'action.cancel', 'photo.upload', 'photo.original',
  'photo.integrity_failed', 'photo.recover', 'export.csv', 'export.xlsx', 'export.pdf', 'demo.seed', 'demo.history', 'audit.verified',
  'audit.anchors_set_aside'];

// An action in words when the table has them ("Signed in"), else its code as the server wrote it.
export function actionWords(action) {
  const key = `admin.action.${action}`;
  return key in dictionaries[getLang()] || key in dictionaries.en ? t(key) : action;
}

// The few details worth a sentence; everything else is in the row's expandable JSON.
export function detailWords(row) {
  const d = row.data || {};
  const parts = [];
  const changes = d.changes || {};
  if (changes.active === false) parts.push(t('admin.detail.deactivated'));
  if (changes.active === true) parts.push(t('admin.detail.reactivated'));
  // "changed": by its owner (POST /auth/password); "reset": by an admin.
  if (changes.password) parts.push(t(changes.password === 'changed' ? 'admin.detail.passwordChanged' : 'admin.detail.password'));
  if (changes.role) parts.push(t('admin.detail.role', { role: t(`role.${changes.role}`) }));
  if (changes.region_ids || changes.district_ids) parts.push(t('admin.detail.scope'));
  if (d.sessions_revoked) parts.push(t('admin.detail.sessions', { count: d.sessions_revoked }));
  if (row.action === 'template.publish') parts.push(t('admin.versionN', { version: fmtNumber(d.version) }));
  if (d.username && row.action.startsWith('auth.')) parts.push(d.username);
  if (d.unknown_name && row.action.startsWith('auth.')) parts.push(t('admin.detail.unknownName'));
  return parts.join(' · ');
}

export function auditRow(row) {
  const summary = detailWords(row);
  return h('li', { class: 'audit-row', dataset: { seq: row.seq, action: row.action } },
    h('div', { class: 'audit-main' },
      h('span', { class: 'mono seq', text: `#${row.seq}` }),
      h('span', { class: 'strong', text: actionWords(row.action) }),
      h('span', { class: 'hint', text: fmtDateTime(row.at) })),
    h('p', { class: 'row-meta' },
      h('span', { text: row.actor ? t('admin.byActor', { actor: row.actor }) : t('admin.bySystem') }),
      row.entity ? h('span', {}, ENTITIES.includes(row.entity) ? t(`admin.entity.${row.entity}`) : row.entity,
        row.entity_id ? h('span', { class: 'mono', dir: 'ltr', text: ` ${row.entity_id.slice(0, 8)}` }) : null) : null,
      row.ip ? h('span', { class: 'hint', text: row.ip }) : null),
    summary ? h('p', { text: summary }) : null,
    h('details', {}, h('summary', { text: t('admin.details') }),
      h('pre', { class: 'json', dir: 'ltr', text: JSON.stringify({ action: row.action, entity: row.entity, entity_id: row.entity_id, data: row.data, hash: row.hash }, null, 2) })));
}

// The chain holds but the inspection records it vouches for do not: each problem by inspection (and
// revision), or, in a quick check, what the last full check found.
function recordsAlert(records, full, since, notes) {
  const problems = records ? records.problems.map((p) => h('li', { dataset: { inspection: p.inspection_id, problem: p.problem } },
    h('span', { class: 'mono', dir: 'ltr', text: p.inspection_id }),
    p.revision != null ? ` · ${t('admin.recordRevision', { revision: fmtNumber(p.revision) })}` : '',
    ` · ${t(`admin.recordProblem.${p.problem}`)}`)) : [];
  const more = records ? records.problem_count - records.problems.length : 0;
  return h('div', { class: 'callout callout-fail', role: 'alert', id: 'audit-records' }, icon('alert'), h('div', {},
    h('p', { class: 'strong', text: t('admin.recordsAltered') }),
    records
      ? h('p', { text: t('admin.recordsAlteredBody', { count: records.problem_count, inspections: fmtNumber(records.inspections) }) })
      : h('p', { text: t('admin.recordsAlteredAtFull', { count: full ? full.record_problems : 0 }) }),
    problems.length ? h('ul', {}, problems) : null,
    more > 0 ? h('p', { text: t('admin.recordsMore', { count: more }) }) : null,
    since, ...notes));
}

// The trail against the copies of its head kept in the photo store, where the database's owner, who
// could otherwise rewrite the trail and recompute every hash unseen, cannot reach. All copies
// matching is one line under the finding; the store unread is a warning (nothing was compared).
function anchorsLine(a) {
  if (!a || a.ok === false) return null;
  if (a.ok == null) return h('p', { class: 'field-error', id: 'audit-anchors', dataset: { ok: 'null' }, text: t('admin.anchorsUnread') });
  const kept = a.written_seq != null ? t('admin.anchorsWritten', { seq: a.written_seq }) : '';
  const text = a.kept === 0
    ? (a.written_seq != null ? t('admin.anchorsFirst', { seq: a.written_seq }) : t('admin.anchorsNone'))
    : `${t('admin.anchorsOk', { count: a.kept, seq: a.newest_seq, when: fmtDateTime(a.newest_at) })}${kept ? ` ${kept}` : ''}`;
  return h('p', { class: 'hint', id: 'audit-anchors', dataset: { ok: 'true', kept: a.kept, written: a.written_seq ?? '' }, text });
}

// A kept copy the database no longer matches: the trail was rewritten (or cut short) by someone who
// recomputed its hashes. Named by the oldest such copy, each listed with both hashes, and what to do.
function anchorsDiffer(a) {
  const first = a.differs[0];
  const hash = (x) => h('span', { class: 'mono', dir: 'ltr', title: x, text: `${x.slice(0, 16)}…` });
  const more = a.differ_count - a.differs.length;
  return h('div', { id: 'audit-anchors', dataset: { ok: 'false' } },
    h('p', { class: 'strong', text: first ? t('admin.anchorsDiffer', { when: fmtDateTime(first.at), seq: first.seq }) : t('admin.anchorsDifferAny') }),
    h('p', { text: t('admin.anchorsDifferBody', { count: a.differ_count }) }),
    a.differs.length ? h('ul', {}, a.differs.map((d) => h('li', { dataset: { seq: d.seq, hash: d.hash, found: d.found ?? '' } },
      h('span', { class: 'strong', text: t('admin.anchorsEntry', { seq: d.seq, when: fmtDateTime(d.at) }) }),
      ` · ${t('admin.anchorsKeptHash')} `, hash(d.hash), ' · ',
      d.found ? [t('admin.anchorsNowHash'), ' ', hash(d.found)] : t('admin.anchorsGone')))) : null,
    more > 0 ? h('p', { text: t('admin.recordsMore', { count: more }) }) : null,
    h('p', { text: t('admin.anchorsWhat', { seq: first ? first.seq : '' }) }));
}

// Opening the page checks the entries written since the last full check, from the hash that check
// recorded (quick however long the trail); "Check every entry" walks the whole chain again and is
// itself recorded, so the next opening goes on from it.
function verifyCard() {
  const box = h('div', { class: 'verify', id: 'audit-verify', 'aria-live': 'polite' });
  // Only the newest check's finding is shown: the quick check of the page's opening, come back after
  // a full check the admin asked for since, must not replace its finding (a green "intact" over a red
  // "changed outside Muaina").
  const turn = turns();
  const check = async (button, all) => {
    const mine = turn.take();
    mount(box, pill('busy', t(all ? 'admin.verifying' : 'admin.verifyingRecent')));
    try {
      const r = await api.admin.verifyAudit({ all });
      if (!turn.current(mine)) return;
      const full = r.last_full;
      box.dataset.ok = String(r.ok);
      box.dataset.after = String(r.after);
      // The quick check is as good as the full check it goes on from: one over two days old says so.
      const old = full && Date.now() - Date.parse(full.at) > FULL_CHECK_DAYS * 86400000;
      const since = full ? h('p', { class: old ? 'field-error' : 'hint', id: 'audit-last-full', dataset: { old: String(old) } },
        t('admin.lastFullCheck', { count: full.checked, when: fmtDateTime(full.at) }), old ? ` ${t('admin.fullCheckOld')}` : '') : null;
      // The head, to keep outside the database, and numbers missing from the trail (a warning: failed
      // saves leave gaps too) go under whichever finding is shown.
      const notes = [
        r.head_hash ? h('p', { class: 'hint', id: 'audit-head', text: t('admin.chainHead', { seq: r.through, hash: r.head_hash }) }) : null,
        r.missing ? h('p', { class: 'field-error', id: 'audit-gaps', text: t('admin.seqGaps', { count: r.missing }) }) : null,
        anchorsLine(r.anchors),
      ];
      const records = r.records && !r.records.ok ? r.records : null;
      // A kept copy that differs is a finding of its own, shown first; under a broken chain or changed
      // records it joins that finding (a red card either way). `ok` false for no other reason is the
      // last full check's records, as before.
      const differ = r.anchors?.ok === false ? anchorsDiffer(r.anchors) : null;
      const recordsBad = r.first_bad == null && (records || full?.records_ok === false || (!r.ok && !differ));
      if (differ && (r.first_bad != null || recordsBad)) notes.unshift(differ);
      mount(box, recordsBad
        ? recordsAlert(records, full, since, notes)
        : r.first_bad == null && differ
        ? h('div', { class: 'callout callout-fail', role: 'alert' }, icon('alert'), h('div', {}, differ, since, ...notes))
        : r.ok
        ? h('div', { class: 'callout callout-ok' }, icon('check'), h('div', {},
          h('p', { class: 'strong', text: t('admin.chainOk') }),
          h('p', { text: r.after ? t('admin.chainOkRecent', { count: r.checked, seq: r.after }) : t('admin.chainOkBody', { count: r.checked }) }),
          since, ...notes))
        : h('div', { class: 'callout callout-fail', role: 'alert' }, icon('alert'), h('div', {},
          h('p', { class: 'strong', text: t('admin.chainBroken', { seq: r.first_bad }) }),
          h('p', { text: r.after ? t('admin.chainBrokenRecent', { seq: r.after }) : t('admin.chainBrokenBody', { count: r.checked }) }),
          since, ...notes,
          h('a', { href: `#/admin/audit?before=${r.first_bad + 1}`, class: 'btn btn-secondary' }, t('admin.showEntry', { seq: r.first_bad })))));
    } catch (err) {
      if (!turn.current(mine)) return;
      mount(box, loadingFailed(err, () => check(null, all)));
    }
    if (button) button.focus();
  };
  check(null, false);
  const again = h('button', { type: 'button', class: 'btn btn-secondary', id: 'audit-verify-again', onclick: (e) => { const b = e.currentTarget; busy(b, () => check(b, true)); } }, t('admin.verifyAll'));
  return h('section', { class: 'card', 'aria-labelledby': 'verify-h' },
    h('div', { class: 'card-head' }, h('h2', { id: 'verify-h', text: t('admin.chain') }), again),
    h('p', { class: 'hint', text: t('admin.chainHint') }), box);
}

export default async function auditView(params) {
  await styles();
  const limit = Math.min(500, Math.max(1, Math.floor(Number(params.limit)) || PAGE));
  const filters = { action: params.action || '', entity: params.entity || '', entity_id: params.entity_id || '', actor_id: params.actor_id || '' };
  let users = [];
  try { users = await api.admin.users({}); } catch { users = []; }
  const list = h('ol', { class: 'list audit-list', id: 'audit-list' });
  const status = h('p', { class: 'hint', role: 'status' });
  const more = h('button', { type: 'button', class: 'btn btn-secondary', id: 'audit-more', hidden: true }, t('admin.older'));
  let rows = [];
  let find = '';

  const show = () => {
    const needle = find.trim().toLowerCase();
    const shown = needle ? rows.filter((r) => JSON.stringify([r.action, actionWords(r.action), r.actor, r.entity, r.entity_id, r.data, r.ip]).toLowerCase().includes(needle)) : rows;
    mount(list, shown.length ? shown.map(auditRow) : h('li', { class: 'empty', text: t('admin.noEntries') }));
    status.textContent = t('admin.entriesShown', { shown: shown.length, loaded: rows.length });
  };
  const load = async (before) => {
    try {
      const page = await api.admin.audit({ ...filters, before, limit });
      rows = before ? rows.concat(page) : page;
      more.hidden = page.length < limit;
      show();
    } catch (err) {
      mount(list, h('li', {}, loadingFailed(err, () => load(before))));
    }
  };
  more.addEventListener('click', () => busy(more, () => load(rows[rows.length - 1]?.seq)));
  await load(params.before ? Number(params.before) : undefined);

  const apply = (e) => {
    e.preventDefault();
    const q = new URLSearchParams(Object.entries({ ...filters, limit: params.limit }).filter(([, v]) => v));
    navigate(`/admin/audit${q.toString() ? `?${q}` : ''}`);
  };
  const actionInput = input(filters.action, (v) => { filters.action = v.trim(); }, { list: 'audit-actions', dir: 'ltr', spellcheck: 'false' });
  const form = h('form', { class: 'filters audit-filters', onsubmit: apply, 'aria-label': t('admin.filter') },
    fieldBox('action', t('admin.filterAction'), actionInput),
    h('datalist', { id: 'audit-actions' }, ACTIONS.map((a) => h('option', { value: a }, actionWords(a)))),
    fieldBox('entity', t('admin.filterEntity'), select([['', t('admin.any')], ...ENTITIES.map((x) => [x, t(`admin.entity.${x}`)])], filters.entity, (v) => { filters.entity = v; })),
    fieldBox('entity_id', t('admin.filterEntityId'), input(filters.entity_id, (v) => { filters.entity_id = v.trim(); }, { dir: 'ltr', spellcheck: 'false' })),
    fieldBox('actor_id', t('admin.filterActor'), select([['', t('admin.anyone')], ...users.map((u) => [u.id, `${u.display_name} (${u.username})`])], filters.actor_id, (v) => { filters.actor_id = v; })),
    h('div', { class: 'button-row' },
      h('button', { type: 'submit', class: 'btn btn-primary' }, t('admin.applyFilters')),
      h('a', { class: 'btn btn-light', href: '#/admin/audit' }, t('admin.clearFilters'))));

  return adminPage('audit',
    h('h1', { text: t('admin.audit') }),
    verifyCard(),
    h('section', { 'aria-labelledby': 'log-h' },
      h('h2', { id: 'log-h', text: t('admin.auditLog') }),
      form,
      searchBox(t('admin.findLoaded'), '', (v) => { find = v; show(); }, { id: 'audit-find' }),
      status, list, more),
    params.before ? h('p', { class: 'hint', text: t('admin.fromEntry', { seq: Number(params.before) - 1 }) }) : null);
}

