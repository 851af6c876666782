// Screens every role has: sign-in, settings (account, language, storage, password, sign-out) and the
// outbox ("what is still on this phone"). Role screens live in views/<role>/.

import { fmtBytes, fmtDateTime, getDigits, getLang, problemText, setDigits, setLang, t, tx } from '../i18n.js';
import { PHOTOS, getAll } from '../db.js';
import { allEntries, dropActionCheck, photoRefusal, retryNow, unitOf } from '../outbox.js';
import { hasUnsent, refreshBundle, returnedOnServer, signOut, state, station, unsentDesk } from '../state.js';
import { alertDialog, button, card, confirmDialog, h, mount, pill } from '../ui.js';
import { allDrafts } from '../inspection.js';
import { actionLine, followOutbox } from './inspector/common.js';
import { draftRow, newestFirst } from './inspector/home.js';
import { loginView } from './login.js';

export function registerShared(route) {
  route('/login', { public: true, view: loginView });
  route('/settings', { view: settingsView });
  route('/sync', { view: outboxView });
  route('/password', { load: () => import('./password.js') });
}

async function storageCard() {
  const body = h('div');
  const est = await navigator.storage?.estimate?.().catch(() => null);
  const persisted = await navigator.storage?.persisted?.().catch(() => false);
  if (est) {
    body.append(h('p', { text: t('storage.used', { used: fmtBytes(est.usage || 0) }) }),
      h('p', { class: 'strong', text: t('storage.free', { free: fmtBytes(Math.max(0, (est.quota || 0) - (est.usage || 0))) }) }));
  }
  body.append(persisted ? pill('ok', t('storage.persisted')) : pill('warn', t('storage.notPersisted')));
  if (!persisted && navigator.storage?.persist) {
    body.append(button(t('storage.ask'), async (e) => {
      const granted = await navigator.storage.persist();
      e.currentTarget.replaceWith(granted ? pill('ok', t('storage.persisted')) : h('p', { class: 'hint', text: t('storage.denied') }));
    }));
  }
  return card({ 'aria-labelledby': 'st-h' }, h('h2', { id: 'st-h', text: t('storage.title') }), body);
}

async function settingsView() {
  const u = state.user;
  const langButtons = ['en', 'ur'].map((l) => h('button', {
    type: 'button', class: 'btn btn-choice', 'aria-pressed': String(getLang() === l), lang: l, onclick: () => setLang(l),
  }, l === 'ur' ? 'اردو' : 'English'));
  const b = state.bundle;
  return h('div', { class: 'page' },
    h('h1', { text: t('settings.title') }),
    card({}, h('h2', { text: t('settings.account') }),
      h('p', { class: 'strong', text: u.display_name }), h('p', { text: `${u.username} · ${t(`role.${u.role}`)}` })),
    card({}, h('h2', { text: t('settings.language') }), h('div', { class: 'choice-row' }, langButtons)),
    getLang() === 'ur' ? card({ id: 'digits' }, h('h2', { text: t('settings.digits') }), h('div', { class: 'choice-row' },
      ['latn', 'arabext'].map((d) => h('button', {
        type: 'button', class: 'btn btn-choice', 'aria-pressed': String(getDigits() === d), dataset: { digits: d },
        onclick: () => setDigits(d),
      }, t(d === 'latn' ? 'settings.digitsLatn' : 'settings.digitsUrdu'))))) : null,
    card({}, h('h2', { text: t('settings.data') }),
      h('p', { text: b.fetched_at ? t('settings.updated', { when: fmtDateTime(b.fetched_at) }) : t('settings.never') }),
      h('p', { text: t('settings.counts', { stations: Object.keys(b.stations).length, templates: Object.keys(b.templates).length }) }),
      button(t('settings.refresh'), async (e) => {
        const btn = e.currentTarget;
        btn.disabled = true;
        // null: the person who pressed has signed out meanwhile, and the next one is told nothing of it.
        try { if (await refreshBundle() !== null) alertDialog(t('settings.data'), t('settings.refreshed')); } catch (err) { alertDialog(t('error.title'), problemText(err)); }
        btn.disabled = false;
      }, { iconName: 'sync' })),
    await storageCard(),
    card({ id: 'password-card' }, h('h2', { text: t('password.heading') }),
      h('p', { class: 'hint', text: t('password.settingsHint') }),
      h('a', { class: 'btn btn-secondary', href: '#/password' }, h('span', { text: t('password.open') }))),
    card({}, h('h2', { text: t('signout.title') }),
      button(t('signout.button'), async () => {
        if (await hasUnsent()) { alertDialog(t('signout.title'), t('signout.refused')); return; }
        // Returned inspections not changed yet are on the server and come back at the next sign-in, but
        // still wait for correction: said before they leave the phone.
        const returned = (await allDrafts()).filter((d) => d.status === 'returned').length;
        if (returned && !(await confirmDialog(t('signout.title'), t('signout.returned', { count: returned }), t('signout.button')))) return;
        const desk = await unsentDesk();
        if (desk && !(await confirmDialog(t('signout.title'), t('signout.desk', { count: desk }), t('signout.button')))) return;
        // Looked at again as it happens: work begun meanwhile (another tab, or while a dialog was open).
        if (!(await signOut({ desk }))) alertDialog(t('signout.title'), t('signout.refused'));
      }, { kind: 'danger' })),
  );
}

