// One card per template item: label, marks (required, critical, failed — each a word and an
// icon, never colour alone), help behind a tap, big answer controls, photos, a note on demand,
// and the reviewer's comment when the inspection came back. Controls update in place so focus
// stays where the thumb is.

import { fmtNumber, inputNumber, readNumber, t, tx } from '../../i18n.js';
import { MAX_TEXT, isAnswered, isFailed, photoCount } from '../../form.js';
import { addPhoto, removePhoto, setNote, setValue } from '../../inspection.js';
import { displayUrl, thumbUrl } from '../../photos.js';
import { add, button, dialog, h, icon, mount, pill, toast } from '../../ui.js';
import { actionCallout } from './common.js';

const YES_NO = [['yes', 'answer.yes'], ['no', 'answer.no'], ['na', 'answer.na']];
// The server's limits (form.MAX_TEXT, server/inspections/models.py Note and PhotoIds, the YYYY-MM-DD
// date): the phone holds to them as the inspector types, so that no draft is refused on every sync
// for a limit the form never showed.
const MAX_NOTE = 4000;
const MAX_PHOTOS = 50;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

export function itemCard(item, ctx) {
  const { draft } = ctx;
  const labelId = `lbl-${item.key}`;
  const status = h('div', { class: 'marks' });
  const card = h('article', { class: 'card item', id: `item-${item.key}`, dataset: { key: item.key, type: item.type }, 'aria-labelledby': labelId });
  const changed = () => { updateStatus(); ctx.onChange(item.key); };
  // A key typed into a text or number answer: the rest of the screen catches up once typing rests.
  const typed = () => { updateStatus(); ctx.onChange(item.key, { typing: true }); };

  function updateStatus() {
    const answer = draft.answers[item.key];
    const failed = isFailed(item, answer);
    card.classList.toggle('failed', failed);
    card.classList.toggle('answered', isAnswered(item, answer));
    mount(status,
      item.required ? pill('info', t('item.required'), { class: 'pill-quiet' }) : null,
      item.critical ? pill('warn', t('item.critical')) : null,
      failed ? pill('fail', item.critical ? t('item.criticalFailed') : t('item.failed')) : null,
    );
    photos.updateCount();
  }

  const helpText = item.help && tx(item.help);
  const help = helpText ? h('p', { class: 'help', id: `help-${item.key}`, hidden: true, text: helpText }) : null;
  const helpBtn = help ? h('button', {
    type: 'button', class: 'btn btn-light icon-only', 'aria-expanded': 'false', 'aria-controls': help.id,
    'aria-label': t('item.help'),
    onclick: (e) => { help.hidden = !help.hidden; e.currentTarget.setAttribute('aria-expanded', String(!help.hidden)); },
  }, icon('help')) : null;

  const comment = draft.review?.item_comments?.[item.key];
  const actions = (ctx.actions || []).filter((a) => a.item_key === item.key);
  const photos = photoStrip(item, ctx, changed);

  add(card,
    h('header', { class: 'item-head' }, h('h3', { id: labelId, text: tx(item.label) }), helpBtn),
    status, help,
    comment ? h('div', { class: 'callout callout-warn', role: 'note' }, icon('note'),
      h('div', {}, h('p', { class: 'strong', text: t('review.commentOnItem') }), h('p', { text: comment, dir: 'auto' }))) : null,
    ...actions.map((a) => actionCallout(a, ctx.checks?.get(a.id), { canCheck: !ctx.readonly })),
    control(item, ctx, labelId, changed, typed),
    photos.node,
    noteField(item, ctx),
  );
  updateStatus();
  return card;
}

function pressable(label, pressed, onclick, extra = {}) {
  return h('button', { type: 'button', 'aria-pressed': String(pressed), onclick, ...extra, class: ['btn', 'btn-choice', extra.class] },
    h('span', { text: label }));
}

// Buttons that behave like radio options; tapping the chosen one again clears the answer.
function choiceGroup(values, item, ctx, labelId, changed, { className, labelOf, multi = false }) {
  const { draft } = ctx;
  const group = h('div', { class: className, role: 'group', 'aria-labelledby': labelId });
  const current = () => draft.answers[item.key]?.value;
  // A multiple choice with nothing ticked is an answer ("none of these"), so taking the ticks off
  // does not undo it: this button does, back to unanswered. Shown only while there is an answer.
  const clear = multi ? h('button', {
    type: 'button', class: 'btn btn-light clear-answer', text: t('item.clear'), disabled: ctx.readonly,
    onclick: () => { setValue(draft, item.key, null); sync(); changed(); group.querySelector('button')?.focus(); },
  }) : null;
  const sync = () => {
    const v = current();
    for (const b of group.children) {
      const on = multi ? Array.isArray(v) && v.includes(b.dataset.value) : String(v) === b.dataset.value;
      b.setAttribute('aria-pressed', String(on));
    }
    if (clear) clear.hidden = !Array.isArray(v);
  };
  for (const value of values) {
    group.append(pressable(labelOf(value), false, () => {
      const v = current();
      let next;
      if (multi) {
        const set = new Set(Array.isArray(v) ? v : []);
        if (set.has(value)) set.delete(value); else set.add(value);
        // Keep the template's option order so the stored answer reads like the form.
        next = values.filter((x) => set.has(x));
      } else {
        next = v === value ? null : value;
      }
      setValue(draft, item.key, next);
      sync();
      changed();
    }, { dataset: { value: String(value) }, class: `v-${value}`, disabled: ctx.readonly }));
  }
  sync();
  return clear ? h('div', {}, group, clear) : group;
}

