// Start-up and wiring: language, session, routes of each role, the top bar, the service worker,
// and the triggers that drain the outbox (start, `online`, after each enqueue, Background Sync).

import { ApiError, api } from './api.js';
import { on } from './bus.js';
import { kv, onSuperseded } from './db.js';
import { initLang, onLangChange, problemText, setLang, getLang, t } from './i18n.js';
import { retryNow, retryRefused } from './outbox.js';
import { navigate, render, route, start, currentPath } from './router.js';
import { endLeftSessions, loadSession, refreshBundle, state, takeSignedOutNote } from './state.js';
import { button, h, icon, keepingFocus, mount, toast } from './ui.js';
import { registerShared } from './views/shared.js';
import { syncBadge, refreshBadge } from './views/syncbadge.js';
import { reauthDialog } from './views/login.js';
import * as inspector from './views/inspector/index.js';
import * as reviewer from './views/reviewer/index.js';
import * as admin from './views/admin/index.js';

// Each role registers its routes and names its home; reviewer and admin modules join here.
const roles = { inspector, reviewer, admin };
const homeFor = (user) => roles[user?.role]?.home || '/settings';

registerShared(route);
for (const mod of Object.values(roles)) mod.register(route);

// Someone whose password an admin set (a new account, a reset, an import: the server's
// `password_must_change`) chooses their own before anything else; Settings stays open for signing out.
// Only with a network: the change needs the server, and an inspector offline for days must still reach
// their work. They are asked again at the next sign-in, or when /me is next fetched (checkPassword).
// A change that could not be made (no route to the server though the phone says it is online, or too
// many wrong passwords) lets them go on to their work until the server next answers (state.passwordDeferred):
// an inspector who may not sign out with unsent work is never held on a screen they cannot leave.
const OPEN_WHILE_ASKED = new Set(['/password', '/settings']);
const askedToChoose = (path) => !!state.user?.password_must_change && navigator.onLine !== false
  && !state.passwordDeferred && !OPEN_WHILE_ASKED.has(path.split('?')[0]);

function guard(r, path) {
  if (!state.user) return r?.public ? null : `/login`;
  if (askedToChoose(path)) return '/password';
  if (r?.public && path.startsWith('/login')) return homeFor(state.user);
  if (r?.roles && !r.roles.includes(state.user.role)) return homeFor(state.user);
  return null;
}

// What sticks below the sticky top bar (the fill screen's section head, the reviewer's table headers)
// sticks at its measured height: it depends on the language (Nastaliq needs taller lines) and the
// badge it shows, so it is measured, not guessed.
const topbar = document.getElementById('topbar');
if (topbar && 'ResizeObserver' in window) {
  // A bar that does not stick (large text: app.css) leaves nothing for them to stick below.
  new ResizeObserver(() => document.documentElement.style.setProperty('--top-bar',
    getComputedStyle(topbar).position === 'sticky' ? `${topbar.getBoundingClientRect().height}px` : '0px'))
    .observe(topbar);
}

function renderTopbar() {
  const bar = document.getElementById('topbar');
  const other = getLang() === 'ur' ? 'en' : 'ur';
  // The language button just pressed is replaced by its counterpart in the other language: a keyboard's
  // or screen reader's focus goes on to the new one rather than falling back to the start of the page.
  const langFocused = document.activeElement?.classList.contains('lang-toggle');
  const langButton = h('button', {
    type: 'button', class: 'btn btn-light lang-toggle', lang: other,
    'aria-label': t('lang.switch'), onclick: () => setLang(other),
  }, other === 'ur' ? 'اردو' : 'English');
  mount(bar,
    h('a', { class: 'brand', href: '#/', 'aria-label': t('app.home') }, h('span', { text: t('app.name') })),
    state.user ? syncBadge() : null,
    langButton,
    state.user ? h('a', { class: 'btn btn-light icon-only', href: '#/settings', 'aria-label': t('settings.title') }, icon('menu')) : null,
  );
  if (langFocused) langButton.focus();
  document.querySelector('.skip').textContent = t('app.skip');
}

// The new version the person accepted: the newest worker waiting takes over (one that came after
// the offer was made stands for it), and the page reloads (controllerchange). None waiting any more
// (another tab took the update): the page only needs the reload.
let accepted = false;
async function acceptUpdate() {
  const reg = await navigator.serviceWorker?.getRegistration().catch(() => null);
  if (!reg?.waiting) { location.reload(); return; }
  accepted = true;
  reg.waiting.postMessage({ type: 'SKIP_WAITING' });
}

