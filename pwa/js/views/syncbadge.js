// The sync badge in the top bar: always visible, always a word and an icon, never colour alone.
// "All on server" · "On server · N returned to you" · "N waiting · M photos" · "N need attention" ·
// "Sign in to send". N counts inspections (and actions' checks), not the entries of the outbox.

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

// Typing in a note saves on every keystroke, and a fast connection sends a photo every few
// milliseconds: the badge looks once per interval whatever the number of events, and once more after
// the last. (Waiting for a pause instead froze it at "44 waiting" through a whole fast drain.)
let pending = null;
export function refreshBadge() {
  if (pending) return;
  pending = setTimeout(() => { pending = null; update(); }, 150);
}

async function update() {
  const s = await summary();
  if (state.authNeeded && s.total) shown = { kind: 'warn', key: 'sync.signin' };
  else if (s.attention) shown = { kind: 'fail', key: 'sync.attention', count: s.attention };
  else if (s.waiting) shown = { kind: 'pending', key: 'sync.waiting', count: s.waiting, photos: s.photos };
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

// What the badge says now: drawing the same words again would have a screen reader say them again
// (the badge is a live region) after every keystroke.
let drawn = '';

function draw({ kind, key, count, photos }) {
  // "15 waiting to send · 187 photos": the inspections, and the photos a drain counts down.
  const words = [t(key, count === undefined ? undefined : { count }), photos ? t('sync.photos', { count: photos }) : null]
    .filter(Boolean).join(' · ');
  if (!badge.hidden && drawn === `${kind}|${words}`) return;
  drawn = `${kind}|${words}`;
  badge.hidden = false;
  badge.className = `badge badge-${kind}`;
  badge.dataset.state = kind;
  mount(badge, icon(ICONS[kind]), h('span', { text: words }));
}