function control(item, ctx, labelId, changed, typed) {
  const { draft } = ctx;
  const value = draft.answers[item.key]?.value;
  switch (item.type) {
    case 'yes_no':
      return choiceGroup(YES_NO.map(([v]) => v), item, ctx, labelId, changed,
        { className: 'choice-row yes-no', labelOf: (v) => t(YES_NO.find(([x]) => x === v)[1]) });
    case 'scale': {
      const values = Array.from({ length: (item.max || 0) + 1 }, (_, i) => i);
      return h('div', {},
        choiceGroup(values, item, ctx, labelId, changed, { className: 'choice-row scale', labelOf: (v) => fmtNumber(v) }),
        h('p', { class: 'hint', text: t('item.scaleHint', { max: fmtNumber(item.max || 0) }) }));
    }
    case 'choice':
    case 'multi_choice': {
      const opts = item.options || [];
      const labels = Object.fromEntries(opts.map((o) => [o.key, tx(o.label)]));
      return h('div', {},
        item.type === 'multi_choice' ? h('p', { class: 'hint', text: t('item.multiHint') }) : null,
        choiceGroup(opts.map((o) => o.key), item, ctx, labelId, changed,
          { className: 'choice-col', labelOf: (k) => labels[k], multi: item.type === 'multi_choice' }));
    }
    case 'number': {
      // A text field read by readNumber: a browser's number field silently drops the Urdu digits an
      // Urdu keyboard types. What is not a number is said at once and answers nothing.
      const bad = h('p', { class: 'field-error', id: `${labelId}-nan`, hidden: true, text: t('item.notANumber') });
      const input = h('input', {
        type: 'text', inputmode: 'decimal', dir: 'ltr', autocomplete: 'off', spellcheck: 'false',
        value: inputNumber(value), 'aria-labelledby': labelId, disabled: ctx.readonly, class: 'input-number',
        oninput: () => {
          const n = readNumber(input.value);
          const nan = Number.isNaN(n);
          bad.hidden = !nan;
          if (nan) input.setAttribute('aria-invalid', 'true'); else input.removeAttribute('aria-invalid');
          if (nan) input.setAttribute('aria-describedby', bad.id); else input.removeAttribute('aria-describedby');
          setValue(draft, item.key, nan ? null : n);
          typed();
        },
      });
      const hasRange = item.min != null || item.max != null;
      const range = item.min != null && item.max != null ? t('item.range', { min: fmtNumber(item.min), max: fmtNumber(item.max) })
        : item.min != null ? t('item.rangeMin', { min: fmtNumber(item.min) })
          : t('item.rangeMax', { max: fmtNumber(item.max) });
      const unit = tx(item.unit);  // {en, ur}, or a plain string from before units were bilingual
      return h('div', { class: 'number-row' }, input, unit ? h('span', { class: 'unit', text: unit }) : null,
        bad, hasRange ? h('p', { class: 'hint', text: `${range}${unit ? ` ${unit}` : ''}` }) : null);
    }
    case 'text': {
      const ta = h('textarea', {
        rows: 3, value: value ?? '', 'aria-labelledby': labelId, disabled: ctx.readonly, maxlength: MAX_TEXT,
        oninput: () => { setValue(draft, item.key, ta.value); typed(); },
      });
      return ta;
    }
    case 'date': {
      // A four-digit year, as the server's YYYY-MM-DD wants: without `max` a date field takes six.
      const input = h('input', {
        type: 'date', value: value ?? '', 'aria-labelledby': labelId, disabled: ctx.readonly, min: '0001-01-01', max: '9999-12-31',
        onchange: () => { setValue(draft, item.key, ISO_DATE.test(input.value) ? input.value : null); changed(); },
      });
      return input;
    }
    default:
      return null;  // photo items: the photo strip is the answer
  }
}

function noteField(item, ctx) {
  const { draft } = ctx;
  const note = draft.answers[item.key]?.note || '';
  const ta = h('textarea', {
    rows: 2, value: note, 'aria-label': t('item.noteFor', { label: tx(item.label) }), disabled: ctx.readonly, maxlength: MAX_NOTE,
    oninput: () => setNote(draft, item.key, ta.value),
  });
  const wrap = h('div', { class: 'note', hidden: !note }, ta);
  const toggle = button(t('item.addNote'), () => { wrap.hidden = false; toggle.hidden = true; ta.focus(); },
    { kind: 'light', iconName: 'note', hidden: !!note || ctx.readonly, 'aria-expanded': 'false' });
  return h('div', {}, toggle, wrap);
}

