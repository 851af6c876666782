// Start an inspection: the station in both languages, a live GPS fix with its accuracy and the
// distance to the station, a warning (never a block) when far away, and the template to use.

import { emitHere } from '../../bus.js';
import { fmtDateTime, fmtDistance, fmtNumber, t, tx } from '../../i18n.js';
import { FAR_M, distanceM, watch } from '../../geo.js';
import { allDrafts, createDraft, editable } from '../../inspection.js';
import { navigate } from '../../router.js';
import { actionsFor, fitsStation, isOffered, latestVersion, state, station, templateOf, templatesFor, version } from '../../state.js';
import { button, card, h, icon, mount, pill } from '../../ui.js';
import { notFound } from './common.js';

export async function startView(params) {
  const st = station(params.station);
  if (!st) return notFound(t('start.noStation'));
  const assignment = params.a ? state.bundle.assignments[params.a] : null;
  // A new inspection starts only on an offered version: a retired one (template archived, or a newer
  // version published) is on the phone only for the work already on it. A pinned version or a named
  // template (`t`, an assignment's) gets that or nothing, never another template in its place; the
  // bundle offers every open assignment's template unless it is archived, so nothing offered means
  // withdrawn. (No assignment pins a version today; one whose version is retired starts nothing.)
  const pinnedId = assignment?.template_version_id;
  const named = pinnedId ? version(pinnedId) : params.t ? latestVersion(params.t, isOffered) : null;
  // So is one whose newest version is for other kinds of station: the server would refuse the work.
  const withdrawn = !!(pinnedId || params.t) && (!isOffered(named) || !fitsStation(named, st));
  const options = withdrawn ? [] : pinnedId ? [named] : templatesFor(st);
  let chosen = withdrawn ? null : named || options[0] || null;
  let fix = null;
  // An inspection of this station on the chosen checklist already begun on this phone: offered to be
  // continued, so that a second one is begun only knowingly (a warning, not a block).
  const begunHere = (await allDrafts()).filter((d) => d.station_id === st.id && editable(d));
  const begun = h('div', { id: 'begun-here' });
  const showBegun = () => {
    const d = chosen && begunHere.find((x) => templateOf(x) === chosen.template_id);
    mount(begun, d ? h('div', { class: 'callout callout-warn', role: 'note' }, icon('warn'), h('div', {},
      h('p', { text: t('start.begunHere', { when: fmtDateTime(d.started_at) }) }),
      h('a', { class: 'btn btn-primary', id: 'continue-draft', href: `#/i/${d.id}/s/0` }, t('start.continue')))) : '');
  };
  showBegun();

  const gps = h('div', { class: 'gps', 'aria-live': 'polite', id: 'gps' }, pill('busy', t('start.locating')));
  const showFix = () => {
    if (!fix) return;
    const acc = t('start.accuracy', { accuracy: fmtNumber(fix.accuracy_m) });
    if (st.lat == null || st.lon == null) { mount(gps, pill('ok', acc)); return; }
    const d = distanceM(fix.lat, fix.lon, st.lat, st.lon);
    mount(gps,
      d > FAR_M ? pill('warn', t('start.far', { distance: fmtDistance(d) }), { id: 'far-warning' })
        : pill('ok', t('start.near', { distance: fmtDistance(d) })),
      h('p', { class: 'hint', text: acc }),
      d > FAR_M ? h('p', { class: 'hint', text: t('start.farHint') }) : null);
  };
  const stop = watch((f) => { fix = f; showFix(); }, (err) => {
    if (!fix) mount(gps, pill('warn', err?.code === 1 ? t('start.denied') : t('start.noFix')), h('p', { class: 'hint', text: t('start.noFixHint') }));
  });

  const picker = options.length > 1 ? h('div', { class: 'choice-col', role: 'group', 'aria-labelledby': 'tpl-h' },
    options.map((v) => h('button', {
      type: 'button', class: 'btn btn-choice', 'aria-pressed': String(v === chosen),
      onclick: (e) => {
        chosen = v;
        for (const b of e.currentTarget.parentElement.children) b.setAttribute('aria-pressed', String(b === e.currentTarget));
        showBegun();
      },
    }, tx(v.definition.title))))
    : withdrawn ? h('div', { class: 'callout callout-warn', role: 'note', id: 'template-withdrawn' }, icon('warn'),
      h('p', { text: t('start.withdrawn') }))
      : h('p', { class: 'strong', text: chosen ? tx(chosen.definition.title) : t('start.noTemplate') });

  // Open ones and done ones (to be verified): each is for the inspector to look at here.
  const toCheck = actionsFor(st.id);
  const node = h('div', { class: 'page start' },
    h('h1', { text: tx(st.name) }),
    card({ class: 'station-card' },
      h('p', { lang: 'en', dir: 'ltr', class: 'name-en', text: st.name?.en || '' }),
      h('p', { lang: 'ur', dir: 'rtl', class: 'name-ur', text: st.name?.ur || '' }),
      h('p', { class: 'hint', text: [st.code, t(`kind.${st.kind || 'police_station'}`), st.sips ? t('start.sips') : ''].filter(Boolean).join(' · ') })),
    card({}, h('h2', {}, icon('pin'), h('span', { text: t('start.location') })), gps),
    card({}, h('h2', { id: 'tpl-h', text: t('start.template') }), picker),
    toCheck.length ? h('div', { class: 'callout callout-info', id: 'station-actions' }, icon('warn'),
      h('p', { text: t('start.openActions', { count: toCheck.length }) })) : null,
    begun,
    button(t('start.begin'), async (e) => {
      if (!chosen) return;
      const begin = e.currentTarget;
      begin.disabled = true;
      const location = fix ? { lat: fix.lat, lon: fix.lon, accuracy_m: fix.accuracy_m } : null;
      // Begun from the station list, it is still what an open assignment of this station and checklist
      // asks for (the server completes that assignment with it), and Home shows the assignment begun.
      const forIt = assignment || Object.values(state.bundle.assignments).find((a) => a.status === 'open'
        && a.station_id === st.id && a.template_id === chosen.template_id && (!a.inspector_id || a.inspector_id === state.user.id));
      let draft;
      try {
        draft = await createDraft({ station: st, version: chosen, assignment: forIt, location });
      } catch (err) {
        // Not begun (the phone's storage full, say): said as any refused save is, and it may be tried again.
        emitHere('save-failed', { name: err?.name || 'Error' });
        begin.disabled = false;
        return;
      }
      navigate(`/i/${draft.id}/s/0`);
    }, { kind: 'primary', class: 'btn-block', id: 'begin', iconName: 'next', disabled: !chosen }),
  );
  return { node, dispose: stop };
}