const ENTRY_STATE = {
  pending: ['pending', 'state.queued'],
  sending: ['busy', 'state.sending'],
  attention: ['fail', 'state.attention'],
};

// What went wrong with an entry. A refused photo in plain words (the server writes for API clients,
// in English); an attempt that will be made again (no connection, a busy server) too, rather than the
// browser's "Failed to fetch"; the rest as the server or the outbox put it.
function entryError(e) {
  const refusal = photoRefusal(e);
  if (refusal) return t(`refused.${refusal}`);
  if (e.state !== 'attention') return t(e.error.status ? 'outbox.retryServer' : 'outbox.retryOffline');
  return problemText(e.error);
}

// What the outbox holds, by what it is for: an inspection with its photos, one row however many photos
// (a backlog of days is fifteen rows, not two hundred), or a corrective action's check. A row's state
// is its most pressing entry's, and each thing that went wrong is said once.
const RANK = { pending: 0, sending: 1, attention: 2 };

function outboxGroups(entries) {
  const groups = new Map();
  for (const e of entries) {
    const unit = unitOf(e);
    if (!groups.has(unit)) groups.set(unit, []);
    groups.get(unit).push(e);
  }
  return [...groups.values()];
}

// The outbox drains under this screen: it follows it (followOutbox), so a row says what is true now and
// goes once sent, drawn in place, not by the router, so the person keeps their place and their focus.
async function outboxView() {
  const node = h('div', { class: 'page' });
  const off = await followOutbox(node, outboxParts, (parts) => mount(node, ...parts));
  return { node, dispose: off };
}

async function outboxParts() {
  const entries = (await allEntries()).sort((a, b) => a.seq - b.seq);
  const list = h('ul', { class: 'list' });
  const drafts = new Map((await allDrafts()).map((d) => [d.id, d]));
  const queued = new Set(entries.map((e) => e.inspection_id));
  const sizes = new Map((await getAll(PHOTOS)).map((p) => [p.id, p.blob?.size || 0]));
  for (const group of outboxGroups(entries)) {
    const [first] = group;
    const worst = group.reduce((a, b) => ((RANK[b.state] ?? 0) > (RANK[a.state] ?? 0) ? b : a));
    const [kind, key] = ENTRY_STATE[worst.state] || ENTRY_STATE.pending;
    const photos = group.filter((e) => e.kind === 'photo');
    const bytes = photos.reduce((sum, e) => sum + (sizes.get(e.ref) || 0), 0);
    const d = drafts.get(first.inspection_id);
    const st = d && station(d.station_id);
    // A corrective action seen fixed belongs to no inspection: there is no screen of it to open.
    const title = first.kind === 'action'
      ? h('span', { class: 'strong' }, actionLine(first.action, 'outbox.actionCheck'))
      : h('a', { href: `#/i/${first.inspection_id}/review` },
        h('span', { class: 'strong', text: t('outbox.inspection', { station: st ? tx(st.name) : '' }) }));
    const problems = [...new Set(group.filter((e) => e.error).map(entryError))];
    // A refused check has no screen of its own to be mended on: it can be removed here (the screen
    // follows the outbox, so the row goes with it).
    const drop = first.kind === 'action' && first.state === 'attention'
      && button(t('actions.dropCheck'), () => dropActionCheck(first.seq), { class: 'action-drop' });
    list.append(h('li', { class: 'list-row', dataset: { kind: first.kind === 'action' ? 'action' : 'inspection', id: first.inspection_id || first.ref } },
      title,
      pill(kind, t(key)),
      photos.length ? h('p', { class: 'hint outbox-photos', text: t('outbox.photosLeft', { count: photos.length, size: fmtBytes(bytes) }) }) : null,
      problems.map((text) => h('p', { class: worst.state === 'attention' ? 'field-error' : 'hint', text })),
      drop || null));
  }
  // Drafts exist only on this phone until they are submitted; the sync badge says so, and this
  // screen, where the badge leads, lists them instead of claiming that everything is on the server.
  const local = [...drafts.values()].filter((d) => d.sync !== 'on_server' && !queued.has(d.id)).sort(newestFirst);
  const empty = local.length ? t('outbox.nothingQueued') : t('outbox.empty');
  // Returned and not changed yet: on the server, waiting for the inspector, nothing of it to send.
  const returned = [...drafts.values()].filter(returnedOnServer).sort(newestFirst);
  return [
    h('h1', { text: t('outbox.title') }),
    entries.length ? h('p', { text: t('outbox.lead') }) : h('p', { class: 'empty', text: empty }),
    list,
    entries.length ? button(t('outbox.sendNow'), () => retryNow(), { kind: 'primary', iconName: 'sync' }) : null,
    local.length ? h('section', { class: 'home-section', id: 'local-drafts', 'aria-labelledby': 'local-drafts-title' },
      h('h2', { id: 'local-drafts-title', text: t('outbox.draftsTitle') }),
      h('p', { class: 'hint', text: t('outbox.draftsLead') }),
      h('ul', { class: 'list' }, local.map(draftRow))) : null,
    returned.length ? h('section', { class: 'home-section', id: 'returned-on-server', 'aria-labelledby': 'returned-title' },
      h('h2', { id: 'returned-title', text: t('outbox.returnedTitle') }),
      h('p', { class: 'hint', text: t('outbox.returnedLead') }),
      h('ul', { class: 'list' }, returned.map(draftRow))) : null];
}
