// The live preview: the form as an inspector's phone shows it, built by the inspector's own card
// renderer (views/inspector/item.js) and scored by the same live scorer (scoring.js), so what the
// admin sees here cannot drift from what inspectors get. Answers given here stay in this pane.
//
// The cards speak the app's language (the renderer reads it), so the preview's language switch
// switches the whole screen; the editor shows both languages side by side either way.
//
// The renderer saves every answer into a draft in IndexedDB (inspection.js). The preview's draft
// has a fixed id and is marked as already on the server, so nothing counts it as unsent work or
// sends it, and it is deleted when the builder closes.

import { DRAFTS, del } from '../../db.js';
import { missing, progressOf } from '../../form.js';
import { fmtNumber, fmtPercent, getLang, setLang, t, tx } from '../../i18n.js';
import { score, visibility } from '../../scoring.js';
import { countStatus, h, icon, mount, pill, progress } from '../../ui.js';
import { itemCard } from '../inspector/item.js';
import { clean } from './model.js';

export const PREVIEW_ID = 'admin-preview';

export function forgetPreviewDraft() {
  return del(DRAFTS, PREVIEW_ID).catch(() => {});
}

export function previewState() {
  return { id: PREVIEW_ID, answers: {}, status: 'draft', sync: 'on_server', review: null, section: 0 };
}

function scoreLine(def, answers, sIdx) {
  const result = score(def, answers);
  const all = progressOf(def, answers);
  const section = result.sections[sIdx]?.percent ?? null;
  return h('div', { class: 'preview-score', id: 'preview-score' },
    progress(all.done, all.total, t('fill.progress', { done: fmtNumber(all.done), total: fmtNumber(all.total) })),
    h('p', { class: 'progress-text' },
      h('span', { text: t('fill.progress', { done: fmtNumber(all.done), total: fmtNumber(all.total) }) }),
      h('span', { class: 'section-score', text: t('fill.sectionScore', { percent: fmtPercent(section) }) })),
    h('p', { class: 'preview-overall' },
      h('span', { class: 'strong', id: 'preview-percent', dataset: { percent: result.percent ?? '' },
        text: t('admin.previewOverall', { percent: fmtPercent(result.percent) }) }),
      result.grade ? h('span', { class: 'grade', id: 'preview-grade', text: result.grade === 'fail' ? t('admin.gradeFail') : result.grade }) : null,
      result.critical_failed ? pill('fail', t('admin.criticalFailed')) : null));
}

export function renderPreview(host, ui) {
  const state = ui.session.preview;
  const def = clean(ui.session.def);
  const sections = def.sections;
  state.section = Math.max(0, Math.min(state.section, sections.length - 1));
  const sIdx = state.section;
  const section = sections[sIdx];
  const other = getLang() === 'ur' ? 'en' : 'ur';
  const head = h('div', { class: 'preview-head' });
  // No live region: the list is drawn again on every tap; only its count is said (ui.countStatus).
  const missingBox = h('div', { class: 'missing' });
  const missingSaid = countStatus((n) => (n ? t('fill.stillToAnswer', { count: n }) : t('fill.sectionDone')));
  const cards = new Map();

  const refresh = () => {
    const visible = visibility(def, state.answers);
    for (const [key, card] of cards) card.hidden = !visible[key];
    mount(head, scoreLine(def, state.answers, sIdx));
    const left = missing(def, state.answers).filter((m) => m.section === sIdx);
    missingSaid.say(left.length);
    mount(missingBox, left.length ? h('div', { class: 'callout callout-warn' }, icon('warn'), h('div', {},
      h('h4', { text: t('fill.stillToAnswer', { count: left.length }) }),
      h('ul', {}, left.map((m) => h('li', { text: m.reason === 'photos'
        ? t('fill.needPhotos', { label: tx(m.item.label), have: m.have, need: m.need }) : tx(m.item.label) })))))
      : '');
  };

  const draft = { id: PREVIEW_ID, answers: state.answers, status: 'draft', sync: 'on_server', review: null };
  const ctx = { draft, def, actions: [], readonly: false, onChange: () => refresh() };
  const list = h('div', { class: 'items' });
  for (const item of section?.items || []) {
    const card = itemCard(item, ctx);
    // Photos are not taken in the preview: the buttons look as they will, but do nothing here.
    for (const file of card.querySelectorAll('input[type=file]')) {
      file.disabled = true;
      file.closest('label')?.classList.add('preview-off');
    }
    cards.set(item.key, card);
    list.append(card);
  }
  refresh();

  const steps = h('ol', { class: 'steps' }, sections.map((s, i) => h('li', {}, h('button', {
    type: 'button', class: 'step-btn', 'aria-current': i === sIdx ? 'step' : null,
    'aria-label': `${t('admin.previewSection', { n: fmtNumber(i + 1) })}: ${tx(s.title)}`,
    onclick: () => { state.section = i; ui.refreshPreview({ now: true }); },
  }, h('span', { text: fmtNumber(i + 1) })))));

  host.replaceChildren(h('div', { class: 'preview', 'aria-labelledby': 'preview-h' },
    h('div', { class: 'preview-bar' },
      h('h2', { class: 'pane-title', id: 'preview-h', text: t('admin.preview') }),
      h('button', { type: 'button', class: 'btn btn-secondary', id: 'preview-lang', lang: other,
        onclick: () => { ui.session.focusPreviewLang = true; setLang(other); } },
      t(other === 'ur' ? 'admin.previewInUrdu' : 'admin.previewInEnglish')),
      h('button', { type: 'button', class: 'btn btn-light', id: 'preview-reset', onclick: () => {
        for (const k of Object.keys(state.answers)) delete state.answers[k];
        ui.refreshPreview({ now: true });
      } }, t('admin.previewReset'))),
    h('p', { class: 'hint', text: t('admin.previewHint') }),
    h('div', { class: 'phone', lang: getLang() },
      head, sections.length > 1 ? h('nav', { 'aria-label': t('fill.steps') }, steps) : null,
      section ? h('h3', { class: 'section-title', text: tx(section.title) }) : h('p', { class: 'empty', text: t('admin.previewEmpty') }),
      list, missingBox, missingSaid.node)));
  if (ui.session.focusPreviewLang) {
    ui.session.focusPreviewLang = false;
    host.querySelector('#preview-lang')?.focus();
  }
}
