// Review before submit (score, grade, critical failures, what is missing, then Submit), and
// after submit the inspection's state in words: saved on this phone → sending → on server,
// or needs attention with what the server said and what the inspector can do about it.

import { on } from '../../bus.js';
import { fmtDateTime, fmtDistance, fmtNumber, fmtPercent, t, tx } from '../../i18n.js';
import { hiddenPhotos, isFailed, missing } from '../../form.js';
import { FAR_M, distanceM } from '../../geo.js';
import { discard, editable, keepMine, loadDraft, submit, takeServerCopy } from '../../inspection.js';
import { entriesFor, photoRefusal, retryNow } from '../../outbox.js';
import { navigate, render } from '../../router.js';
import { score, visibility } from '../../scoring.js';
import { station, version } from '../../state.js';
import { button, card, confirmDialog, h, icon, keepingFocus, pill } from '../../ui.js';
import { errorsCallout, missingTemplate, notFound, refusedPhotosCallout, removedPhotosNote, returnedCallout, syncPill } from './common.js';

// The server's copy in a 409 can no longer be changed by its inspector (submitted or reviewed).
const serverFinal = (draft) => !!draft.conflict && !['draft', 'returned'].includes(draft.conflict.status);
const itemLink = (draft, s, item, text) => h('a', { href: `#/i/${draft.id}/s/${s}?item=${item.key}` }, text || tx(item.label));

