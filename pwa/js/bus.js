// A tiny event bus that also reaches the other contexts of this app (other tabs and the
// service worker), so a badge updates whether the page or the worker sent the outbox.
// BroadcastChannel does not deliver to its own sender, hence the local EventTarget too.

const local = new EventTarget();
const channel = typeof BroadcastChannel === 'function' ? new BroadcastChannel('muaina') : null;

if (channel) {
  channel.onmessage = (e) => {
    const { type, detail } = e.data || {};
    if (type) local.dispatchEvent(new CustomEvent(type, { detail }));
  };
}

export function emit(type, detail = null) {
  local.dispatchEvent(new CustomEvent(type, { detail }));
  try { channel?.postMessage({ type, detail }); } catch { /* detail not cloneable: local only */ }
}

// This context only: what concerns the page that met it (a refused session token is this page's).
export function emitHere(type, detail = null) {
  local.dispatchEvent(new CustomEvent(type, { detail }));
}

export function on(type, fn) {
  const handler = (e) => fn(e.detail);
  local.addEventListener(type, handler);
  return () => local.removeEventListener(type, handler);
}
