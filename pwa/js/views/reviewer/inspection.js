// One inspection as the reviewer sees it: header and score, presence evidence (GPS, each photo's
// EXIF and phone evidence, reuse), the answers by section, history, and the decision. The answers
// and the decision live in one module because they share the pending review: item comments and
// score changes, kept in IndexedDB until sent, so a reload or a stale copy (409) loses none of them.

import { api } from '../../api.js';
import { kv } from '../../db.js';
import { actionDescription, fmtClock, fmtDate, fmtDateTime, fmtDistance, fmtNumber, fmtPlusMinus, fmtWallTime, inputNumber, isolated, readNumber, t, tx } from '../../i18n.js';
import { thumbUrl } from '../../photos.js';
import { isScored, itemScore, score as scoreOf, visibility } from '../../scoring.js';
import { add, alertDialog, button, card, dialog, field, h, icon, mount, toast } from '../../ui.js';
import {
  bilingual, busy, cancelledWhy, definitionOf, districtName, districts, errorBox, flagPill, gradePill, oneName, page, pct, problem,
  row, fieldBox, placeProblems, saveBlob, sayServer, sincePassed, stations, table, tag,
} from './common.js';

const STATUS = { submitted: ['info', 'alert'], approved: ['ok', 'check'], returned: ['warn', 'note'], draft: ['info', 'phone'] };
const itemPct = (s) => pct(s === null || s === undefined ? null : s * 100);

export default async function inspectionView({ id }) {
  const root = h('div');
  let observer;
  const reload = async () => {
    observer?.disconnect();
    // Thumbnails are fetched as they come near the screen: a long inspection may hold fifty.
    observer = new IntersectionObserver((entries) => {
      for (const e of entries) if (e.isIntersecting) { observer.unobserve(e.target); e.target.rvLoad(); }
    }, { rootMargin: '300px' });
    mount(root, await build(id, reload, observer));
  };
  await reload();
  return { node: page(null, null, root), dispose: () => observer.disconnect() };
}

