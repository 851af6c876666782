// Planning repeating visits for many stations at once (POST /schedules/bulk): a district of the
// officer's area, its active stations of the checklist's kind as a checklist (all ticked), one
// inspector who serves the district, a frequency and a first due date. "Preview" asks the server
// what would be made and what is left alone (a station already planned for the checklist); the
// officer then makes them, all or none. A change to the form after the preview asks for a new one,
// so what is made is always what was shown.

import { api } from '../../api.js';
import { sayKnown, t, tx } from '../../i18n.js';
import { dialog, h, icon, mount } from '../../ui.js';
import { districts, fieldBox, inDays, oneName, placeProblems, select } from './common.js';

const FREQUENCIES = ['monthly', 'quarterly', 'half_yearly'];
// The plan's own refusals (server/assignments/planning.py); the rest are the single visit's words.
const MESSAGES = [
  [/^no district with this id is in your area$/, 'rv.plan.noDistrict'],
  [/^the district has no active stations$/, 'rv.plan.emptyDistrict'],
  [/^at most (\d+) stations at a time/, 'rv.plan.tooMany'],
  [/^name at least one station$/, 'rv.plan.pickStations'],
];

// Whether user `u` serves district `d`, as the server judges it (COVERS_SQL).
const serves = (u, d) => u.district_ids.includes(d.id) || u.region_ids.includes(d.region_id);

