// The sync badge in the top bar: always visible, always a word and an icon, never colour alone.
// "All on server" · "On server · N returned to you" · "N waiting" · "N need attention" · "Sign in to send".

import { DRAFTS, getAll } from '../db.js';
import { t } from '../i18n.js';
import { summary } from '../outbox.js';
import { hasUnsent, returnedOnServer, state } from '../state.js';
import { h, icon, mount } from '../ui.js';

// Hidden until it first knows what to say: never an empty pill in the bar.
const badge = h('a', { class: 'badge', href: '#/sync', id: 'sync-badge', 'aria-live': 'polite', hidden: true });

// The last state shown, so that a re-rendered top bar (a language switch) shows it in the new
// language at once instead of the old words until the next look.
let shown = null;

export function syncBadge() {
  if (shown) {
    draw(shown);
    refreshBadge();
  } else {
    update();  // the first look at once, not after the debounce
  }
  return badge;
}

// Typing in a note saves on every keystroke; the badge needs to look once things settle.
let pending = null;
export function refreshBadge() {
  clearTimeout(pending);
  pending = setTimeout(update, 150);
}

async function update() {
  const s = await summary();
  if (state.authNeeded && s.total) shown = { kind: 'warn', key: 'sync.signin' };
  else if (s.attention) shown = { kind: 'fail', key: 'sync.attention', count: s.attention };
  else if (s.waiting) shown = { kind: 'pending', key: 'sync.waiting', count: s.waiting };
  else if (await hasUnsent()) shown = { kind: 'pending', key: 'sync.drafts' };
  else shown = returnedState(await getAll(DRAFTS));
  draw(shown);
}

// Nothing to send; inspections returned and not changed yet are on the server too, and said so, as
// work that waits for the inspector.
function returnedState(drafts) {
  const returned = drafts.filter(returnedOnServer).length;
  return returned ? { kind: 'ok', key: 'sync.returned', count: returned } : { kind: 'ok', key: 'sync.all' };
}

const ICONS = { warn: 'warn', fail: 'alert', pending: 'phone', ok: 'cloud' };

function draw({ kind, key, count }) {
  badge.hidden = false;
  badge.className = `badge badge-${kind}`;
  badge.dataset.state = kind;
  mount(badge, icon(ICONS[kind]), h('span', { text: t(key, count === undefined ? undefined : { count }) }));
}
