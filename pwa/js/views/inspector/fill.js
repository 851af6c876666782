// Filling an inspection: one section per step, a progress bar, the live section score, one card
// per item, and at the end of each section the required items still unanswered with jump links.

import { fmtNumber, t, tx, fmtPercent } from '../../i18n.js';
import { missing, progressOf, sectionOfItem } from '../../form.js';
import { getFix } from '../../geo.js';
import { actionChecks } from '../../outbox.js';
import { editable, loadDraft, setLocation } from '../../inspection.js';
import { navigate } from '../../router.js';
import { score, visibility } from '../../scoring.js';
import { actionsFor, station, version } from '../../state.js';
import { button, countStatus, h, icon, mount, pill, progress } from '../../ui.js';
import { itemCard } from './item.js';
import { actionCallout, actionLine, errorsCallout, missingTemplate, notFound, returnedCallout } from './common.js';

// How long typing must rest before the section's head and lists are drawn again.
const TYPING_REST_MS = 300;

export async function fillView(params) {
  const draft = await loadDraft(params.id);
  if (!draft) return notFound();
  const ver = version(draft.template_version_id);
  if (!ver) return missingTemplate(draft);
  // A submitted inspection is read-only to its inspector until a reviewer returns it.
  const readonly = !editable(draft);
  const def = ver.definition;
  const sections = def.sections || [];
  const sIdx = Math.min(Math.max(0, Number(params.section) || 0), sections.length - 1);
  const section = sections[sIdx];
  const st = station(draft.station_id);
  const actions = actionsFor(draft.station_id);
  const keysHere = new Set(section.items.map((i) => i.key));
  // Listed atop their section (each is met again, with "Seen fixed", on its item's card). One whose
  // item this checklist lacks has no card: it is shown whole on the first section, so none is hidden.
  // An action names its checklist: item keys repeat across checklists (item_1 is the diary in one and
  // the fire extinguisher in another), so another checklist's action is not this one's item.
  const ours = actions.filter((a) => (!a.template_id || a.template_id === ver.template_id) && sectionOfItem(def, a.item_key) >= 0);
  const sectionActions = ours.filter((a) => keysHere.has(a.item_key));
  const itemless = sIdx === 0 ? actions.filter((a) => !ours.includes(a)) : [];
  const checks = actions.length ? await actionChecks() : new Map();

  const head = h('div', { class: 'fill-head' });
  // Its height keeps what the keyboard focuses out from under it (app.css: html:has(.fill-head)).
  if ('ResizeObserver' in window) {
    new ResizeObserver(() => {
      if (head.isConnected) document.documentElement.style.setProperty('--fill-head', `${head.getBoundingClientRect().height}px`);
    }).observe(head);
  }
  const steps = h('nav', { 'aria-label': t('fill.steps') });
  // The still-to-answer list is drawn again on every tap, so it is no live region (a screen reader
  // would read the whole list after each answer): only its count is said, and only when it changes.
  const missingBox = h('div', { class: 'missing' });
  const missingSaid = countStatus((n) => (n ? t('fill.stillToAnswer', { count: n }) : t('fill.sectionDone')), { id: 'missing-status' });
  const cards = new Map();
  // Typing (a text or number answer) draws the section's head, steps and "still to answer" once the
  // fingers rest: drawn on every key it cost a slow phone 60–170 ms a keystroke, and typing lagged.
  // The answer itself is saved at every key, and its own card is marked at once (item.js).
  // Which items show is worked out on every key (cheap), and a change drawn at once: a follow-up that
  // depends on a typed answer must be there for the next Tab.
  let resting = 0;
  const onChange = (key, { typing = false } = {}) => {
    clearTimeout(resting);
    const visible = typing && visibility(def, draft.answers);
    if (typing && [...cards].every(([k, card]) => card.hidden === !visible[k])) {
      resting = setTimeout(refresh, TYPING_REST_MS);
    } else refresh();
  };
  const ctx = { draft, def, actions: ours, checks, readonly, onChange };

  // A draft started without a GPS fix gets one as soon as the phone has it (written as that change
  // alone, since the fix may come after the inspector moved on: inspection.save). Not a returned one,
  // nor one the server has had (a refused resubmission is a draft again here): where it is corrected
  // says nothing of where it was done, and the server refuses a submitted inspection's place changed.
  if (!draft.location && draft.status === 'draft' && !draft.base_revision) {
    getFix({ timeout: 20000 }).then((fix) => { if (fix) setLocation(draft, fix); });
  }

  function refresh() {
    const visible = visibility(def, draft.answers);
    for (const [key, card] of cards) card.hidden = !visible[key];
    const result = score(def, draft.answers);
    const all = progressOf(def, draft.answers);
    const here = progressOf(def, draft.answers, sIdx);
    const pct = result.sections[sIdx]?.percent;
    mount(head,
      h('p', { class: 'station-line' }, h('span', { text: st ? tx(st.name) : '' }),
        h('span', { class: 'step-line', text: ` · ${t('fill.step', { n: fmtNumber(sIdx + 1), total: fmtNumber(sections.length) })}` })),
      progress(all.done, all.total, t('fill.progress', { done: fmtNumber(all.done), total: fmtNumber(all.total) })),
      h('p', { class: 'progress-text' },
        h('span', { text: t('fill.progress', { done: fmtNumber(all.done), total: fmtNumber(all.total) }) }),
        h('span', { class: 'section-score', id: 'section-score', dataset: { percent: pct ?? '' },
          text: t('fill.sectionScore', { percent: fmtPercent(pct) }) })),
    );
    mount(steps, stepNav(def, draft, sIdx));
    const left = readonly ? [] : missing(def, draft.answers).filter((m) => m.section === sIdx);
    missingSaid.say(left.length);
    mount(missingBox, left.length
      ? h('div', { class: 'callout callout-warn' }, icon('warn'), h('div', {},
        h('h2', { class: 'h3', text: t('fill.stillToAnswer', { count: left.length }) }),
        h('ul', {}, left.map((m) => h('li', {}, h('a', {
          href: `#item-${m.item.key}`, onclick: (e) => { e.preventDefault(); jumpTo(m.item.key); },
        }, m.reason === 'photos' ? t('fill.needPhotos', { label: tx(m.item.label), have: m.have, need: m.need }) : tx(m.item.label)))))))
      : (here.total && !readonly ? pill('ok', t('fill.sectionDone')) : ''));
  }

  const list = h('div', { class: 'items' });
  for (const item of section.items) {
    const card = itemCard(item, ctx);
    cards.set(item.key, card);
    list.append(card);
  }
  refresh();

  const last = sIdx === sections.length - 1;
  const nav = h('div', { class: 'step-buttons' },
    sIdx > 0 ? button(t('fill.prev'), () => navigate(`/i/${draft.id}/s/${sIdx - 1}`), { iconName: 'back' }) : h('span'),
    last ? button(t('fill.toReview'), () => navigate(`/i/${draft.id}/review`), { kind: 'primary', iconName: 'next' })
      : button(t('fill.next'), () => navigate(`/i/${draft.id}/s/${sIdx + 1}`), { kind: 'primary', iconName: 'next' }));

  const page = h('div', { class: 'page fill' },
    head, steps,
    returnedCallout(draft, def),
    errorsCallout(draft, def),
    sectionActions.length ? h('div', { class: 'callout callout-info' }, icon('warn'), h('div', {},
      h('h2', { class: 'h3', text: t('actions.title') }),
      h('ul', {}, sectionActions.map((a) => h('li', {}, actionLine(a)))))) : null,
    itemless.map((a) => actionCallout(a, checks.get(a.id), { canCheck: !readonly, lead: 'actions.item' })),
    h('h1', { class: 'section-title', text: tx(section.title) }),
    list, missingBox, missingSaid.node, nav);

  if (params.item) setTimeout(() => jumpTo(params.item), 50);
  return page;
}

function jumpTo(key) {
  const card = document.getElementById(`item-${key}`);
  if (!card) return;
  card.scrollIntoView({ block: 'start' });
  const target = card.querySelector('button[aria-pressed], input, textarea') || card;
  target.focus({ preventScroll: true });
}

function stepNav(def, draft, sIdx) {
  return h('ol', { class: 'steps' }, (def.sections || []).map((s, i) => {
    const p = progressOf(def, draft.answers, i);
    const done = p.total > 0 && p.done === p.total;
    return h('li', {}, h('a', {
      href: `#/i/${draft.id}/s/${i}`, 'aria-current': i === sIdx ? 'step' : null, class: done ? 'done' : null,
      'aria-label': `${tx(s.title)}: ${t('fill.progress', { done: fmtNumber(p.done), total: fmtNumber(p.total) })}`,
    }, done ? icon('check') : null, h('span', { text: fmtNumber(i + 1) })));
  }));
}
