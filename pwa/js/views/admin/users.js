// Users: the list (search, role, state and area filters, drawn as it scrolls: a province has a
// thousand accounts), the import of many accounts from a CSV file (its panel is user_import.js), a
// user's page (name, role and scope; password reset; deactivation, which the server makes end every
// session at once) and the audit trail of that user. A new user is the same page without an id. An
// admin who takes the console away from themselves (another role, or deactivation) is asked first
// and then leaves it.

import { api } from '../../api.js';
import { emit } from '../../bus.js';
import { kv } from '../../db.js';
import { t } from '../../i18n.js';
import { navigate } from '../../router.js';
import { signOut, state } from '../../state.js';
import { confirmDialog, dialog, h, lazyList, mount, pill, toast } from '../../ui.js';
import { auditRow } from './audit.js';
import {
  adminPage, aicon, busy, checkBox, describeError, errorSummary, fieldBox, groupBox, input, loadingFailed, newestOnly, placeErrors,
  placeName, placeNames, searchBox, select, showFailure, styles,
} from './common.js';
import { importPanel } from './user_import.js';

const ROLES = ['admin', 'reviewer', 'inspector'];

async function places() {
  const [regions, districts] = await Promise.all([api.admin.list('regions', {}), api.admin.list('districts', {})]);
  return { regions, districts };
}


function scopeWords(user, { regions, districts }) {
  if (user.role === 'admin') return t('admin.scopeAll');
  const names = [
    ...user.region_ids.map((id) => regions.find((r) => r.id === id)).filter(Boolean).map((r) => t('admin.scopeRegion', { name: placeName(r) })),
    ...user.district_ids.map((id) => districts.find((d) => d.id === id)).filter(Boolean).map(placeName),
  ];
  return names.join(', ') || t('admin.scopeNone');
}

function userRow(user, where) {
  return h('li', { class: 'list-row', dataset: { username: user.username } },
    h('a', { class: 'row-link', href: `#/admin/users/${user.id}` },
      h('span', { class: 'strong', text: user.display_name }), h('span', { class: 'mono', text: user.username })),
    h('div', { class: 'row-meta' },
      pill('info', t(`role.${user.role}`), { class: 'pill-quiet' }),
      h('span', { text: scopeWords(user, where) }),
      user.active ? null : pill('fail', t('admin.deactivated')),
      // The password is still the one an admin set (new, reset or imported): its owner has not chosen theirs.
      user.password_must_change ? pill('warn', t('admin.mustChoosePassword'), { class: 'must-choose' }) : null));
}

export async function listView(params) {
  await styles();
  const query = {
    q: params.q || '', role: params.role || '', active: params.active || '',
    region_id: params.region_id || '', district_id: params.district_id || '',
  };
  const list = h('ul', { class: 'list', id: 'user-list', 'aria-live': 'polite' });
  const count = h('p', { class: 'hint', role: 'status', id: 'user-count' });
  let where = { regions: [], districts: [] };
  try { where = await places(); } catch { /* names then fall back to "no scope"; the list still loads */ }
  let stop = null;
  const load = newestOnly(list, () => api.admin.users({
    q: query.q, role: query.role, active: query.active, region_id: query.region_id, district_id: query.district_id,
  }), (users) => {
    stop?.();
    stop = null;
    if (users.length) stop = lazyList(list, users, (u) => userRow(u, where));
    else mount(list, h('li', { class: 'empty', text: t('admin.noUsers') }));
    count.textContent = t('admin.countShown', { count: users.length });
  });
  let timer;
  const districtSelect = h('select', { id: 'district-filter', onchange: (e) => { query.district_id = e.target.value; load(); } });
  const fillDistricts = () => {
    const shown = where.districts.filter((d) => !query.region_id || d.region_id === query.region_id);
    if (!shown.some((d) => d.id === query.district_id)) query.district_id = '';
    mount(districtSelect, h('option', { value: '' }, t('admin.allDistricts')),
      shown.map((d) => h('option', { value: d.id }, `${placeName(d)} (${d.code})`)));
    districtSelect.value = query.district_id;
  };
  fillDistricts();
  await load();
  const imports = await importPanel(load);
  const panel = imports.node;
  return {
    node: adminPage('users',
      h('div', { class: 'page-head' }, h('h1', { text: t('admin.users') }),
        h('div', { class: 'button-row' },
          h('a', { class: 'btn btn-primary', href: '#/admin/users/new', id: 'new-user' }, aicon('plus'), h('span', { text: t('admin.newUser') })),
          h('button', { type: 'button', class: 'btn btn-secondary', id: 'import-users', 'aria-expanded': String(imports.open), 'aria-controls': 'user-import',
            onclick: (e) => {
              panel.hidden = !panel.hidden;
              e.currentTarget.setAttribute('aria-expanded', String(!panel.hidden));
              if (!panel.hidden) panel.querySelector('h2')?.focus();
            } }, aicon('upload'), h('span', { text: t('admin.importUsers') })))),
      panel,
      h('div', { class: 'filters' },
        searchBox(t('admin.searchUsers'), query.q, (v) => { query.q = v; clearTimeout(timer); timer = setTimeout(load, 250); }, { id: 'user-search' }),
        fieldBox('role', t('admin.role'), select([['', t('admin.allRoles')], ...ROLES.map((r) => [r, t(`role.${r}`)])], query.role,
          (v) => { query.role = v; load(); }, { id: 'role-filter' })),
        fieldBox('active', t('admin.state'), select([['', t('admin.allStates')], ['true', t('admin.active')], ['false', t('admin.deactivated')]],
          query.active, (v) => { query.active = v; load(); }, { id: 'active-filter' })),
        fieldBox('region_id', t('admin.region'), select([['', t('admin.allRegions')], ...where.regions.map((r) => [r.id, placeName(r)])],
          query.region_id, (v) => { query.region_id = v; fillDistricts(); load(); }, { id: 'region-filter' })),
        fieldBox('district_id', t('admin.district'), districtSelect)),
      count, list),
    dispose: () => { stop?.(); imports.dispose(); },
  };
}