async function build(id, reload, observer) {
  const key = `rv-review:${id}`;
  const none = () => null;
  // What a decision rests on is there in full or not at all: earlier reviews (their comments and the
  // score changes in force), the history and the actions already raised. Shown without them, the page
  // would look like an inspection nobody had reviewed, and a failed request is not an empty list.
  let insp, def, reviews, history, actions, stationList, districtList, saved, inspector, judged, timed;
  try {
    insp = await api.getInspection(id);
    [def, reviews, history, actions, stationList, districtList, saved, inspector] = await Promise.all([
      definitionOf(insp.template_version_id),
      // The reviews' reply carries the photo evidence judged now (server/review/evidence.py), and what
      // the visit's times say (server/review/timing.py).
      api.reviewer.reviews(id).then((r) => { judged = r.evidence || null; timed = r.timing || null; return r.rows; }),
      api.reviewer.history(id),
      api.reviewer.actions({ inspection_id: id, limit: 500 }).then((r) => r.rows),
      stations().catch(() => []),
      districts().catch(() => []),
      kv.get(key).catch(none),
      // The list row carries the inspector's display name, which the inspection does not.
      api.reviewer.inspections({ station_id: insp.station_id, inspector_id: insp.inspector_id, limit: 200 })
        .then((r) => r.items.find((x) => x.id === id)?.inspector_name, none),
    ]);
  } catch (err) {
    return [h('h1', { text: t('review.statusTitle') }), errorBox(err),
      button(t('error.retry'), () => reload(), { kind: 'primary', iconName: 'sync', id: 'rv-retry' })];
  }
  const st = stationList.find((s) => s.id === insp.station_id) || { code: '', name: {} };
  const district = districtList.find((d) => d.id === st.district_id);
  const items = Object.fromEntries((def.sections || []).flatMap((s) => s.items).map((it) => [it.key, it]));
  // A resubmission supersedes earlier score changes, so those in force belong to the latest review.
  const latest = reviews[0];
  const inForce = Object.fromEntries((latest?.overrides || []).filter((o) => !o.superseded_at).map((o) => [o.item_key, o]));
  // Photo evidence, four requests at a time, each asked for once.
  const metas = new Map();
  let active = 0;
  const waiting = [];
  const next = () => { if (active < 4 && waiting.length) { active += 1; waiting.shift()().finally(() => { active -= 1; next(); }); } };
  const ctx = {
    insp, def, items, actions, latest, inForce, reviewable: insp.status === 'submitted', stations: stationList, evidence: judged, timing: timed,
    draft: { comment: '', item_comments: {}, score_overrides: {}, ...saved },
    meta: (pid) => {
      if (!metas.has(pid)) metas.set(pid, new Promise((ok, fail) => { waiting.push(() => api.reviewer.photo(pid).then(ok, fail)); next(); }));
      return metas.get(pid);
    },
    lazy: (el, load) => { el.rvLoad = load; observer.observe(el); },
    saveDraft: () => { kv.set(key, ctx.draft).catch(() => {}); panel.update(); },
    newAction: async (item) => {
      const { actionDialog } = await import('./actions.js');
      if (!(await actionDialog({ station: st, inspectionId: id, item }))) return;
      // The page is drawn afresh: focus goes back to the item the action was raised on.
      await reload();
      document.querySelector(`#rv-item-${item.key} .rv-btn-action`)?.focus({ preventScroll: true });
    },
  };
  const answers = answersView(ctx);
  const panel = decisionPanel(ctx, id, key, reload);
  const critical = answers.querySelectorAll('.is-failed.is-critical').length;
  const secHeads = [[t('rv.col.section')], [t('review.score'), true]];
  const pdf = (lang) => button(t(lang === 'ur' ? 'rv.pdfUr' : 'rv.pdfEn'), (e) => busy(e.currentTarget, async () => {
    try { saveBlob(await api.reviewer.reportPdf(id, lang), `inspection-${st.code}-${lang}.pdf`); } catch (err) { toast(problem(err), { kind: 'error' }); }
  }), { iconName: 'note' });
  const when = (v) => (v ? fmtDateTime(v) : '—');
  // How long the phone says the inspection took: 88 answers in 40 seconds is worth a reviewer's notice.
  // None when either time is missing or the finish is before the start (the clock note explains that).
  const took = (from, to) => {
    const secs = from && to ? Math.floor((Date.parse(to) - Date.parse(from)) / 1000) : NaN;
    if (!(secs >= 0)) return '—';
    const [d, hr, m, sec] = [Math.floor(secs / 86400), Math.floor(secs / 3600) % 24, Math.floor(secs / 60) % 60, secs % 60];
    const n = (v) => fmtNumber(v);
    if (d) return t('rv.insp.tookDays', { d: n(d), h: n(hr) });
    if (hr) return t('rv.insp.tookHours', { h: n(hr), m: n(m) });
    return m ? t('rv.insp.tookMinutes', { m: n(m), s: n(sec) }) : t('rv.insp.tookSeconds', { s: n(sec) });
  };

  const head = h('header', { class: 'rv-head card' },
    h('p', {}, h('a', { class: 'rv-crumb', href: '#/review' }, icon('back'), t('rv.backToQueue'))),
    h('h1', {}, bilingual(st.name)),
    h('dl', { class: 'rv-meta' }, [[t('rv.col.code'), st.code], [t('rv.col.district'), district ? tx(districtName(district)) : '—'],
      [t('role.inspector'), inspector || '—'], [t('start.template'), tx(def.title)], [t('rv.insp.started'), when(insp.started_at)],
      [t('rv.insp.finished'), when(insp.finished_at)], [t('rv.insp.took'), took(insp.started_at, insp.finished_at)],
      [t('rv.col.submitted'), when(insp.submitted_at)],
      [t('rv.insp.revision'), fmtNumber(insp.revision)]].map(([k, v]) => h('div', {}, h('dt', { text: k }), h('dd', { text: v })))),
    // The phone's clock was wrong: its start and finish are not to be read as fact.
    insp.phone_clock_off ? h('div', { class: 'callout callout-warn', id: 'rv-clock-off', role: 'note' }, icon('warn'),
      h('p', { text: t('rv.insp.clockOff', { received: when(insp.created_at) }) })) : null,
    h('div', { class: 'rv-scoreline' }, tag(...STATUS[insp.status], t(`rv.st.${insp.status}`), { dataset: { status: insp.status } }),
      h('span', { class: 'rv-big', id: 'rv-percent', text: pct(insp.score?.percent) }), gradePill(insp.score?.grade),
      critical ? tag('fail', 'cross', t('review.criticalFailed', { count: critical })) : null,
      Object.keys(inForce).length ? tag('info', 'star', t('rv.includesOverrides')) : null),
    h('details', {}, h('summary', { text: t('review.sectionScores') }), table(secHeads, (def.sections || []).map((s) =>
      row(secHeads, [tx(s.title), pct(insp.score?.sections?.find((x) => x.key === s.key)?.percent)])))),
    h('div', { class: 'rv-buttons' }, pdf('en'), pdf('ur')));

  return h('div', { class: 'rv-insp' }, head,
    h('div', {}, presence(ctx, answers), h('h2', { text: t('rv.answers') }), answers),
    h('aside', { class: 'rv-side' }, panel.node, historyCard(history, reviews, items)));
}

const YES_NO = { yes: 'answer.yes', no: 'answer.no', na: 'answer.na' };

function answerText(item, answer) {
  const v = answer?.value;
  if (item.type === 'photo') return t('photo.count', { count: answer?.photos?.length || 0 });
  if (v === null || v === undefined || v === '' || (Array.isArray(v) && !v.length)) return t('rv.ans.none');
  const label = (k) => tx((item.options || []).find((o) => o.key === k)?.label) || k;
  switch (item.type) {
    case 'yes_no': return t(YES_NO[v] || 'rv.ans.none');
    case 'scale': return t('rv.ans.scale', { value: v, max: item.max });
    case 'choice': return label(v);
    case 'multi_choice': return v.map(label).join(t('rv.listSep'));
    case 'number': {
      const { min, max } = item;
      const range = min != null && max != null ? t('item.range', { min, max }) : min != null ? t('item.rangeMin', { min })
        : max != null ? t('item.rangeMax', { max }) : '';
      return `${fmtNumber(v)} ${tx(item.unit)} ${range && `(${range})`}`.trim();
    }
    case 'date': return fmtDate(v);
    default: return String(v);
  }
}