// The page's modules are the version of the worker that controlled it when it loaded. Another tab's
// accepted update hands this one a new worker while its modules stay old: a screen it opens next
// would mix the two, so it is reloaded when the person says (not by surprise: a form may be open).
let loadedUnder = null;
let controllerChanged = false;
function watchController() {
  if (!('serviceWorker' in navigator)) return;
  loadedUnder = navigator.serviceWorker.controller;
  navigator.serviceWorker.addEventListener('controllerchange', () => {
    // Only an update accepted here reloads at once; the first install just takes control. Drafts are
    // saved on every tap, so the reload loses nothing.
    if (accepted) { accepted = false; location.reload(); return; }
    if (!loadedUnder) { loadedUnder = navigator.serviceWorker.controller; return; }
    controllerChanged = true;
    toast(t('update.elsewhere'), { timeout: 0, action: { label: t('update.reload'), onclick: () => location.reload() } });
  });
}

// A tab left open for days never navigates (the routes live in the hash), so the browser would not
// look for a new version by itself: it is asked when the app comes back into view, at most hourly.
let lastCheck = Date.now();
// Someone signed out or in, here or in another tab or window of the app (the installed app and a
// browser tab share one store). A tab still holding the person before would go on under their name
// and their work would be sent with the next person's session, as the next person's: it starts again
// from the stored session instead. Looked at again when a tab comes back into view, in case it slept
// through the message.
async function followSession() {
  const stored = await kv.get('user').catch(() => state.user);
  if ((stored?.id ?? null) !== (state.user?.id ?? null)) {
    location.replace(`${location.pathname}#/`);
    location.reload();
    return;
  }
  if (stored && !stored.password_must_change && state.user.password_must_change) {
    // Chosen in another tab: this one stops asking too (and spends no guesses of the shared session).
    state.user = stored;
    if (currentPath() === '/password') navigate('/');
  }
  renderTopbar();
  // Not again on the sign-in form: drawing it afresh would clear what is being typed there.
  if (!state.user && currentPath() !== '/login') navigate('/login');
}

function checkForUpdate() {
  if (document.visibilityState !== 'visible' || Date.now() - lastCheck < 3600e3) return;
  lastCheck = Date.now();
  navigator.serviceWorker?.getRegistration().then((reg) => reg?.update()).catch(() => {});
}

// A screen's module could not load: with a new version on the server (the service worker refuses
// another version's files), that is why, and updating mends it. Resolves what mends it: true when
// the page only needs a reload (another tab updated), the new worker, or null.
async function newVersion() {
  if (controllerChanged) return true;
  try {
    const reg = await navigator.serviceWorker?.getRegistration();
    if (!reg || !navigator.serviceWorker.controller) return null;
    // Always asked: a worker left waiting since an earlier offer may itself be out of date by now.
    await reg.update().catch(() => {});
    const worker = reg.installing || reg.waiting;
    if (worker && worker.state !== 'installed') {
      await new Promise((resolve) => {
        const settle = () => { if (worker.state === 'installed' || worker.state === 'redundant') resolve(); };
        worker.addEventListener('statechange', settle);
        settle();
      });
    }
    return reg.waiting || null;
  } catch {
    return null;
  }
}

async function registerServiceWorker() {
  if (!('serviceWorker' in navigator)) return;
  try {
    // A module worker, so it drains the outbox with the same modules as the page.
    const reg = await navigator.serviceWorker.register('/sw.js', { type: 'module', scope: '/' });
    const offerUpdate = () => {
      toast(t('update.ready'), {
        timeout: 0,
        action: { label: t('update.reload'), onclick: () => acceptUpdate() },
      });
    };
    if (reg.waiting && navigator.serviceWorker.controller) offerUpdate();
    reg.addEventListener('updatefound', () => {
      const w = reg.installing;
      w?.addEventListener('statechange', () => {
        if (w.state === 'installed' && navigator.serviceWorker.controller) offerUpdate();
      });
    });
  } catch (err) {
    console.warn('muaina: service worker not registered', err);
  }
}

