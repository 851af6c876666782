// Two small SVG charts drawn by hand (a chart library would outweigh all the reviewer's screens):
// lines over periods, and ranked horizontal bars. Each SVG is role=img with a <title> and <desc>;
// the table beside it is the accessible equivalent, with every figure.
//
// Direction: time runs left to right in both languages, as numbers do (Western digits, as on the
// Punjab Police's forms); ranked bars are not a time axis, so in Urdu they grow from the right,
// beside their right-to-left labels.

import { fmtNumber, getLang } from '../../i18n.js';
import { h } from '../../ui.js';

// Okabe–Ito colours stay apart for the common colour-vision deficiencies; each line also has its
// own marker shape and its name in the legend, so colour is never the only cue.
const COLOURS = ['#0072b2', '#d55e00', '#009e73', '#cc79a7', '#8a6d00', '#56b4e9', '#000000'];
let uid = 0;

function s(tag, attrs, ...children) {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  el.append(...children);
  return el;
}

// Drawn at the size it is shown (the page is one column on a phone, two on a laptop), so text
// inside the SVG stays at its real size instead of being scaled down.
const chartWidth = () => Math.min(innerWidth < 768 ? innerWidth - 56 : 560, 560);

function frame(width, height, title, desc) {
  const id = `rv-chart-${(uid += 1)}`;
  return s('svg', { viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', 'aria-labelledby': `${id}-t ${id}-d`, class: 'rv-svg' },
    s('title', { id: `${id}-t` }, title), s('desc', { id: `${id}-d` }, desc));
}

// How wide a text will be drawn, measured in the font reviewer.css gives it (12 px, bold for a bar's
// figure; the Urdu stack when the interface is Urdu), so a name is shortened only when it really does
// not fit, and the figures and period labels are given the room they take: Urdu letters are far
// narrower than Latin ones, and a guess per character cut Urdu names with room to spare.
let pen;
function labelWidth(text, urdu, weight = 400) {
  pen ??= document.createElement('canvas').getContext('2d');
  if (!pen) return text.length * (weight > 400 ? 8 : 7.2);
  pen.font = `${weight} 12px ${getComputedStyle(document.documentElement).getPropertyValue(urdu ? '--font-urdu' : '--font-latin')}`;
  return pen.measureText(text).width;
}

function fit(text, room, urdu) {
  if (labelWidth(text, urdu) <= room) return text;
  let n = text.length - 1;
  while (n > 1 && labelWidth(`${text.slice(0, n).trimEnd()}…`, urdu) > room) n -= 1;
  return `${text.slice(0, n).trimEnd()}…`;
}

// Lines of at most `room` pixels, broken between words; the last allowed line takes an ellipsis.
function wrap(text, room, urdu, most) {
  const lines = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const longer = line ? `${line} ${word}` : word;
    if (!line || labelWidth(longer, urdu) <= room) line = longer;
    else { lines.push(line); line = word; }
  }
  lines.push(line);
  const kept = lines.slice(0, most);
  if (lines.length > most) kept[most - 1] = fit(`${kept[most - 1]} ${lines.slice(most).join(' ')}`, room, urdu);
  return kept.map((l) => fit(l, room, urdu));
}

function marker(n, x, y) {
  const fill = COLOURS[n % COLOURS.length];
  const r = 4.5;
  return [s('circle', { cx: x, cy: y, r, fill }), s('rect', { x: x - r, y: y - r, width: 2 * r, height: 2 * r, fill }),
    s('path', { d: `M${x} ${y - r - 1}l${r + 1} ${2 * r + 1}h${-2 * r - 2}z`, fill }),
    s('path', { d: `M${x} ${y - r - 1}l${r + 1} ${r + 1}l${-r - 1} ${r + 1}l${-r - 1} ${-r - 1}z`, fill })][n % 4];
}