// Regions with their districts as nested checkboxes. A region covers all its districts, so those
// are shown as covered (and not sent) while their region is chosen.
function scopePicker(value, where, onchange) {
  const box = h('div', { class: 'scope' });
  const render = () => {
    mount(box, where.regions.map((region) => {
      const regionOn = value.region_ids.includes(region.id);
      const districts = where.districts.filter((d) => d.region_id === region.id);
      return h('div', { class: 'scope-region' },
        checkBox(`region.${region.code}`, placeNames(region), regionOn, (on) => {
          value.region_ids = on ? [...value.region_ids, region.id] : value.region_ids.filter((x) => x !== region.id);
          if (on) value.district_ids = value.district_ids.filter((x) => !districts.some((d) => d.id === x));
          render();
          onchange();
        }),
        districts.length ? h('div', { class: 'scope-districts' }, districts.map((d) => checkBox(`district.${d.code}`,
          placeNames(d), regionOn || value.district_ids.includes(d.id), (on) => {
            value.district_ids = on ? [...value.district_ids, d.id] : value.district_ids.filter((x) => x !== d.id);
            onchange();
          }, { disabled: regionOn, hint: regionOn ? t('admin.coveredByRegion') : null }))) : null);
    }));
  };
  render();
  return box;
}

// Whether `change` to `user` takes the console away from the admin signed in here: their own role
// changed from admin, or their own account deactivated. Another user's account never does.
function leavesConsole(user, change) {
  return user.id === state.user?.id && user.role === 'admin'
    && ((change.role !== undefined && change.role !== 'admin') || change.active === false);
}

// Said before such a change is sent. Cancel comes first, so it has the focus and Enter or Escape
// keeps everything as it is.
function confirmLeaving(change) {
  if (change.active === false) {
    return confirmDialog(t('admin.self.deactivateTitle'), t('admin.self.deactivateBody'), t('admin.self.deactivateOk'));
  }
  return confirmDialog(t('admin.self.demoteTitle'), t('admin.self.demoteBody', { role: t(`role.${change.role}`) }),
    t('admin.self.demoteOk'));
}

// After such a change succeeded. The server ends every session of a user whose role or state it
// changes, the one the change was sent from included (auth/routes.py, update_user): /me then answers
// 401, so this browser signs out and the sign-in screen says why (a demoted admin signs in again
// and lands on their new role's home). Were the session kept, /me would give the new role, and the
// app goes straight to that role's home.
async function leaveConsole(change) {
  let me = null;
  try { me = await api.me({ quiet401: true }); } catch { /* the session ended with the change */ }
  if (me?.active && me.role !== 'admin') {
    state.user = me;
    await kv.set('user', me);
    emit('session');
    toast(t('admin.self.nowRole', { role: t(`role.${me.role}`) }));
    navigate('/', { replace: true });
    return;
  }
  // Signed out, the sign-in screen says why. Refused only while work of this user is still unsent
  // here: then they sign in again to send it.
  const why = change.active === false ? t('admin.self.deactivated') : t('admin.self.demoted', { role: t(`role.${change.role}`) });
  if (!(await signOut({ note: { id: 'left-console', text: why } }))) emit('auth-needed');
}