export async function reviewView(params) {
  const draft = await loadDraft(params.id);
  if (!draft) return notFound();
  const ver = version(draft.template_version_id);
  if (!ver) return missingTemplate(draft);
  const def = ver.definition;
  const st = station(draft.station_id);
  const canEdit = editable(draft);
  const result = !canEdit && draft.local_score ? draft.local_score : score(def, draft.answers);
  const left = canEdit ? missing(def, draft.answers) : [];
  const entries = await entriesFor(draft.id);
  const photosWaiting = entries.filter((e) => e.kind === 'photo').length;
  const inParts = partsProgress(draft, entries, photosWaiting);
  // A refused photo is said by item with its way out (refusedPhotosCallout), not as a bare error code.
  const photoRefused = entries.some((e) => photoRefusal(e) && e.error?.status === draft.error?.status && e.error?.detail === draft.error?.detail);

  const visible = visibility(def, draft.answers);
  const criticals = [];
  (def.sections || []).forEach((s, i) => s.items.forEach((item) => {
    if (item.critical && visible[item.key] && isFailed(item, draft.answers[item.key])) criticals.push([i, item]);
  }));

  const failGrade = result.grade === 'fail';
  const scoreCard = card({ class: 'score-card', 'aria-labelledby': 'score-h' },
    h('h2', { id: 'score-h', text: t('review.score') }),
    h('p', { class: 'big-score' },
      h('span', { id: 'overall-percent', dataset: { percent: result.percent ?? '' }, text: fmtPercent(result.percent) }),
      failGrade ? pill('fail', t('grade.fail'), { id: 'grade', dataset: { grade: 'fail' } })
        : h('span', { class: 'grade', id: 'grade', dataset: { grade: result.grade ?? '' }, text: t('review.grade', { grade: result.grade ?? '—' }) })),
    criticals.length ? h('div', { class: 'callout callout-fail' }, icon('cross'), h('div', {},
      h('h3', { text: t('review.criticalFailed', { count: criticals.length }) }),
      h('ul', {}, criticals.map(([s, item]) => h('li', {}, itemLink(draft, s, item)))))) : null,
    h('table', { class: 'sections-table' },
      h('caption', { class: 'visually-hidden', text: t('review.sectionScores') }),
      h('tbody', {}, (def.sections || []).map((s, i) => h('tr', {},
        h('th', { scope: 'row' }, h('a', { href: `#/i/${draft.id}/s/${i}` }, tx(s.title))),
        h('td', { text: fmtPercent(result.sections[i]?.percent) }))))),
    draft.server?.score && draft.sync === 'on_server'
      ? h('p', { class: 'hint', id: 'server-percent', text: t('review.serverScore', { percent: fmtPercent(draft.server.score.percent) }) }) : null,
  );

  const gps = (() => {
    const loc = draft.location;
    if (!loc) return pill('warn', t('start.noFix'));
    const text = t('review.location', { accuracy: fmtNumber(loc.accuracy_m ?? 0) });
    if (st?.lat == null) return h('p', { text });
    const d = distanceM(loc.lat, loc.lon, st.lat, st.lon);
    return h('div', {}, h('p', { text }),
      d > FAR_M ? pill('warn', t('start.far', { distance: fmtDistance(d) })) : pill('ok', t('start.near', { distance: fmtDistance(d) })));
  })();

  let body;
  if (canEdit) {
    const hidden = hiddenPhotos(draft, def);
    const submitBtn = button(t('review.submit'), async () => {
      submitBtn.disabled = true;
      // Refused by a full phone: already said (save-failed); it stays a draft to submit again.
      try { await submit(draft, def); } catch { submitBtn.disabled = false; return; }
      render();
    }, { kind: 'primary', iconName: 'check', class: 'btn-block', disabled: left.length > 0, id: 'submit' });
    body = [
      left.length ? card({ class: 'missing' }, h('h2', { text: t('review.missing', { count: left.length }) }),
        h('ul', {}, left.map((m) => h('li', {}, itemLink(draft, m.section, m.item,
          m.reason === 'photos' ? t('fill.needPhotos', { label: tx(m.item.label), have: m.have, need: m.need }) : tx(m.item.label))))),
        h('p', { class: 'hint', text: t('review.fixFirst') })) : null,
      hidden.length ? h('div', { class: 'callout callout-warn', id: 'hidden-photos' }, icon('alert'), h('div', {},
        h('p', { text: t('review.hiddenPhotos', { count: hidden.reduce((n, x) => n + x.photos.length, 0) }) }),
        h('ul', {}, hidden.map((x) => h('li', { text: tx(x.item.label) }))))) : null,
      submitBtn,
      button(t('review.backToForm'), () => navigate(`/i/${draft.id}/s/0`), { iconName: 'back', class: 'btn-block' }),
      draft.status === 'draft' && !draft.base_revision && !entries.length
        ? button(t('review.discard'), async () => {
          if (await confirmDialog(t('review.discard'), t('review.discardBody'), t('review.discardYes'))) { await discard(draft); navigate('/'); }
        }, { kind: 'danger', class: 'btn-block', iconName: 'trash' }) : null,
    ];
  } else {
    const explain = {
      queued: t('state.savedOnPhoneLong'), sending: t('state.sendingLong'),
      on_server: t('state.onServerLong'), attention: t('state.attentionLong'),
    }[draft.sync] || '';
    body = [
      draft.sync === 'attention' && draft.error?.status === 409 ? card({}, h('h2', { text: t('attention.choose') }),
        // A server copy that is submitted or reviewed is read-only to the inspector: sending the
        // phone's answers on top of it would only be refused again, for ever.
        serverFinal(draft) ? h('p', { class: 'hint', id: 'server-final', text: t('attention.serverFinal') })
          : button(t('attention.keepMine'), async () => { await keepMine(draft, def); render(); }, { kind: 'primary', class: 'btn-block', id: 'keep-mine' }),
        button(t('attention.takeServer'), async () => {
          if (await confirmDialog(t('attention.takeServer'), t('attention.takeServerBody'), t('attention.takeServer'))) { await takeServerCopy(draft); render(); }
        }, { class: 'btn-block' })) : null,
      draft.sync !== 'on_server' && draft.sync !== 'attention'
        ? button(t('outbox.sendNow'), () => retryNow(), { iconName: 'sync', class: 'btn-block' }) : null,
      h('p', { class: 'hint', text: explain }),
    ];
  }

  const node = h('div', { class: 'page review' },
    h('h1', { text: canEdit ? t('review.title') : t('review.statusTitle') }),
    h('p', { class: 'station-line', text: `${st ? tx(st.name) : ''} · ${tx(def.title)}` }),
    h('div', { class: 'status-line', id: 'inspection-status' }, syncPill(draft),
      photosWaiting ? pill('pending', t('state.photosWaiting', { count: photosWaiting })) : null),
    inParts ? h('p', { class: 'hint', id: 'photo-progress', dataset: inParts.data, text: inParts.text }) : null,
    draft.finished_at ? h('p', { class: 'hint', text: t('review.finished', { when: fmtDateTime(draft.finished_at) }) }) : null,
    photoRefused ? null : errorsCallout(draft, def),
    refusedPhotosCallout(draft, def, entries),
    removedPhotosNote(draft, def),
    returnedCallout(draft, def),
    scoreCard,
    card({}, h('h2', { text: t('review.where') }), gps),
    body);
  // The state changes under this screen as the outbox drains (here or in the service worker); drawn
  // again, it keeps focus where the person had it rather than dropping it to the top of the page.
  const off = on('outbox', () => keepingFocus(render));
  return { node, dispose: off };
}

// A photo going in parts (outbox.sendInParts) over a weak link: which of the inspection's photos it is
// and how much of it the server has, "Photo 2 of 5: 180 of 420 KB sent". Its photos are counted as
// the answers hold them, those already sent being the first.
function partsProgress(draft, entries, waiting) {
  const entry = entries.find((e) => e.kind === 'photo' && e.progress && e.state !== 'attention');
  if (!entry) return null;
  const { received, size } = entry.progress;
  const total = Math.max(waiting, Object.values(draft.answers || {}).reduce((n, a) => n + (a?.photos?.length || 0), 0));
  const n = Math.max(1, total - waiting + 1);
  const kb = (bytes) => Math.round(bytes / 1024);
  return {
    data: { photo: entry.ref, received, size },
    text: t('state.photoProgress', { n, total, sent: kb(received), size: kb(size) }),
  };
}