function photoStrip(item, ctx, changed) {
  const { draft } = ctx;
  const need = item.min_photos || 0;
  const count = h('p', { class: 'photo-count' });
  const strip = h('ul', { class: 'thumbs', 'aria-label': t('photo.list', { label: tx(item.label) }) });
  const busy = h('p', { class: 'hint', hidden: true, role: 'status', text: t('photo.processing') });

  const renderThumbs = async () => {
    const ids = draft.answers[item.key]?.photos || [];
    const rows = await Promise.all(ids.map(async (id, i) => {
      const url = await thumbUrl(id);
      const alt = t('photo.alt', { n: i + 1, label: tx(item.label) });
      return h('li', {}, h('button', { type: 'button', class: 'thumb', 'aria-label': alt, onclick: () => openPhoto(id, alt) },
        url ? h('img', { src: url, alt: '', width: 72, height: 72, loading: 'lazy', decoding: 'async' })
          : h('span', { class: 'thumb-missing', text: t('photo.onServer') })));
    }));
    mount(strip, rows);
  };

  const openPhoto = async (id, alt) => {
    const url = await displayUrl(id);
    const choice = await dialog({
      title: alt,
      body: url ? h('img', { src: url, alt, class: 'photo-large' }) : h('p', { text: t('photo.onServer') }),
      actions: ctx.readonly ? [{ label: t('close'), value: false, kind: 'primary' }]
        : [{ label: t('photo.delete'), value: 'delete', kind: 'danger' }, { label: t('close'), value: false, kind: 'primary' }],
    });
    if (url) URL.revokeObjectURL(url);
    if (choice === 'delete') {
      const at = (draft.answers[item.key]?.photos || []).indexOf(id);
      try {
        await removePhoto(draft, item.key, id);
      } catch (err) {
        // Not removed (the phone full): it stays shown, as it stays stored and named.
        toast(t(err?.name === 'QuotaExceededError' ? 'save.full' : 'save.failed'), { kind: 'error' });
        return;
      }
      await renderThumbs();
      changed();
      // The thumbnail that had focus is gone with its photo: focus goes to the one now in its place,
      // else the one before it, else the camera button, rather than to the top of the page.
      const thumbs = strip.querySelectorAll('.thumb');
      (thumbs[at] || thumbs[thumbs.length - 1] || node.querySelector('input[data-source=camera]'))?.focus();
    }
  };

  // Photos picked here and still being resized: an answer counts a photo only once it is stored, so a
  // second pick meanwhile must count these too, or the item could pass the server's limit.
  let inFlight = 0;
  const onFiles = (fromCamera) => async (e) => {
    const room = MAX_PHOTOS - photoCount(draft.answers[item.key]) - inFlight;
    const files = [...e.target.files].slice(0, Math.max(room, 0));
    if (e.target.files.length > files.length) toast(t('photo.tooMany', { max: fmtNumber(MAX_PHOTOS) }), { kind: 'error' });
    e.target.value = '';
    if (!files.length) return;
    busy.hidden = false;
    inFlight += files.length;
    for (const f of files) {
      try {
        await addPhoto(draft, item.key, f, { fromCamera });
      } catch (err) {
        console.error(err);
        toast(t(err?.name === 'QuotaExceededError' ? 'photo.full' : 'photo.failed'), { kind: 'error' });
      } finally {
        inFlight -= 1;
      }
    }
    busy.hidden = inFlight > 0;
    await renderThumbs();
    changed();
  };

  const picker = (fromCamera) => h('label', { class: 'btn btn-secondary file-btn' },
    h('input', {
      type: 'file', accept: 'image/*', class: 'visually-hidden', multiple: !fromCamera,
      capture: fromCamera ? 'environment' : null, dataset: { source: fromCamera ? 'camera' : 'gallery' },
      onchange: onFiles(fromCamera),
    }),
    icon(fromCamera ? 'camera' : 'image'), h('span', { text: t(fromCamera ? 'photo.camera' : 'photo.gallery') }));

  renderThumbs();
  const node = h('div', { class: ['photos', (need > 0 || item.type === 'photo') && 'photos-wanted'] },
    count, strip, busy, ctx.readonly ? null : h('div', { class: 'photo-buttons' }, picker(true), picker(false)));

  return {
    node,
    updateCount() {
      const have = photoCount(draft.answers[item.key]);
      if (need > 0) {
        mount(count, have >= need ? pill('ok', t('photo.countOk', { have: fmtNumber(have), need: fmtNumber(need) }))
          : pill('warn', t('photo.countShort', { have: fmtNumber(have), need: fmtNumber(need) })));
      } else {
        mount(count, have ? h('span', { class: 'hint', text: t('photo.count', { count: have }) }) : '');
      }
    },
  };
}