// The server says why a username is refused in English; the form says it in the admin's language.
function inWords(err) {
  if (!err?.errors?.length) return err;
  err.errors = err.errors.map((e) => (e.field === 'username' && /^must be 3 to 64 letters/.test(e.message)
    ? { ...e, message: t('admin.usernameRule') } : e));
  return err;
}

const same = (a, b) => a.length === b.length && [...a].sort().join() === [...b].sort().join();

export async function userView(params) {
  await styles();
  const isNew = !params.id;
  let user = null;
  let where;
  try {
    [user, where] = await Promise.all([isNew ? null : api.admin.user(params.id), places()]);
  } catch (err) {
    return adminPage('users', h('h1', { text: t('admin.user') }), loadingFailed(err, () => location.reload()));
  }
  const value = {
    username: '', password: '', display_name: user?.display_name || '', role: user?.role || 'inspector',
    region_ids: [...(user?.region_ids || [])], district_ids: [...(user?.district_ids || [])], active: user?.active ?? true,
  };
  const summary = h('div', { hidden: true, id: 'user-problems' });
  const scopeBox = h('div');
  const renderScope = () => mount(scopeBox, value.role === 'admin' ? h('p', { class: 'hint', text: t('admin.scopeAdmin') })
    : groupBox('region_ids', t('admin.scope'), h('p', { class: 'hint', text: t('admin.scopeHint') }),
      h('div', { dataset: { field: 'district_ids' } }, h('p', { class: 'field-error', hidden: true, id: 'district-ids-err' })),
      scopePicker(value, where, () => {})));
  renderScope();

  const form = h('form', { class: 'form user-form', novalidate: true, onsubmit: (e) => { e.preventDefault(); save(e.submitter || form.querySelector('[type=submit]')); } },
    summary,
    isNew ? fieldBox('username', t('admin.username'), input('', (v) => { value.username = v.trim(); },
      { autocomplete: 'off', spellcheck: 'false', autocapitalize: 'off', dir: 'ltr', id: 'user-username' }), { hint: t('admin.usernameHint') }) : null,
    fieldBox('display_name', t('admin.displayName'), input(value.display_name, (v) => { value.display_name = v; }, { id: 'user-display' }),
      { hint: t('admin.displayNameHint') }),
    isNew ? fieldBox('password', t('admin.password'), input('', (v) => { value.password = v; },
      { type: 'password', autocomplete: 'new-password', id: 'user-password' }), { hint: t('admin.passwordHint') }) : null,
    fieldBox('role', t('admin.role'), select(ROLES.map((r) => [r, t(`role.${r}`)]), value.role, (v) => { value.role = v; renderScope(); },
      { id: 'user-role' }), { hint: t('admin.roleHint') }),
    scopeBox,
    h('div', { class: 'button-row' },
      h('button', { type: 'submit', class: 'btn btn-primary', id: 'user-save' }, isNew ? t('admin.createUser') : t('admin.saveChanges'))));

  async function save(button) {
    const body = {};
    if (isNew) Object.assign(body, { username: value.username, password: value.password, active: true });
    if (isNew || value.display_name.trim() !== user.display_name) body.display_name = value.display_name.trim();
    if (isNew || value.role !== user.role) body.role = value.role;
    // Only a changed scope is sent: the server ends the user's sessions when role or scope change.
    const regions = value.role === 'admin' ? [] : value.region_ids;
    const districts = value.role === 'admin' ? [] : value.district_ids;
    if (isNew || !same(regions, user.region_ids)) body.region_ids = regions;
    if (isNew || !same(districts, user.district_ids)) body.district_ids = districts;
    if (!isNew && !Object.keys(body).length) { toast(t('admin.nothingChanged')); return; }
    const leaving = !isNew && leavesConsole(user, body);
    if (leaving && !(await confirmLeaving(body))) return;
    const done = await busy(button, async () => {
      try {
        const saved = isNew ? await api.admin.createUser(body) : await api.admin.updateUser(user.id, body);
        placeErrors(form, []);
        errorSummary(summary, []);
        if (leaving) return true;
        toast(isNew ? t('admin.userCreated') : t('admin.userSaved'));
        navigate(`/admin/users/${saved.id}`, { replace: !isNew });
      } catch (err) {
        showFailure(form, summary, inWords(err));
      }
      return false;
    });
    if (done) await leaveConsole(body);
  }

  const page = [
    h('p', { class: 'crumbs' }, h('a', { href: '#/admin/users', text: t('admin.nav.users') })),
    h('h1', { text: isNew ? t('admin.newUser') : user.display_name }),
    user ? h('p', { class: 'row-meta' }, h('span', { class: 'mono', text: user.username }),
      pill('info', t(`role.${user.role}`), { class: 'pill-quiet' }),
      user.active ? pill('ok', t('admin.active')) : pill('fail', t('admin.deactivated'), { id: 'user-deactivated' })) : null,
    h('section', { class: 'card', 'aria-labelledby': 'details-h' }, h('h2', { id: 'details-h', text: t('admin.userDetails') }), form),
  ];
  if (user) page.push(accountCard(user), await trailCard(user));
  return adminPage('users', ...page);
}