// `s` is the score in force: an n.a. answer a reviewer's score change scored reads as that score.
function resultPill(item, s, answer) {
  if (answer?.value === 'na' && s === null) return tag('info', null, t('rv.result.na'));
  if (s === null) return isScored(item) ? tag('quiet', null, t('rv.ans.none')) : null;
  if (s === 0) return tag('fail', 'cross', t(item.critical ? 'item.criticalFailed' : 'item.failed'));
  return s === 1 ? tag('ok', 'check', t('rv.result.pass')) : tag('warn', 'warn', t('rv.result.partly', { percent: itemPct(s) }));
}

const callout = (kind, iconName, title, ...lines) => h('div', { class: ['callout', `callout-${kind}`] }, icon(iconName),
  h('div', {}, h('p', { class: 'strong', text: title }), lines.map((l) => (l instanceof Node ? l : h('p', { dir: 'auto', text: l })))));
// The item's corrective action and its status; a cancelled one says why (withdrawn when a reviewer's
// override passed the item), and an open one whose item an override has since passed says so, since
// a reviewer may want to cancel it on the board.
function actionCallout(a) {
  const title = t('rv.actionOpen', { status: t(`rv.status.${a.status}`) });
  const attrs = { dataset: { action: a.id, status: a.status } };
  if (a.status === 'cancelled') {
    return h('div', { ...attrs, class: 'callout callout-info rv-action-note' }, icon('cross'), h('div', {}, h('p', { class: 'strong', text: title }),
      h('p', { dir: 'auto', text: actionDescription(a) }),
      h('p', { class: 'rv-cancel-reason', text: cancelledWhy(a) })));
  }
  const since = sincePassed(a);
  return h('div', { ...attrs, class: ['callout', since ? 'callout-warn' : 'callout-info', 'rv-action-note'] }, icon('warn'),
    h('div', {}, h('p', { class: 'strong', text: title }), h('p', { dir: 'auto', text: actionDescription(a) }),
      since && h('p', { class: 'rv-passed', dataset: { mark: since.mark }, text: `${since.title} ${t('rv.act.passedHint')}` })));
}
// The reason is the reviewer's own words, in either language: isolated so punctuation stays put.
const reasonLine = (reason) => h('p', {}, `${t('rv.overrideReason')}: `, h('bdi', { text: reason }));

function answersView(ctx) {
  const { insp, def } = ctx;
  const visible = visibility(def, insp.answers);
  const box = h('div', { class: 'rv-answers' }, (def.sections || []).map((section) => {
    const els = section.items.filter((it) => visible[it.key]).map((it) => itemView(it, ctx));
    return h('section', { class: ['rv-section', els.some((el) => el.classList.contains('is-failed')) && 'has-failed'] },
      h('h2', { class: 'rv-sec-head' }, h('span', { text: tx(section.title) }),
        h('span', { text: pct(insp.score?.sections?.find((s) => s.key === section.key)?.percent) })), els);
  }));
  const choose = (only) => h('button', { type: 'button', class: 'btn btn-choice', 'aria-pressed': String(!only), onclick: (e) => {
    box.classList.toggle('only-failed', only);
    for (const b of e.currentTarget.parentNode.children) b.setAttribute('aria-pressed', String(b === e.currentTarget));
  } }, only ? t('rv.show.failed', { count: box.querySelectorAll('.is-failed').length }) : t('rv.show.all'));
  return h('div', {}, h('div', { class: 'choice-row rv-show', role: 'group', 'aria-label': t('rv.show.label') }, choose(false), choose(true)), box);
}

