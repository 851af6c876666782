// The sync badge in the top bar: always visible, always a word and an icon, never colour alone.
// "All on server" · "N waiting" · "N need attention" · "Sign in to send".

import { t } from '../i18n.js';
import { summary } from '../outbox.js';
import { hasUnsent, state } from '../state.js';
import { h, icon, mount } from '../ui.js';

const badge = h('a', { class: 'badge', href: '#/sync', id: 'sync-badge', 'aria-live': 'polite' });

export function syncBadge() {
  refreshBadge();
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
  let kind;
  let label;
  if (state.authNeeded && s.total) { kind = 'warn'; label = t('sync.signin'); }
  else if (s.attention) { kind = 'fail'; label = t('sync.attention', { count: s.attention }); }
  else if (s.waiting) { kind = 'pending'; label = t('sync.waiting', { count: s.waiting }); }
  else if (await hasUnsent()) { kind = 'pending'; label = t('sync.drafts'); }
  else { kind = 'ok'; label = t('sync.all'); }
  const icons = { warn: 'warn', fail: 'alert', pending: 'phone', ok: 'cloud' };
  badge.className = `badge badge-${kind}`;
  badge.dataset.state = kind;
  mount(badge, icon(icons[kind]), h('span', { text: label }));
}