function accountCard(user) {
  const resetPassword = async () => {
    const value = { password: '', again: '' };
    const summary = h('div', { hidden: true });
    const body = h('div', { class: 'form' }, summary,
      h('p', { text: t('admin.resetLead', { name: user.display_name }) }),
      fieldBox('password', t('admin.newPassword'), input('', (v) => { value.password = v; }, { type: 'password', autocomplete: 'new-password', id: 'reset-password' }),
        { hint: t('admin.passwordHint') }),
      fieldBox('again', t('admin.passwordAgain'), input('', (v) => { value.again = v; }, { type: 'password', autocomplete: 'new-password', id: 'reset-again' })));
    const done = await dialog({
      title: t('admin.resetPassword'), body,
      actions: [{ label: t('cancel'), value: null }, { label: t('admin.resetPassword'), value: 'reset', kind: 'primary' }],
      onSubmit: async () => {
        const problems = [];
        if (value.password.length < 8) problems.push({ field: 'password', message: t('admin.passwordShort') });
        else if (value.password !== value.again) problems.push({ field: 'again', message: t('admin.passwordMismatch') });
        if (problems.length) { errorSummary(summary, placeErrors(body, problems)); return false; }
        try {
          await api.admin.updateUser(user.id, { password: value.password });
          return true;
        } catch (err) {
          showFailure(body, summary, err);
          return false;
        }
      },
    });
    if (done) toast(t('admin.passwordReset'));
  };
  const toggleActive = async (e) => {
    const button = e.currentTarget;
    const deactivate = user.active;
    const change = { active: !deactivate };
    const leaving = leavesConsole(user, change);
    const ok = leaving ? await confirmLeaving(change)
      : await confirmDialog(deactivate ? t('admin.deactivateTitle', { name: user.display_name }) : t('admin.reactivateTitle', { name: user.display_name }),
        deactivate ? t('admin.deactivateBody') : t('admin.reactivateBody'), deactivate ? t('admin.deactivate') : t('admin.reactivate'));
    if (!ok) return;
    const done = await busy(button, async () => {
      try {
        await api.admin.updateUser(user.id, change);
        if (leaving) return true;
        toast(deactivate ? t('admin.deactivatedDone') : t('admin.reactivatedDone'));
        navigate(`/admin/users/${user.id}`, { replace: true });
      } catch (err) {
        toast(describeError(err), { kind: 'error' });
      }
      return false;
    });
    if (done) await leaveConsole(change);
  };
  return h('section', { class: 'card', 'aria-labelledby': 'account-h' },
    h('h2', { id: 'account-h', text: t('admin.account') }),
    h('div', { class: 'button-row' },
      h('button', { type: 'button', class: 'btn btn-secondary', id: 'reset-password-btn', onclick: resetPassword }, t('admin.resetPassword')),
      h('button', { type: 'button', class: ['btn', user.active ? 'btn-danger' : 'btn-secondary'], id: 'toggle-active', onclick: toggleActive },
        user.active ? t('admin.deactivate') : t('admin.reactivate'))),
    h('p', { class: 'hint', text: t('admin.sessionsHint') }));
}

async function trailCard(user) {
  let body;
  try {
    const rows = await api.admin.audit({ entity: 'user', entity_id: user.id, limit: 50 });
    body = rows.length ? h('ol', { class: 'list audit-list', id: 'user-trail' }, rows.map(auditRow)) : h('p', { class: 'empty', text: t('admin.noEntries') });
  } catch (err) {
    body = loadingFailed(err);
  }
  return h('section', { class: 'card', 'aria-labelledby': 'trail-h' },
    h('h2', { id: 'trail-h', text: t('admin.userTrail') }),
    h('p', { class: 'hint', text: t('admin.userTrailHint') }),
    body,
    h('a', { class: 'btn btn-light', href: `#/admin/audit?actor_id=${user.id}` }, t('admin.actionsBy', { name: user.display_name })));
}