function itemView(item, ctx) {
  const { insp, draft, latest } = ctx;
  const answer = insp.answers[item.key];
  const s = isScored(item) ? itemScore(item, answer) : null;
  const was = ctx.inForce[item.key];
  // The score in force: the reviewer's where one was changed, else the inspector's own.
  const now = was ? was.score : s;
  const earlier = latest?.item_comments?.[item.key];
  const el = h('article', { class: ['card', 'rv-item', now === 0 && 'is-failed', item.critical && 'is-critical'], id: `rv-item-${item.key}` });
  const pending = h('div', { class: 'rv-pending' });
  const showPending = () => {
    const c = draft.item_comments[item.key];
    const o = draft.score_overrides[item.key];
    mount(pending, c && callout('info', 'note', t('rv.yourComment'), c),
      o && callout('info', 'star', t('rv.yourOverride'), t('rv.overrideFromTo', { from: itemPct(s), to: itemPct(o.score) }), reasonLine(o.reason)));
    el.classList.toggle('has-pending', Boolean(c || o));
  };
  const buttons = h('div', { class: 'rv-item-actions' },
    ctx.reviewable && button(t('rv.comment'), () => commentDialog(item, ctx, showPending), { iconName: 'note', class: 'rv-btn-comment' }),
    ctx.reviewable && isScored(item) && button(t('rv.override'), () => overrideDialog(item, s, ctx, showPending), { iconName: 'star', class: 'rv-btn-override' }),
    button(t('rv.newAction'), () => ctx.newAction(item), { iconName: 'warn', class: 'rv-btn-action' }));
  add(el,
    h('h3', { text: tx(item.label) }),
    h('div', { class: 'rv-item-line' },
      h('div', { class: 'marks' }, item.critical && tag('warn', 'warn', t('item.critical')), resultPill(item, now, answer),
        h('p', {}, h('span', { class: 'hint', text: `${t('rv.answer')} ` }), h('span', { class: 'strong', dir: 'auto', text: answerText(item, answer) }))),
      buttons),
    answer?.note && h('p', { class: 'rv-note' }, icon('note'), h('span', { dir: 'auto', text: answer.note })),
    answer?.photos?.length > 0 && photoThumbs(answer.photos, { title: tx(item.label), alt: (n) => t('photo.alt', { n: n + 1, label: tx(item.label) }),
      meta: ctx.meta, lazy: ctx.lazy }),
    earlier && callout('warn', 'note', t('rv.earlierComment'), earlier),
    was && callout('warn', 'star', t('rv.overridden'), t('rv.overrideFromTo', { from: itemPct(was.original_score), to: itemPct(was.score) }),
      reasonLine(was.reason)),
    ctx.actions.filter((a) => a.item_key === item.key).map(actionCallout),
    pending);
  showPending();
  return el;
}

// A position and an accuracy keep their reading order on Urdu screens (see i18n.isolated).
const place = (lat, lon) => (lat == null ? t('rv.ev.none') : isolated(`${fmtNumber(lat, { maximumFractionDigits: 5 })}, ${fmtNumber(lon, { maximumFractionDigits: 5 })}`));

// What the file claims (EXIF: its time has no zone, so it is shown as written) beside what the
// phone reported at capture, and how far from the station.
function evidence(meta) {
  const { exif, device, distance_m: dist } = meta.evidence;
  const line = (label, text) => h('p', {}, h('span', { class: 'strong', text: `${label} ` }), text);
  // Where the phone got the picture. A gallery pick can be of any age or place (the phone strips its
  // EXIF when resizing it), and the time the phone sent for it is the file's date, not a capture.
  // Photos from phones that did not say (meta.source null) show neither.
  const gallery = meta.source === 'gallery';
  const source = gallery ? tag('warn', 'image', t('rv.ev.gallery'), { title: t('rv.ev.galleryHint'), dataset: { source: 'gallery' } })
    : meta.source === 'camera' ? tag('info', 'camera', t('rv.ev.camera'), { dataset: { source: 'camera' } }) : null;
  return [source && h('p', { class: 'rv-ev-source' }, source),
    line(t('rv.ev.exif'), `${exif.taken_at ? fmtWallTime(exif.taken_at) : t('rv.ev.none')} · ${place(exif.lat, exif.lon)}`),
    line(t(gallery ? 'rv.ev.deviceGallery' : 'rv.ev.device'), `${device.taken_at ? fmtDateTime(device.taken_at) : t('rv.ev.none')} · ${place(device.lat, device.lon)}${device.accuracy_m != null ? ` ${fmtPlusMinus(device.accuracy_m)}` : ''}`),
    dist != null && h('p', { text: t('rv.ev.distance', { distance: fmtDistance(dist) }) })];
}

// Other inspections with the same or a very similar picture: one link per inspection, three at
// most and then a count, so a much-reused photo does not bury the page.
function reuse(meta, stationList) {
  const seen = new Map();
  for (const r of meta.reused_in) seen.set(r.inspection_id, { ...r, same_bytes: r.same_bytes || seen.get(r.inspection_id)?.same_bytes });
  const list = [...seen.values()];
  const more = Math.max(0, list.length - 3) + meta.reused_out_of_scope;
  if (!list.length && !more) return null;
  // The evidence names a station in English only; the list in scope has its Urdu name too.
  const name = (r) => oneName(stationList.find((s) => s.code === r.station_code)?.name) || r.station_name;
  return h('ul', { class: 'rv-reuse' }, list.slice(0, 3).map((r) => h('li', {}, h('a', { href: `#/review/i/${r.inspection_id}` },
    `${r.station_code} · ${name(r)}`), ` — ${t(r.same_bytes ? 'rv.ev.sameFile' : 'rv.ev.similar')}`)),
  more ? h('li', { text: t('rv.ev.more', { count: more }) }) : null);
}

