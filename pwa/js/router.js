// A small hash router with a route registry. Each role's module registers its own routes
// (views/inspector/index.js today; views/reviewer, views/admin later), so adding a role means
// adding a module and one register() call in app.js, never editing another role's views.
//
//   route('/i/:id/:section', { roles: ['inspector'], view: fillView })
//   route('/queue', { roles: ['reviewer'], load: () => import('./views/reviewer/queue.js') })
//
// A view is `async (params, ctx) => Node`; it may return {node, dispose} to clean up timers
// or listeners when the user leaves. `load` imports a module whose default export is the view,
// so screens of other roles are never parsed on an inspector's phone.

const routes = [];
let outlet;
let guard = () => null;
// What the app shows while a screen is slow to come, and when it cannot come at all (start()).
let busy = () => {};
let failed = null;
let current = null;
let renderSeq = 0;

export function route(pattern, options) {
  const names = [];
  const source = pattern
    .replace(/\/:(\w+)(\?)?/g, (_, name, optional) => { names.push(name); return optional ? '(?:/([^/]+))?' : '/([^/]+)'; });
  routes.push({ pattern, regex: new RegExp(`^${source}/?$`), names, ...options });
}

export function currentPath() {
  return location.hash.replace(/^#/, '') || '/';
}

function match(path) {
  const [pathname, search = ''] = path.split('?');
  for (const r of routes) {
    const m = r.regex.exec(pathname);
    if (!m) continue;
    const params = Object.fromEntries(r.names.map((n, i) => [n, m[i + 1] && decodeURIComponent(m[i + 1])]));
    for (const [k, v] of new URLSearchParams(search)) params[k] = v;
    return { route: r, params };
  }
  return null;
}

export function navigate(path, { replace = false } = {}) {
  const hash = `#${path}`;
  if (location.hash === hash) return render();
  if (replace) { history.replaceState(null, '', hash); return render(); }
  location.hash = hash;  // hashchange renders
  return Promise.resolve();
}

// Renders the current hash. Called on hashchange, on start, and by the app when something the
// view shows changed underneath it (language switch, a sync that brought new data).
export async function render() {
  const seq = ++renderSeq;
  // The screen on show stays until the next one is ready; if that takes a while, the app says so.
  // Whatever happens below, the newest render ends the busy state (an older one leaves it to it).
  const slow = setTimeout(() => { if (seq === renderSeq) busy(true); }, 300);
  try {
    const path = currentPath();
    const found = match(path);
    const redirect = guard(found?.route, path);
    if (redirect && redirect !== path) return navigate(redirect, { replace: true });
    if (!found) return navigate('/', { replace: true });
    let result;
    try {
      let view = found.route.view;
      if (!view && found.route.load) view = (await found.route.load()).default;
      result = await view(found.params, { path });
    } catch (err) {
      if (seq !== renderSeq) return;
      if (!failed) throw err;
      // A screen that cannot be drawn (no connection, a server error) is replaced by one that says
      // so and offers to try again, instead of a tap that seems to do nothing.
      result = failed(err, () => render());
    }
    if (seq !== renderSeq) { result?.dispose?.(); return; }  // a newer navigation won the race
    current?.dispose?.();
    current = result instanceof Node ? { node: result } : result;
    outlet.replaceChildren(current.node);
    if (!found.route.keepScroll) window.scrollTo(0, 0);
    announce(current.node, path);
    document.dispatchEvent(new CustomEvent('routechange', { detail: { path, route: found.route } }));
  } finally {
    clearTimeout(slow);
    if (seq === renderSeq) busy(false);
  }
}

// A new screen says so, as a page load would: the tab's title names it, and on a move to another
// screen (not a re-draw of this one, nor the first screen) focus goes to its heading, so a screen
// reader reads where the person now is and the next Tab starts from there, not from a link that
// is gone.
let shownPath = null;
function announce(node, path) {
  const heading = node.querySelector?.('h1');
  const name = heading?.textContent.trim();
  document.title = name ? `${name} · Muaina` : 'Muaina';
  const screen = path.split('?')[0];
  const moved = shownPath !== null && screen !== shownPath;
  shownPath = screen;
  if (!moved || !heading || node.contains(document.activeElement)) return;
  if (!heading.hasAttribute('tabindex')) heading.setAttribute('tabindex', '-1');
  heading.focus({ preventScroll: true });
}

// guard(route, path) returns a path to redirect to (e.g. '/login'), or null to proceed.
// busy(on) is told when a screen is slow to come and when it has come; failed(err, retry) returns
// the screen shown in place of one whose view threw.
export function start(el, { guard: g, busy: b, failed: f } = {}) {
  outlet = el;
  if (g) guard = g;
  if (b) busy = b;
  if (f) failed = f;
  addEventListener('hashchange', render);
  return render();
}
