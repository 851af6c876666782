// The hierarchy: regions → districts → circles → stations, one tab each, with search, filters, and
// a form to add or edit (in a dialog). Station coordinates are typed, not picked on a map: each is
// checked as it is typed (a number, in range) and a point outside Punjab gets a warning, since the
// usual mistake is latitude and longitude swapped. The CSV import has its own screen.

import { api } from '../../api.js';
import { fmtNumber, getLang, readNumber, t, tx } from '../../i18n.js';
import { navigate } from '../../router.js';
import { dialog, h, lazyList, mount, namePair, pill, toast } from '../../ui.js';
import {
  adminPage, aicon, bilingual, checkBox, errorSummary, fieldBox, input, loadingFailed, newestOnly, placeErrors, placeName, searchBox,
  select, showFailure, styles,
} from './common.js';

const TABS = ['regions', 'districts', 'circles', 'stations'];
const KINDS = ['police_station', 'khidmat_markaz', 'driving_centre', 'other'];
// A generous box around Punjab, only for a warning: a station outside it is possible but rare.
const PUNJAB = { lat: [27.5, 34.5], lon: [69, 75.6] };

const nameOf = (row) => (typeof row.name === 'string' ? { en: row.name, ur: row.name_ur || '' } : row.name);
const byId = (rows) => new Map(rows.map((r) => [r.id, r]));

async function loadPlaces() {
  const [regions, districts, circles] = await Promise.all(['regions', 'districts', 'circles'].map((k) => api.admin.list(k, {})));
  return { regions, districts, circles, region: byId(regions), district: byId(districts), circle: byId(circles) };
}

function districtOptions(places, withAll) {
  const opts = withAll ? [h('option', { value: '' }, withAll)] : [];
  for (const region of places.regions) {
    opts.push(h('optgroup', { label: placeName(region) }, places.districts.filter((d) => d.region_id === region.id)
      .map((d) => h('option', { value: d.id }, `${placeName(d)} (${d.code})`))));
  }
  return opts;
}

// Parses a typed coordinate: a number in range, or the reason it is not.
export function checkCoordinate(text, axis) {
  const value = readNumber(text);
  if (value === null) return { error: t('admin.coordMissing') };
  if (!Number.isFinite(value)) return { error: t('admin.coordNumber') };
  const limit = axis === 'lat' ? 90 : 180;
  if (Math.abs(value) > limit) return { error: t(axis === 'lat' ? 'admin.latRange' : 'admin.lonRange') };
  return { value };
}

function outsidePunjab(lat, lon) {
  return lat < PUNJAB.lat[0] || lat > PUNJAB.lat[1] || lon < PUNJAB.lon[0] || lon > PUNJAB.lon[1];
}

function rowFor(kind, row, places, onEdit) {
  const name = nameOf(row);
  const where = {
    regions: '',
    districts: placeName(places.region.get(row.region_id)),
    circles: placeName(places.district.get(row.district_id)),
    stations: [placeName(places.circle.get(row.circle_id)), placeName(places.district.get(row.district_id))].filter(Boolean).join(getLang() === 'ur' ? '، ' : ', '),
  }[kind];
  return h('li', { class: 'list-row org-row', dataset: { code: row.code } },
    h('div', { class: 'org-main' },
      namePair(name),
      h('button', { type: 'button', class: 'btn btn-secondary', onclick: () => onEdit(row), 'aria-label': t('admin.editNamed', { name: tx(name) }) }, t('admin.edit'))),
    h('p', { class: 'row-meta' },
      h('span', { class: 'mono', text: row.code }), where ? h('span', { text: where }) : null,
      kind === 'stations' ? h('span', { text: t(`kind.${row.kind}`) }) : null,
      kind === 'stations' && row.sips ? pill('info', t('admin.sips'), { class: 'pill-quiet' }) : null,
      kind === 'stations' && row.lat != null ? h('span', { class: 'mono', dir: 'ltr', text: `${fmtNumber(row.lat, { maximumFractionDigits: 5 })}, ${fmtNumber(row.lon, { maximumFractionDigits: 5 })}` }) : null,
      row.active ? null : pill('warn', t('admin.inactive'))));
}