// How far outside the visit a photo was taken, in days (or hours under two days).
function span(secs) {
  const hours = Math.round(Math.abs(secs) / 3600);
  return hours >= 48 ? t('rv.pres.days', { count: Math.round(hours / 24) }) : t('rv.pres.hours', { count: Math.max(1, hours) });
}

// The other visits whose fix is exactly this one's, each linked to its page; one outside the reviewer's
// area is neither named nor linked (the server does not say which it is).
function repeatedWith(list) {
  if (!list.length) return null;
  const date = (r) => (r.submitted_at ? fmtDate(r.submitted_at) : '—');
  return h('ul', { class: 'rv-repeated' }, list.map((r) => h('li', {}, r.station
    ? h('a', { href: `#/review/i/${r.inspection_id}`, dataset: { inspection: r.inspection_id },
      text: t('rv.pres.repeatedWith', { station: `${r.station.code} ${oneName(r.station.name)}`.trim(), date: date(r) }) })
    : t('rv.pres.repeatedHidden', { date: date(r) }))));
}

// What the photo evidence says against the visit, one sentence each ([flag, text, more] with `more` the
// nodes that follow the sentence, if any; none when it agrees): the fix too imprecise to place anyone,
// exactly the station's recorded position (a fix no phone reads by itself, so "0 m" is no proof of
// presence) or exactly another visit's (a real fix jitters), and photos taken far away, before or after
// the visit, or with no evidence.
function evidenceWarnings(insp, ev) {
  if (!ev) return [];
  const bad = ev.per_photo.filter((p) => p.problems.length);
  const total = ev.photos;
  const out = [];
  if (ev.location_imprecise) {
    out.push(['imprecise', t('rv.pres.imprecise', { accuracy: fmtPlusMinus(insp.location.accuracy_m), radius: fmtDistance(ev.radius_m) })]);
  }
  if (ev.location_exact) out.push(['exact', t('rv.pres.exact')]);
  if (ev.location_repeated) out.push(['repeated', t('rv.pres.repeated'), repeatedWith(ev.repeated_with || [])]);
  if (ev.photos_far) {
    const farthest = Math.max(...bad.filter((p) => p.problems.includes('far')).map((p) => p.distance_m));
    out.push(['photos_far', t('rv.pres.photosFar', { count: ev.photos_far, total, distance: fmtDistance(farthest) })]);
  }
  const offs = bad.filter((p) => p.problems.includes('off_time') && p.off_by_s != null);
  const early = offs.filter((p) => p.off_by_s < 0);
  const late = offs.filter((p) => p.off_by_s > 0);
  if (early.length) {
    out.push(['photos_off_time', t('rv.pres.photosEarly', { count: early.length, total, span: span(Math.min(...early.map((p) => p.off_by_s))) })]);
  }
  if (late.length) {
    out.push(['photos_off_time', t('rv.pres.photosLate', { count: late.length, total, span: span(Math.max(...late.map((p) => p.off_by_s))) })]);
  }
  if (ev.photos_unproven) out.push(['photos_unproven', t('rv.pres.photosUnproven', { count: ev.photos_unproven, total })]);
  return out;
}

// The speed above which no one travels between two stations (schema/0022_visit_timing_flags.sql).
const TRAVEL_KMH = 120;

// How long a too-fast inspection took: seconds under two minutes, else minutes and seconds.
function briefly(secs) {
  const s = Math.floor(secs);
  return s < 120 ? t('rv.time.seconds', { count: s }) : t('rv.insp.tookMinutes', { m: Math.floor(s / 60), s: s % 60 });
}

// What the visit's own times say against it, one sentence each ([flag, text, the other inspection's id
// or null]): answered faster than the items can be checked, or overlapping (or too close in time to)
// another visit of the same inspector. One outside the reviewer's area is neither named nor linked:
// the server does not say which it is.
function timingWarnings(tm, insp) {
  if (!tm || tm.phone_clock_off) return [];
  // Another visit on the same day says its time of day; on another day, its date too.
  const clock = (v) => (insp.started_at && fmtDate(v) === fmtDate(insp.started_at) ? fmtClock(v) : fmtDateTime(v));
  const out = [];
  if (tm.too_fast) {
    out.push(['too_fast', t('rv.time.tooFast', { count: tm.answered, took: briefly(tm.seconds), min: tm.min_seconds_per_answer }), null]);
  }
  for (const o of tm.overlaps) {
    const vars = { from: clock(o.started_at), to: clock(o.finished_at), speed: TRAVEL_KMH };
    if (!o.station) {
      out.push(['overlaps', t(o.overlapping ? 'rv.time.overlapsHidden' : 'rv.time.travelHidden', vars), null]);
      continue;
    }
    const named = { ...vars, station: `${o.station.code} ${oneName(o.station.name)}`.trim(),
      distance: o.distance_km == null ? '' : fmtDistance(o.distance_km * 1000) };
    const key = !o.overlapping ? 'rv.time.travel' : o.distance_km == null ? 'rv.time.overlapsHere' : 'rv.time.overlaps';
    out.push(['overlaps', t(key, named), o.inspection_id]);
  }
  return out;
}