// series: [{name, values: [percent or null, one per x label]}]
export function lineChart(title, desc, xLabels, series) {
  const [W, H] = [chartWidth(), 240];
  const svg = frame(W, H, title, desc);
  const [l, r, top, b] = [44, 30, 12, 30];
  const X = (i) => l + (xLabels.length > 1 ? (i * (W - l - r)) / (xLabels.length - 1) : (W - l - r) / 2);
  const Y = (v) => top + (1 - v / 100) * (H - top - b);
  for (const v of [0, 25, 50, 75, 100]) {
    svg.append(s('line', { x1: l, x2: W - r, y1: Y(v), y2: Y(v), class: 'rv-grid' }),
      s('text', { x: l - 6, y: Y(v) + 4, 'text-anchor': 'end' }, `${fmtNumber(v)}%`));
  }
  // Every label when they fit, else every k-th counted back from the last (the current period). Each
  // is centred under its period, but moved inwards as far as it takes to stay inside the chart: the
  // last period sits `r` from the edge, and a long label (an Urdu quarter) is wider than twice that.
  const urdu = getLang() === 'ur';
  const widths = xLabels.map((label) => labelWidth(label, urdu));
  const k = Math.ceil((xLabels.length * Math.max(64, Math.max(...widths) + 16)) / (W - l - r));
  xLabels.forEach((label, i) => {
    const half = widths[i] / 2 + 2;
    const x = Math.min(Math.max(X(i), half), W - half);
    if (!((xLabels.length - 1 - i) % k)) svg.append(s('text', { x, y: H - 8, 'text-anchor': 'middle' }, label));
  });
  series.forEach((line, n) => {
    // A period without inspections breaks the line rather than bridging it.
    let d = '';
    let pen = 'M';
    line.values.forEach((v, i) => {
      if (v === null) { pen = 'M'; return; }
      d += `${pen}${X(i).toFixed(1)} ${Y(v).toFixed(1)}`;
      pen = 'L';
    });
    svg.append(s('path', { d: d || 'M0 0', fill: 'none', stroke: COLOURS[n % COLOURS.length], 'stroke-width': 2.5 }),
      ...line.values.flatMap((v, i) => (v === null ? [] : [marker(n, X(i), Y(v))])));
  });
  return h('figure', { class: 'rv-chart' }, svg, h('ul', { class: 'rv-legend' }, series.map((line, n) => h('li', {},
    s('svg', { viewBox: '0 0 24 12', width: 24, height: 12, 'aria-hidden': 'true' },
      s('line', { x1: 0, x2: 24, y1: 6, y2: 6, stroke: COLOURS[n % COLOURS.length], 'stroke-width': 2.5 }), marker(n, 12, 6)),
    line.name))));
}

// rows: [[label, percent, text beside the bar]], already ranked. On a laptop each label sits beside its
// bar; on a phone a column beside the bars would leave a name a third of the screen, so there each name
// has the full width on its own line (or two) above its bar.
export function barChart(title, desc, rows) {
  const W = chartWidth();
  const rtl = getLang() === 'ur';
  // In Urdu the picture is mirrored: labels on the right, bars growing leftwards from the right.
  const X = (x) => (rtl ? W - x : x);
  const bar = (x, y, len, height, text) => [
    s('rect', { x: rtl ? W - x - len : x, y, width: len, height, rx: 3, class: 'rv-bar' }),
    s('text', { x: X(x + len + 6), y: y + height / 2 + 4, 'text-anchor': rtl ? 'end' : 'start', class: 'rv-value' }, text)];
  const length = (value, room) => Math.max(2, (Math.min(100, value) / 100) * room);
  // Beside the longest bar there is room for the widest figure (bold, as reviewer.css draws it) and
  // its gap: a fixed allowance cut "100.0% (+10.0)" off at the chart's edge.
  const figure = Math.ceil(Math.max(...rows.map(([, , text]) => labelWidth(text, rtl, 700)))) + 10;
  if (W < 420) {
    // Nastaliq rises and falls further from its baseline than Latin, so Urdu lines are taller.
    const [rise, step, fall] = rtl ? [16, 24, 9] : [12, 16, 5];
    let y = 4;
    const placed = rows.map(([label, value, text]) => {
      const lines = wrap(label, W - 4, rtl, 3);
      const top = y;
      y += rise + (lines.length - 1) * step + fall;
      const barY = y;
      y += 18 + 12;
      return [lines, top, barY, value, text];
    });
    const svg = frame(W, y, title, desc);
    for (const [lines, top, barY, value, text] of placed) {
      svg.append(s('text', { x: X(2), y: top + rise, 'text-anchor': rtl ? 'end' : 'start', class: 'rv-label' },
        ...lines.map((line, k) => s('tspan', { x: X(2), y: top + rise + k * step }, line))),
      ...bar(0, barY, length(value, W - figure), 18, text));
    }
    return h('figure', { class: 'rv-chart' }, svg);
  }
  const svg = frame(W, rows.length * 32 + 10, title, desc);
  const lw = Math.round(W * 0.38);
  rows.forEach(([label, value, text], i) => {
    const y = 10 + i * 32;
    svg.append(s('text', { x: X(lw - 8), y: y + 15, 'text-anchor': rtl ? 'start' : 'end', class: 'rv-label' }, fit(label, lw - 10, rtl)),
      ...bar(lw, y, length(value, W - lw - figure), 22, text));
  });
  return h('figure', { class: 'rv-chart' }, svg);
}