// Whether an admin has set this person's password since (or they chose their own elsewhere): /me says,
// whenever the app comes online. A 401 is said by api.js (auth-needed) as for any request.
async function checkPassword() {
  if (!state.user || state.authNeeded) return;
  const sent = Date.now();
  const me = await api.me().catch(() => null);
  if (!me || me.id !== state.user?.id) return;  // signed out or in as someone else meanwhile
  if ((state.passwordChosenAt || 0) >= sent) return;  // an answer from before the person chose theirs
  state.passwordDeferred = false;  // the server answers: a change can be tried again
  const asked = !!me.password_must_change;
  if (asked !== !!state.user.password_must_change) {
    state.user = { ...state.user, password_must_change: asked };
    await kv.set('user', state.user);
  }
  if (askedToChoose(currentPath())) navigate('/password');
}

// A choice put off (views/password.js) is asked again once the server answers: after the lock's time
// when there were too many wrong passwords, else a minute on, again and again until /me answers; and
// whenever the app comes back into view.
let recheck = null;
function recheckPasswordLater(seconds) {
  clearTimeout(recheck);
  recheck = setTimeout(async () => {
    await checkPassword().catch(() => {});
    if (state.passwordDeferred) recheckPasswordLater(60);
  }, seconds * 1000);
}

async function refreshOnline() {
  if (!navigator.onLine) return;
  endLeftSessions().catch(() => {});
  if (!state.user) return;
  retryNow();  // the outbox first: the inspector's work matters more than fresh reference data
  checkPassword().catch(() => {});
  try {
    await refreshBundle();
  } catch (err) {
    if (err.status === 401) on401();
  }
}

// A submission the server acknowledged completed its assignment there: a fresh bundle says so (Home
// then stops offering it) and brings the schedule's next one. Once for a drain's several.
let ackTimer = null;
function refreshAfterSubmission() {
  clearTimeout(ackTimer);
  ackTimer = setTimeout(() => {
    if (!state.user || !navigator.onLine) return;
    refreshBundle().catch((err) => { if (err.status === 401) on401(); });
  }, 500);
}

let reauthOpen = false;
// "Later" holds until the person moves to another screen: every request of this one (a thumbnail each)
// would otherwise open the dialog again. The sync badge still says the work waits for a sign-in.
let reauthLater = false;
addEventListener('hashchange', () => { reauthLater = false; });

async function on401() {
  state.authNeeded = true;
  await kv.set('auth_needed', true);
  if (reauthOpen || reauthLater || !state.user) return;
  reauthOpen = true;
  try {
    if (await reauthDialog()) retryRefused(); else reauthLater = true;
  } finally { reauthOpen = false; }
}

// A draft write IndexedDB refused (phone out of space): the screen still shows the change, so say
// it was not kept. One message at a time (the latest), however many keystrokes of a note were refused.
let saveToast = null;
function onSaveFailed({ name } = {}) {
  if (name === 'SupersededError') return;  // said once, by the prompt to reload (showSuperseded)
  saveToast?.remove();
  saveToast = toast(t(name === 'QuotaExceededError' ? 'save.full' : 'save.failed'), { kind: 'error', timeout: 15000 });
}

// Another tab upgraded the database (a new version of Muaina): this page's code is older than the
// schema now and saves nothing more (db.js). Said at once, in a prompt that stays until the page is
// reloaded, rather than as a failed save at each tap whose change then lived only on the screen.
let supersededShown = false;
function showSuperseded() {
  if (supersededShown) return;
  supersededShown = true;
  saveToast?.remove();
  const heading = h('h2', { id: 'superseded-h', text: t('db.supersededTitle') });
  const dlg = h('dialog', { class: 'dialog', id: 'superseded', role: 'alertdialog', 'aria-labelledby': heading.id },
    heading, h('div', { class: 'dialog-body' }, h('p', { text: t('db.superseded') })),
    h('div', { class: 'dialog-actions' }, button(t('db.reload'), () => location.reload(), { kind: 'primary', iconName: 'sync' })));
  // Not to be dismissed: nothing done on the screen behind it could be kept.
  dlg.addEventListener('cancel', (e) => e.preventDefault());
  // What this page still reads or writes now fails (a badge's count, a screen's draft): the prompt has
  // said why, and these are no fault to report.
  addEventListener('unhandledrejection', (e) => { if (e.reason?.name === 'SupersededError') e.preventDefault(); });
  dlg.addEventListener('close', () => dlg.showModal());
  document.body.append(dlg);
  dlg.showModal();
}