function presence(ctx, answers) {
  const { insp } = ctx;
  const p = insp.presence;
  const photos = Object.entries(insp.answers).flatMap(([key, a]) => (a.photos || []).map((pid) => [key, pid]));
  const judged = new Map((ctx.evidence?.per_photo || []).map((j) => [j.photo_id, j]));
  const warnings = evidenceWarnings(insp, ctx.evidence);
  const timings = timingWarnings(ctx.timing, insp);
  const heads = [[t('rv.ev.item')], [t('rv.ev.evidence')], [t('rv.ev.reused')]];
  const summary = h('summary', { text: t('rv.ev.title', { count: photos.length }) });
  let reused = 0;
  const rows = photos.map(([key, pid], n) => {
    const ev = h('div', { class: 'rv-evidence', text: '…' });
    const where = h('div', { text: '…' });
    // A photo that disagrees with the visit is marked, and says so before its evidence.
    const problems = judged.get(pid)?.problems || [];
    const mark = problems.length ? tag('warn', 'warn', t('rv.ev.problem'), { dataset: { problems: problems.join(' ') } }) : null;
    ctx.meta(pid).then((meta) => {
      mount(ev, mark, evidence(meta));
      const links = reuse(meta, ctx.stations);
      mount(where, links ? [flagPill('reused'), links] : h('span', { class: 'hint', text: t('rv.ev.notReused') }));
      if (!links) return;
      reused += 1;
      mount(summary, t('rv.ev.title', { count: photos.length }), ' · ', flagPill('reused'), ` ${t('rv.ev.reusedCount', { count: reused })}`);
      answers.querySelector(`li[data-photo="${pid}"]`)?.append(flagPill('reused'));
    }, (err) => mount(ev, mark, problem(err)));
    return row(heads, [`${n + 1}. ${tx(ctx.items[key]?.label) || key}`, ev, where],
      problems.length ? { class: 'rv-ev-bad', dataset: { photo: pid, problems: problems.join(' ') } } : { dataset: { photo: pid } });
  });
  // "At the station" in green only when nothing says otherwise: the fix is precise enough and every
  // photo agrees with the visit.
  const status = p.location_missing ? tag('warn', 'pin', t('rv.pres.noLocation'))
    : p.far_from_station ? flagPill('far')
      : warnings.length || timings.length ? null : tag('ok', 'pin', t('rv.pres.near'));
  return card({ 'aria-labelledby': 'rv-pres-h' }, h('h2', { id: 'rv-pres-h', text: t('rv.pres.title') }),
    status && h('p', {}, status),
    warnings.length > 0 && h('ul', { class: 'rv-ev-warnings', id: 'rv-ev-warnings' }, warnings.map(([flag, text, more]) =>
      h('li', { dataset: { flag } }, flagPill(flag), ` ${text}`, more))),
    timings.length > 0 && h('ul', { class: 'rv-ev-warnings', id: 'rv-time-warnings' }, timings.map(([flag, text, other]) =>
      h('li', { dataset: { flag } }, flagPill(flag), ` ${text}`,
        other && [' ', h('a', { href: `#/review/i/${other}`, text: t('rv.time.open'), dataset: { inspection: other } })]))),
    p.distance_m != null && h('p', { text: t('rv.pres.distance', { distance: fmtDistance(p.distance_m) }) }),
    insp.location?.accuracy_m != null && h('p', { text: t('start.accuracy', { accuracy: fmtNumber(Math.round(insp.location.accuracy_m)) }) }),
    insp.missing_photos.length > 0 && h('p', {}, flagPill('missing'), ` ${t('rv.pres.missing', { count: insp.missing_photos.length })}`),
    // Opened when anything is wrong with the evidence, so the marked rows are in sight.
    photos.length > 0 && h('details', { open: warnings.length > 0 }, summary,
      table(heads, rows, 'rv-cards')));
}

// Photos as a row of thumbnails, each enlarged on tap with what its record says (evidence, and the
// original to download): an item's answer here, and an action's evidence of its fix on the actions
// board. `alt(n)` names the n-th photo (from 0), `meta(id)` reads a photo's record, and `lazy(img, load)`
// loads a thumbnail once it comes into sight (at once when not given).
export function photoThumbs(ids, { title, alt, meta, lazy = (img, load) => load() }) {
  return h('ul', { class: 'thumbs' }, ids.map((pid, n) => {
    const img = h('img', { alt: alt(n), width: 76, height: 76 });
    lazy(img, async () => { img.src = (await thumbUrl(pid)) || ''; });
    return h('li', { dataset: { photo: pid } }, h('button', { type: 'button', class: 'thumb', 'aria-label': t('rv.enlarge', { n: n + 1 }),
      onclick: () => enlarge(pid, title, img.alt, meta) }, img));
  }));
}

