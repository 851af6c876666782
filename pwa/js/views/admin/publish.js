// Publishing a template version. The draft on screen is saved first, so what is published is what
// the admin sees; then the changes since the last version (the server's summary, with the labels and
// the fields that differ filled in here) are shown for a confirmation. A published version never
// changes: inspections pin it.

import { api } from '../../api.js';
import { fmtNumber, t, tx } from '../../i18n.js';
import { alertDialog, dialog, h, toast } from '../../ui.js';
import * as model from './model.js';
import { busy, describeError } from './common.js';

const FIELD_WORD = {
  type: 'admin.type', label: 'admin.label', help: 'admin.help', required: 'admin.required', critical: 'admin.critical',
  weight: 'admin.weight', min_photos: 'admin.minPhotos', min: 'admin.numberMin', max: 'admin.max', unit: 'admin.unit',
  options: 'admin.options', visible_if: 'admin.condition', title: 'admin.sectionTitle', key: 'admin.key',
};
const SETTING_WORD = { title: 'admin.templateTitle', grade_bands: 'admin.bands', kinds: 'admin.kinds' };

function index(def) {
  const items = new Map();
  const sections = new Map();
  for (const section of def?.sections || []) {
    sections.set(section.key, section);
    for (const item of section.items || []) items.set(item.key, { item, section: section.key });
  }
  return { items, sections };
}

const name = (obj, field) => `${tx(obj?.[field]).trim() || obj?.key || ''}`;

// Which fields of an item differ between two versions, in words ("Label, Options").
function differences(before, after) {
  const fields = new Set([...Object.keys(before.item), ...Object.keys(after.item)]);
  const words = [...fields].filter((f) => model.stable(before.item[f]) !== model.stable(after.item[f]))
    .map((f) => t(FIELD_WORD[f] || f));
  if (before.section !== after.section) words.push(t('admin.changes.moved'));
  return words.join(', ');
}

export function changesSummary(changes, newDef, oldDef) {
  const now = index(newDef);
  const then = index(oldDef);
  const list = (id, title, keys, describe) => (keys.length ? h('div', { class: 'change-group', dataset: { group: id } },
    h('h3', { text: `${title} (${fmtNumber(keys.length)})` }),
    h('ul', {}, keys.map((k) => h('li', { dataset: { key: k } }, describe(k))))) : null);
  const body = h('div', { id: 'publish-changes', class: 'changes' });
  if (changes.first_version) {
    body.append(h('p', { text: t('admin.changes.first', { sections: newDef.sections.length, items: model.itemCount(newDef) }) }));
    return body;
  }
  const itemWords = (idx, k) => `${name(idx.items.get(k)?.item, 'label')} (${k})`;
  const sectionWords = (idx, k) => `${name(idx.sections.get(k), 'title')} (${k})`;
  body.append(...[
    list('items_added', t('admin.changes.itemsAdded'), changes.items_added, (k) => itemWords(now, k)),
    list('items_removed', t('admin.changes.itemsRemoved'), changes.items_removed, (k) => itemWords(oldDef ? then : now, k)),
    list('items_changed', t('admin.changes.itemsChanged'), changes.items_changed, (k) => {
      const before = then.items.get(k);
      const after = now.items.get(k);
      const what = before && after ? differences(before, after) : '';
      return `${itemWords(now, k)}${what ? ` — ${what}` : ''}`;
    }),
    list('sections_added', t('admin.changes.sectionsAdded'), changes.sections_added, (k) => sectionWords(now, k)),
    list('sections_removed', t('admin.changes.sectionsRemoved'), changes.sections_removed, (k) => sectionWords(oldDef ? then : now, k)),
    list('sections_changed', t('admin.changes.sectionsChanged'), changes.sections_changed, (k) => sectionWords(now, k)),
    changes.settings_changed.length ? h('p', { class: 'change-group', dataset: { group: 'settings' },
      text: t('admin.changes.settings', { names: changes.settings_changed.map((s) => t(SETTING_WORD[s] || s)).join(', ') }) }) : null,
  ].filter(Boolean));
  if (!body.childNodes.length) body.append(h('p', { text: t('admin.changes.none') }));
  return body;
}

export async function publishFlow(ui, { onPublished }) {
  const { session } = ui;
  const button = document.getElementById('publish');
  await busy(button, async () => {
    const saved = await ui.saveNow();
    if (!saved) {
      const why = session.status === 'invalid' ? t('admin.publishBlocked', { count: session.errors.length })
        : session.status === 'conflict' ? t('admin.conflictBody') : describeError(session.failure);
      await alertDialog(t('admin.publishBlockedTitle'), why);
      document.querySelector('#builder-problems a')?.focus();
      return;
    }
    const tpl = session.tpl;
    const nextVersion = (tpl.latest_version || 0) + 1;
    if (tpl.draft_status === 'published') {
      await alertDialog(t('admin.publishTitle', { version: fmtNumber(nextVersion) }), t('admin.publishNothing', { version: fmtNumber(tpl.latest_version) }));
      return;
    }
    let old = null;
    if (tpl.latest_version) {
      try { old = (await api.admin.version(tpl.id, tpl.latest_version)).definition; } catch { old = null; }
    }
    const go = await dialog({
      title: t('admin.publishTitle', { version: fmtNumber(nextVersion) }),
      body: [h('p', { text: tpl.latest_version ? t('admin.publishLead', { version: fmtNumber(tpl.latest_version) }) : t('admin.publishLeadFirst') }),
        changesSummary(tpl.draft_changes || { first_version: !tpl.latest_version, items_added: [], items_removed: [], items_changed: [],
          sections_added: [], sections_removed: [], sections_changed: [], settings_changed: [] }, model.clean(session.def), old),
        h('p', { class: 'hint', text: t('admin.publishNote') })],
      actions: [{ label: t('cancel'), value: false }, { label: t('admin.publishConfirm', { version: fmtNumber(nextVersion) }), value: true, kind: 'primary' }],
    });
    if (!go) return;
    try {
      // Only the draft whose changes were just shown: one saved by someone else meanwhile is refused (412).
      const result = await api.admin.publish(tpl.id, tpl.draft_etag);
      session.tpl = await api.admin.template(tpl.id);
      onPublished();
      toast(t('admin.published', { version: fmtNumber(result.version) }));
      const announce = document.getElementById('builder-announce');
      if (announce) announce.textContent = t('admin.published', { version: fmtNumber(result.version) });
    } catch (err) {
      if (err.status === 412) {
        ui.onConflict(err);
        await alertDialog(t('admin.conflictTitle'), t('admin.conflictBody'));
      } else if (err.status === 422) {
        ui.onInvalid(err);
        await alertDialog(t('admin.publishBlockedTitle'), t('admin.publishBlocked', { count: session.errors.length }));
        document.querySelector('#builder-problems a')?.focus();
      } else if (err.status === 409 && err.body?.version) {
        await alertDialog(t('admin.publishTitle', { version: fmtNumber(nextVersion) }), t('admin.publishNothing', { version: fmtNumber(err.body.version) }));
      } else {
        await alertDialog(t('error.title'), describeError(err));
      }
    }
  });
}