export async function planDialog(ctx, say) {
  const [allStations, templates, people, dists] = await Promise.all([
    ctx.stations(), ctx.templates(), api.reviewer.inspectors().catch(() => []), districts().catch(() => []),
  ]);
  const speak = (m) => { const known = sayKnown(MESSAGES, m); return known === m ? say(m) : known; };
  const active = dists.filter((d) => d.active !== false).sort((a, b) => a.code.localeCompare(b.code));
  const where = select('district_id', active.map((d) => [d.id, `${d.code} · ${tx({ en: d.name, ur: d.name_ur })}`]),
    active.length === 1 ? active[0].id : '', { all: t('rv.plan.pickDistrict'), id: 'rv-plan-district' });
  const which = select('template_id', templates.map((x) => [x.id, tx(x.title)]), templates.length === 1 ? templates[0].id : '',
    { all: t('rv.vis.pickTemplate') });
  const who = h('select', { name: 'inspector_id' });
  const repeat = select('frequency', FREQUENCIES.map((f) => [f, t(`rv.freq.${f}`)]), 'monthly');
  const due = h('input', { type: 'date', name: 'next_due', value: inDays(14) });
  const all = h('input', { type: 'checkbox', id: 'rv-plan-all', checked: true });
  const list = h('div', { class: 'rv-plan-stations', role: 'group', 'aria-labelledby': 'rv-plan-stations-h' });
  const chosenNote = h('p', { class: 'hint', 'aria-live': 'polite' });
  const summary = h('div', { class: 'rv-plan-summary', 'aria-live': 'polite' });

  const district = () => active.find((d) => d.id === where.value);
  const boxes = () => [...list.querySelectorAll('input[type=checkbox]')];
  const chosen = () => boxes().filter((b) => b.checked).map((b) => b.value);
  const candidates = () => {
    const d = district();
    const kinds = templates.find((x) => x.id === which.value)?.kinds;
    return d ? allStations.filter((s) => s.district_id === d.id && s.active !== false
      && (!kinds || kinds.includes(s.kind || 'police_station'))) : [];
  };
  const count = () => {
    const n = chosen().length;
    all.checked = n > 0 && n === boxes().length;
    chosenNote.textContent = t('rv.plan.chosen', { count: n });
  };
  const fill = () => {
    const d = district();
    const keep = who.value;
    const serving = d ? people.filter((u) => serves(u, d)).sort((a, b) => a.display_name.localeCompare(b.display_name)) : [];
    mount(who, h('option', { value: '', text: t('rv.vis.pickInspector') }),
      serving.map((u) => h('option', { value: u.id, text: u.display_name, selected: u.id === keep || serving.length === 1 })));
    const stations = candidates();
    // A station the reviewer left out stays left out when the district's list is drawn again.
    const off = new Set(boxes().filter((b) => !b.checked).map((b) => b.value));
    mount(list, stations.length ? stations.map((s) => h('div', { class: 'rv-check', dataset: { code: s.code } },
      h('input', { type: 'checkbox', id: `rv-plan-${s.id}`, value: s.id, checked: !off.has(s.id), onchange: count }),
      h('label', { for: `rv-plan-${s.id}`, text: `${s.code} · ${oneName(s.name)}` })))
      : h('p', { class: 'empty', text: t(d ? 'rv.plan.noStations' : 'rv.plan.pickDistrict') }));
    count();
  };
  all.addEventListener('change', () => { for (const b of boxes()) b.checked = all.checked; count(); });
  where.addEventListener('change', fill);
  which.addEventListener('change', fill);
  fill();

  const host = h('div');
  const form = h('div', { class: 'rv-form rv-plan' }, host,
    h('p', { class: 'hint', text: t('rv.plan.lead') }),
    fieldBox('district_id', t('rv.plan.district'), where), fieldBox('template_id', t('rv.vis.col.template'), which),
    h('div', { class: 'field', dataset: { field: 'station_ids' } },
      h('h3', { id: 'rv-plan-stations-h', text: t('rv.plan.stations') }),
      h('p', { class: 'field-error', id: 'rv-plan-stations-err', hidden: true }),
      h('div', { class: 'rv-check' }, all, h('label', { for: 'rv-plan-all', text: t('rv.plan.all') })),
      chosenNote, list),
    fieldBox('inspector_id', t('role.inspector'), who, { hint: t('rv.plan.inspectorHint') }),
    fieldBox('frequency', t('rv.vis.repeat'), repeat), fieldBox('next_due', t('rv.plan.firstDue'), due),
    summary);

  // What the last preview was of: the form as it was sent. Any change since makes it stale.
  let previewed = null;
  let made = null;
  const body = () => ({
    station_ids: chosen(), template_id: which.value, inspector_id: who.value, frequency: repeat.value, next_due: due.value,
  });
  const go = () => document.querySelector('dialog.dialog .dialog-actions .btn-primary');
  const label = (text) => { const b = go(); if (b) b.lastChild.textContent = text; };
  form.addEventListener('change', () => {
    if (!previewed) return;
    previewed = null;
    mount(summary);
    label(t('rv.plan.preview'));
  });

  const fail = (err, sent) => {
    // A station's problem names its place in what was sent; it is shown with the station's code.
    const codes = new Map(allStations.map((s) => [s.id, s.code]));
    const problems = (err?.status === 422 && err.errors?.length ? err.errors : [{ field: '', message: err?.message || String(err) }])
      .map((e) => {
        const at = /^station_ids\[(\d+)\]$/.exec(e.field);
        return at ? { field: '', station: codes.get(sent.station_ids[Number(at[1])]), message: e.message } : e;
      });
    const left = placeProblems(form, problems.filter((p) => !p.station), speak);
    const lines = [...problems.filter((p) => p.station), ...left];
    mount(host, lines.length ? h('div', { class: 'callout callout-fail rv-plan-problems', role: 'alert', tabindex: '-1' }, icon('alert'), h('div', {},
      problems.some((p) => p.station) && h('p', { text: t('rv.plan.problems') }),
      h('ul', {}, lines.map((p) => h('li', { dataset: { station: p.station || '' }, text: p.station ? `${p.station}: ${speak(p.message)}` : speak(p.message) })))))
      : null);
    shown();
  };
  // The button is at the foot of a long dialog: what went wrong is brought into view, not left above.
  const shown = () => {
    const first = host.firstElementChild || form.querySelector('.field-error:not([hidden])');
    first?.scrollIntoView({ block: 'center' });
    if (first?.getAttribute('tabindex') === '-1') first.focus({ preventScroll: true });
  };

  const showPreview = (reply) => {
    const skipped = reply.skipped.map((s) => `${s.station_code} (${t(`rv.plan.skip.${s.reason}`)})`);
    mount(summary, h('div', { class: `callout ${reply.counts.created ? 'callout-info' : 'callout-warn'}`, role: 'status' }, icon('alert'),
      h('div', {},
        h('p', { class: 'strong', id: 'rv-plan-will', text: reply.counts.created ? t('rv.plan.willMake', { count: reply.counts.created }) : t('rv.plan.nothing') }),
        reply.counts.skipped > 0 && h('p', { id: 'rv-plan-skip', text: t('rv.plan.willSkip', { count: reply.counts.skipped }) }),
        skipped.length > 0 && h('p', { class: 'hint', text: skipped.join(t('rv.listSep')) }))));
    label(reply.counts.created ? t('rv.plan.make', { count: reply.counts.created }) : t('rv.plan.preview'));
  };

  await dialog({
    title: t('rv.plan.title'),
    body: form,
    actions: [{ label: t('cancel'), value: null }, { label: t('rv.plan.preview'), value: 'go', kind: 'primary' }],
    onSubmit: async (value) => {
      if (value !== 'go') return true;
      const missing = [[where, 'rv.plan.pickDistrict'], [which, 'rv.vis.pickTemplate'], [who, 'rv.vis.pickInspector'], [due, 'rv.vis.needDue']]
        .filter(([el]) => !el.value).map(([el, key]) => ({ field: el.name, message: t(key) }));
      if (!chosen().length) missing.push({ field: 'station_ids', message: t('rv.plan.pickStations') });
      if (missing.length) { placeProblems(form, missing); mount(host); shown(); return false; }
      const sent = body();
      const same = previewed && JSON.stringify(previewed.sent) === JSON.stringify(sent);
      const btn = go();
      btn.disabled = true;
      try {
        if (!same) {
          const reply = await api.reviewer.planSchedules(sent, true);
          placeProblems(form, []);
          mount(host);
          previewed = reply.counts.created ? { sent } : null;
          showPreview(reply);
          return false;
        }
        made = await api.reviewer.planSchedules(sent, false);
        return true;
      } catch (err) {
        previewed = null;
        mount(summary);
        label(t('rv.plan.preview'));
        fail(err, sent);
        return false;
      } finally {
        btn.disabled = false;
      }
    },
  });
  return made;
}