async function enlarge(pid, title, alt, metaOf) {
  const img = h('img', { class: 'photo-large', alt });
  const meta = await metaOf(pid).catch(() => null);
  let url = null;
  api.photoBlob(pid, 'display').then((blob) => { url = URL.createObjectURL(blob); img.src = url; }, (err) => img.replaceWith(errorBox(err)));
  const choice = await dialog({ title, body: h('div', {}, img, meta && h('div', { class: 'rv-evidence' }, evidence(meta))),
    actions: [{ label: t('rv.original'), value: 'original' }, { label: t('close'), value: 'close', kind: 'primary' }] });
  if (url) URL.revokeObjectURL(url);
  if (choice !== 'original') return;
  // The original is never shown inline: it is saved as a file, exactly as the phone sent it.
  try {
    saveBlob(await api.photoBlob(pid, 'original'), `${pid}.${{ jpeg: 'jpg', png: 'png', webp: 'webp' }[meta?.format] || 'bin'}`);
  } catch (err) { toast(problem(err), { kind: 'error' }); }
}

function commentDialog(item, ctx, done) {
  const area = h('textarea', { rows: 4, maxlength: 4000, value: ctx.draft.item_comments[item.key] || '' });
  return dialog({
    title: t('rv.commentOn', { label: tx(item.label) }),
    body: field(t('rv.commentLabel'), area, { hint: t('rv.commentHint') }),
    actions: [{ label: t('cancel'), value: null }, { label: t('rv.save'), value: 'save', kind: 'primary' }],
    onSubmit: () => {
      const text = area.value.trim();
      if (text) ctx.draft.item_comments[item.key] = text; else delete ctx.draft.item_comments[item.key];
      ctx.saveDraft();
      done();
    },
  });
}

function overrideDialog(item, s, ctx, done) {
  const now = ctx.draft.score_overrides[item.key];
  const score = h('input', { type: 'text', inputmode: 'decimal', dir: 'ltr', autocomplete: 'off', class: 'input-number', value: now ? inputNumber(Number((now.score * 100).toFixed(9))) : '' });
  const reason = h('textarea', { rows: 3, maxlength: 2000, value: now?.reason || '' });
  // Each problem is said at its field (UX: errors next to the field), and the first takes focus.
  const form = h('div', { class: 'rv-form' }, h('p', { text: t('rv.overrideOriginal', { score: itemPct(s) }) }),
    fieldBox('score', t('rv.overrideScore'), score, { hint: t('rv.overrideScoreHint') }),
    fieldBox('reason', t('rv.overrideReason'), reason, { hint: t('rv.overrideReasonHint') }));
  return dialog({
    title: t('rv.overrideTitle', { label: tx(item.label) }),
    body: form,
    actions: [now && { label: t('rv.removeOverride'), value: 'remove', kind: 'danger' },
      { label: t('cancel'), value: null }, { label: t('rv.save'), value: 'save', kind: 'primary' }].filter(Boolean),
    onSubmit: (v) => {
      const n = readNumber(score.value) ?? NaN;
      const bad = [!(n >= 0 && n <= 100) && { field: 'score', message: t('rv.overrideScoreBad') },
        !reason.value.trim() && { field: 'reason', message: t('rv.overrideReasonMissing') }].filter(Boolean);
      placeProblems(form, v === 'save' ? bad : []);
      if (v === 'save' && bad.length) return false;
      if (v === 'save') ctx.draft.score_overrides[item.key] = { score: n / 100, reason: reason.value.trim() };
      else delete ctx.draft.score_overrides[item.key];
      ctx.saveDraft();
      done();
    },
  });
}