// A screen slow to come: a bar under the top bar, and the main region marked busy for screen readers.
function showBusy(on) {
  document.getElementById('main').toggleAttribute('aria-busy', on);
  document.getElementById('route-busy')?.remove();
  if (on) document.body.append(h('div', { id: 'route-busy', class: 'route-busy', role: 'progressbar', 'aria-label': t('loading') }));
}

// A screen whose view threw. A failed request (ApiError) is the network's or the server's doing and
// is said as every failed request is (problemText); anything else is a fault in the app, said plainly
// to the person and reported as uncaught, so that it reaches the console and the tests that watch
// for page errors.
function failedScreen(err, retry) {
  const request = err instanceof ApiError;
  const said = h('div', { class: 'callout callout-fail', role: 'alert' }, icon('alert'), h('p', { text: request ? problemText(err) : t('error.generic') }));
  const again = button(t('error.retry'), retry, { kind: 'primary', iconName: 'sync' });
  // A screen's module that would not load (fetched, linked) may be another version's: the server has
  // moved to a new one. That is mended by the update, not by trying again: said so, with the update's
  // button in place of the retry. Any other fault is reported at once.
  const notLoaded = !request && /imported module|module script|requested module|export named/i.test(err?.message || '');
  if (!request && !notLoaded) setTimeout(() => { throw err; });
  if (notLoaded && navigator.onLine === false) {
    // Offline, a screen never opened on this device has not been fetched yet (only the inspector's are
    // kept from the start): no fault and no new version, it needs the network this once.
    mount(said, icon('alert'), h('p', { text: t('error.screenOffline') }));
  } else if (notLoaded) {
    newVersion().then((mend) => {
      if (!mend) { setTimeout(() => { throw err; }); return; }
      mount(said, icon('alert'), h('p', { text: t('update.needed') }));
      again.replaceWith(button(t('update.reload'), () => (mend === true ? location.reload() : acceptUpdate()),
        { kind: 'primary', iconName: 'sync', class: 'update-now' }));
    });
  }
  return h('section', { class: 'stack route-failed' }, h('h1', { text: t('error.title') }), said, again);
}

// Why the person was signed out (an admin who demoted or deactivated themselves), said on the sign-in
// screen of the page the sign-out started (state.signOut) until they close it or sign in again.
function sayWhySignedOut() {
  const note = takeSignedOutNote();
  if (!note?.text) return;
  const said = toast(note.text, { timeout: 0, action: { label: t('close'), onclick: () => {} } });
  if (note.id) said.id = note.id;
  const off = on('session', () => { said.remove(); off(); });
}

async function main() {
  onSuperseded(showSuperseded);
  watchController();
  await initLang();
  await loadSession();
  renderTopbar();
  // The screen is drawn again in the new language; a keyboard's or screen reader's place on it is kept
  // (Settings' language buttons are pressed from inside it).
  onLangChange(() => { renderTopbar(); keepingFocus(render); });
  on('session', () => followSession());
  on('password-deferred', (d) => recheckPasswordLater(d?.seconds || 60));
  on('outbox', refreshBadge);
  on('drafts', refreshBadge);
  on('auth-needed', on401);
  on('acknowledged', refreshAfterSubmission);
  on('action-closed', () => toast(t('actions.closedMeanwhile'), { timeout: 15000 }));
  on('save-failed', onSaveFailed);
  on('bundle', () => { if (currentPath() === '/') render(); });
  addEventListener('online', refreshOnline);
  document.addEventListener('visibilitychange', checkForUpdate);
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState !== 'visible') return;
    followSession();
    if (state.passwordDeferred) checkPassword().catch(() => {});
  });
  await start(document.getElementById('main'), { guard, busy: showBusy, failed: failedScreen });
  sayWhySignedOut();
  registerServiceWorker();
  if (state.user) navigator.storage?.persist?.().catch(() => {});
  if (state.authNeeded) on401();
  else refreshOnline();
}

// A database this code cannot use, left by a newer release (db.js): said in the person's words, and
// that nothing is lost. Anything else as it is.
const bootError = (err) => (['NewerDatabaseError', 'VersionError'].includes(err?.name) ? t('db.newer') : String(err));

main().catch((err) => {
  console.error(err);
  mount(document.getElementById('main'), h('p', { class: 'boot-error', role: 'alert', text: bootError(err) }));
});