function coordinateFields(value) {
  const warn = h('p', { class: 'callout callout-warn coord-warn', hidden: true, id: 'coord-warn', role: 'status' });
  const boxes = {};
  const check = () => {
    let ok = true;
    for (const axis of ['lat', 'lon']) {
      const res = checkCoordinate(value[`${axis}Text`], axis);
      const slot = boxes[axis].querySelector('.field-error');
      const control = boxes[axis].querySelector('input');
      slot.hidden = !res.error || !value.touched[axis];
      slot.textContent = res.error || '';
      control.toggleAttribute('aria-invalid', !!res.error && value.touched[axis]);
      if (res.error) ok = false; else value[axis] = res.value;
    }
    warn.hidden = !ok || !outsidePunjab(value.lat, value.lon);
    warn.textContent = warn.hidden ? '' : t('admin.outsidePunjab');
    return ok;
  };
  for (const axis of ['lat', 'lon']) {
    boxes[axis] = fieldBox(axis, t(axis === 'lat' ? 'admin.latitude' : 'admin.longitude'), input(value[`${axis}Text`], (v) => {
      value[`${axis}Text`] = v;
      value.touched[axis] = true;
      check();
    }, { inputmode: 'decimal', dir: 'ltr', id: `station-${axis}`, spellcheck: 'false' }), { hint: t(axis === 'lat' ? 'admin.latHint' : 'admin.lonHint') });
  }
  return { node: h('div', {}, h('div', { class: 'row-2' }, boxes.lat, boxes.lon), warn), check };
}

// The fields a save of this kind of place sends, from the dialog's values.
function bodyOf(kind, value, isNew) {
  const body = { code: value.code, name: { en: value.name.en.trim(), ur: value.name.ur.trim() } };
  if (kind === 'districts') body.region_id = value.region_id;
  if (kind === 'circles' || kind === 'stations') body.district_id = value.district_id || null;
  if (kind === 'stations') Object.assign(body, { circle_id: value.circle_id || null, lat: value.lat, lon: value.lon, kind: value.kind, sips: value.sips });
  if (!isNew) body.active = value.active;
  return body;
}

async function editDialog(kind, row, places) {
  const isNew = !row;
  const name = row ? nameOf(row) : { en: '', ur: '' };
  const value = {
    code: row?.code || '', name: { ...name }, active: row?.active ?? true,
    region_id: row?.region_id || places.regions[0]?.id || '', district_id: row?.district_id || '',
    circle_id: row?.circle_id || '', kind: row?.kind || 'police_station', sips: row?.sips ?? true,
    latText: row?.lat != null ? String(row.lat) : '', lonText: row?.lon != null ? String(row.lon) : '', touched: { lat: !!row, lon: !!row },
  };
  const summary = h('div', { hidden: true });
  const parts = [summary,
    fieldBox('code', t('admin.code'), input(value.code, (v) => { value.code = v.trim(); }, { dir: 'ltr', spellcheck: 'false', id: 'org-code' }), { hint: t('admin.codeHint') }),
    bilingual('name', t('admin.name'), value.name, (lang, v) => { value.name[lang] = v; })];
  const circleSelect = h('select', { id: 'station-circle', onchange: (e) => { value.circle_id = e.target.value; } });
  const fillCircles = () => mount(circleSelect, h('option', { value: '' }, t('admin.noCircle')),
    places.circles.filter((c) => c.district_id === value.district_id).map((c) => h('option', { value: c.id, selected: c.id === value.circle_id }, `${placeName(c)} (${c.code})`)));
  if (kind === 'districts') {
    parts.push(fieldBox('region_id', t('admin.region'), select(places.regions.map((r) => [r.id, placeName(r)]), value.region_id, (v) => { value.region_id = v; })));
  }
  if (kind === 'circles' || kind === 'stations') {
    const districtSelect = h('select', { id: 'org-district', onchange: (e) => {
      value.district_id = e.target.value;
      value.circle_id = '';
      fillCircles();
    } }, districtOptions(places, t('admin.chooseDistrict')));
    districtSelect.value = value.district_id;
    parts.push(fieldBox('district_id', t('admin.district'), districtSelect));
  }
  let coords = null;
  if (kind === 'stations') {
    fillCircles();
    coords = coordinateFields(value);
    parts.push(fieldBox('circle_id', t('admin.circle'), circleSelect), coords.node,
      fieldBox('kind', t('admin.kind'), select(KINDS.map((k) => [k, t(`kind.${k}`)]), value.kind, (v) => { value.kind = v; })),
      checkBox('sips', t('admin.sipsLong'), value.sips, (on) => { value.sips = on; }));
  }
  if (!isNew) parts.push(checkBox('active', t('admin.activeLong'), value.active, (on) => { value.active = on; }, { hint: t('admin.activeHint') }));
  const form = h('div', { class: 'form' }, parts);
  if (coords) coords.check();
  // What the row said when the dialog opened: a save sends only what differs from it, so that two
  // administrators changing different things of one place (one its name, the other its coordinates)
  // both keep their change, where sending every field wrote the first one's back over.
  const before = bodyOf(kind, value, isNew);
  const what = t(`admin.one.${kind}`);
  const saved = await dialog({
    title: isNew ? t('admin.addNamed', { what }) : t('admin.editNamed', { name: tx(name) }), body: form,
    actions: [{ label: t('cancel'), value: null }, { label: isNew ? t('admin.add') : t('admin.saveChanges'), value: 'save', kind: 'primary' }],
    onSubmit: async () => {
      if (coords) {
        value.touched = { lat: true, lon: true };
        if (!coords.check()) {
          errorSummary(summary, placeErrors(form, ['lat', 'lon'].map((axis) => ({ field: axis, message: checkCoordinate(value[`${axis}Text`], axis).error }))
            .filter((e) => e.message)));
          return false;
        }
      }
      const body = bodyOf(kind, value, isNew);
      if (!body.district_id && (kind === 'circles' || kind === 'stations')) {
        errorSummary(summary, placeErrors(form, [{ field: 'district_id', message: t('admin.chooseDistrict') }]));
        return false;
      }
      const changed = isNew ? body
        : Object.fromEntries(Object.entries(body).filter(([key, v]) => JSON.stringify(v) !== JSON.stringify(before[key])));
      // A circle belongs to a district: a move names the circle it goes with (none, or one chosen in
      // the new district), whatever the circle was set to meanwhile in the old one.
      if (kind === 'stations' && 'district_id' in changed) changed.circle_id = body.circle_id;
      try {
        if (Object.keys(changed).length) await api.admin.saveOrg(kind, row?.id, changed);
        return true;
      } catch (err) {
        showFailure(form, summary, err);
        return false;
      }
    },
  });
  if (saved) toast(isNew ? t('admin.added') : t('admin.saved'));
  return !!saved;
}