function decisionPanel(ctx, id, key, reload) {
  const { insp, draft, def } = ctx;
  const node = card({ class: 'rv-decision', 'aria-labelledby': 'rv-dec-h' }, h('h2', { id: 'rv-dec-h', text: t('rv.decision') }));
  if (!ctx.reviewable) {
    const r = ctx.latest;
    add(node, h('p', { id: 'rv-decided', tabindex: -1, text: t(`rv.decided.${insp.status}`, { who: r?.reviewer.display_name, when: r && fmtDateTime(r.created_at) }) }),
      r?.comment && h('p', { class: 'rv-quote', dir: 'auto', text: r.comment }));
    return { node, update() {} };
  }
  const summary = h('div', { 'aria-live': 'polite' });
  const errors = h('div', { role: 'alert' });
  const comment = h('textarea', { id: 'rv-comment', rows: 4, maxlength: 4000, value: draft.comment,
    oninput: () => { draft.comment = comment.value; ctx.saveDraft(); } });
  const commentField = h('div');
  const showComment = (error) => mount(commentField, field(t('rv.generalComment'), comment, { hint: t('rv.generalHint'), error }));
  const label = (k) => tx(ctx.items[k]?.label) || k;
  // In-page anchors would change the route, so these jump links scroll with a button.
  const jumps = (keys) => h('ul', { class: 'rv-jumps' }, keys.map((k) => h('li', {}, h('button', { type: 'button', class: 'btn btn-light rv-jump',
    onclick: () => { const el = document.getElementById(`rv-item-${k}`); el?.scrollIntoView(); el?.querySelector('button')?.focus({ preventScroll: true }); } }, label(k)))));
  const update = () => {
    const comments = Object.keys(draft.item_comments);
    const changes = Object.keys(draft.score_overrides);
    const scores = Object.fromEntries(changes.map((k) => [k, draft.score_overrides[k].score]));
    mount(summary,
      comments.length ? [h('p', { class: 'strong', text: t('rv.pendingComments', { count: comments.length }) }), jumps(comments)] : null,
      changes.length ? [h('p', { class: 'strong', text: t('rv.pendingOverrides', { count: changes.length }) }), jumps(changes),
        h('p', { id: 'rv-preview', text: t('rv.scorePreview', { from: pct(insp.score?.percent), to: pct(scoreOf(def, insp.answers, scores).percent) }) })] : null,
      comments.length + changes.length ? null : h('p', { class: 'hint', text: t('rv.nothingPending') }));
  };
  // A decision redraws the page, taking the pressed button with it: focus moves to what was
  // decided, or back to the same button when the decision was refused as stale.
  const refocus = (decision) => (document.getElementById('rv-decided') || document.getElementById(`rv-${decision}`))?.focus({ preventScroll: true });
  const decide = (decision) => async (e) => {
    mount(errors);
    showComment();
    if (decision === 'return' && !draft.comment.trim()) { showComment(t('rv.commentRequired')); comment.focus(); return; }
    await busy(e.currentTarget, async () => {
      try {
        await api.reviewer.review(id, { decision, revision: insp.revision, comment: draft.comment.trim(),
          item_comments: draft.item_comments, score_overrides: draft.score_overrides });
        await kv.del(key).catch(() => {});
        toast(t(`rv.done.${decision}`));
        await reload();
        refocus(decision);
      } catch (err) {
        if (err.status !== 409) {
          mount(errors, h('div', { class: 'callout callout-fail' }, icon('alert'), h('div', {}, h('p', { text: problem(err) }),
            h('ul', {}, err.errors?.map((x) => h('li', { text: `${label(x.field.split('.')[1] || x.field)}: ${sayServer(x.message)}` }))))));
          return;
        }
        // Someone decided meanwhile: say so, then show the current copy. The draft stays.
        await alertDialog(t('rv.stale.title'), problem(err));
        await reload();
        refocus(decision);
      }
    });
  };
  showComment();
  add(node, h('p', { class: 'hint', text: t('rv.decisionLead') }), summary, commentField, errors,
    h('div', { class: 'rv-decide' },
      button(t('rv.approve'), decide('approve'), { kind: 'primary', iconName: 'check', id: 'rv-approve' }),
      button(t('rv.return'), decide('return'), { kind: 'danger', iconName: 'back', id: 'rv-return' })));
  update();
  return { node, update };
}

function historyCard(history, reviews, items) {
  const events = [
    // Revisions a review made are shown by the review itself, with its comment.
    ...(history?.revisions || []).filter((r) => r.status === 'draft' || r.status === 'submitted').map((r) => ({ at: r.at, icon: 'sync',
      text: t('rv.hist.revision', { n: r.revision, status: t(`rv.st.${r.status}`), who: r.actor || '—' }) })),
    ...(history?.conflicts || []).map((c) => ({ at: c.at, icon: 'warn', text: t(`rv.hist.${c.reason}`, { base: c.base_revision, who: c.actor || '—' }) })),
    ...reviews.map((v) => ({ at: v.created_at, icon: v.decision === 'approve' ? 'check' : 'note',
      text: t(`rv.hist.${v.decision}`, { who: v.reviewer.display_name, n: v.revision }),
      more: [v.comment && h('p', { class: 'rv-quote', dir: 'auto', text: v.comment }),
        // Each item's comment as the reviewer wrote it, under the item's name (the inspector's phone
        // shows it on the item itself).
        Object.entries(v.item_comments).map(([key, text]) => h('p', { class: 'rv-item-comment' },
          `${tx(items[key]?.label) || key}: `, h('bdi', { text }))),
        v.overrides.map((o) => h('p', {}, `${tx(items[o.item_key]?.label) || o.item_key}: ${t('rv.overrideFromTo', { from: itemPct(o.original_score), to: itemPct(o.score) })} — `,
          h('bdi', { text: o.reason }), o.superseded_at ? ` (${t('rv.superseded')})` : '')),
        v.percent_before !== v.percent_after && h('p', { text: t('rv.scoreChanged', { from: pct(v.percent_before), to: pct(v.percent_after) }) })] })),
  ].sort((a, b) => a.at.localeCompare(b.at));
  return card({ 'aria-labelledby': 'rv-hist-h' }, h('h2', { id: 'rv-hist-h', text: t('rv.history') }),
    h('ol', { class: 'rv-timeline' }, events.map((e) => h('li', {}, icon(e.icon),
      h('div', {}, h('p', { class: 'hint', text: fmtDateTime(e.at) }), h('p', { text: e.text }), e.more)))));
}