export default async function hierarchyView(params) {
  await styles();
  const kind = TABS.includes(params.tab) ? params.tab : 'regions';
  let places;
  try { places = await loadPlaces(); } catch (err) {
    return adminPage('hierarchy', h('h1', { text: t('admin.hierarchy') }), loadingFailed(err, () => location.reload()));
  }
  const query = { q: params.q || '', region_id: params.region_id || '', district_id: params.district_id || '', kind: params.kind || '' };
  const list = h('ul', { class: 'list', id: 'org-list' });
  const count = h('p', { class: 'hint', role: 'status', id: 'org-count' });
  let stop = null;
  const reload = () => navigate(`/admin/hierarchy/${kind}`, { replace: true });
  const edit = async (row) => { if (await editDialog(kind, row, places)) reload(); };
  const load = newestOnly(list, () => {
    const q = { q: query.q };
    if (kind !== 'regions' && query.region_id) q.region_id = query.region_id;
    if ((kind === 'circles' || kind === 'stations') && query.district_id) q.district_id = query.district_id;
    if (kind === 'stations') { if (query.kind) q.kind = query.kind; q.limit = 5000; }
    return api.admin.list(kind, q);
  }, (rows) => {
    stop?.();
    stop = lazyList(list, rows, (row) => rowFor(kind, row, places, edit));
    if (!rows.length) mount(list, h('li', { class: 'empty', text: t('admin.nothingFound') }));
    count.textContent = t('admin.countShown', { count: rows.length });
  });
  let timer;
  const filters = [searchBox(t('admin.searchOrg'), query.q, (v) => { query.q = v; clearTimeout(timer); timer = setTimeout(load, 250); }, { id: 'org-search' })];
  if (kind !== 'regions') {
    filters.push(fieldBox('region_id', t('admin.region'), select([['', t('admin.allRegions')], ...places.regions.map((r) => [r.id, placeName(r)])], query.region_id, (v) => { query.region_id = v; load(); })));
  }
  if (kind === 'circles' || kind === 'stations') {
    const ds = h('select', { onchange: (e) => { query.district_id = e.target.value; load(); } }, districtOptions(places, t('admin.allDistricts')));
    ds.value = query.district_id;
    filters.push(fieldBox('district_id', t('admin.district'), ds));
  }
  if (kind === 'stations') {
    filters.push(fieldBox('kind', t('admin.kind'), select([['', t('admin.allKinds')], ...KINDS.map((k) => [k, t(`kind.${k}`)])], query.kind, (v) => { query.kind = v; load(); })));
  }
  await load();
  return {
    node: adminPage('hierarchy',
      h('div', { class: 'page-head' }, h('h1', { text: t('admin.hierarchy') }),
        h('div', { class: 'button-row' },
          h('button', { type: 'button', class: 'btn btn-primary', id: 'org-add', onclick: () => edit(null) }, aicon('plus'), h('span', { text: t('admin.addNamed', { what: t(`admin.one.${kind}`) }) })),
          h('a', { class: 'btn btn-secondary', href: '#/admin/hierarchy/import', id: 'csv-import-link' }, aicon('upload'), h('span', { text: t('admin.importStations') })))),
      h('nav', { class: 'tabs', 'aria-label': t('admin.hierarchyLevels') }, h('ul', {}, TABS.map((tab) => h('li', {},
        h('a', { href: `#/admin/hierarchy/${tab}`, 'aria-current': tab === kind ? 'page' : null, text: places[tab] ? `${t(`admin.tab.${tab}`)} (${fmtNumber(places[tab].length)})` : t(`admin.tab.${tab}`) }))))),
      h('div', { class: 'filters' }, filters), count, list),
    dispose: () => stop?.(),
  };
}

