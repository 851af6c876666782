// The live score the inspector sees while filling the form. It must agree with the server's
// authoritative scorer (server/templates/scoring.py) on every case of tests/scoring_vectors.json,
// so it mirrors that module step by step: same semantics, and the same floating-point operations in
// the same order, which makes the two results equal to the last bit rather than merely close.
// Definitions are the plain JSON of a template version, so absent fields take their defaults here.

const GRADE_TOLERANCE = 1e-9;
const DEFAULT_BANDS = [
  { grade: "A", min: 90 }, { grade: "B", min: 75 }, { grade: "C", min: 60 }, { grade: "D", min: 0 },
];
const SCORED_TYPES = new Set(["yes_no", "scale", "choice", "multi_choice", "number"]);

const has = (x) => x !== undefined && x !== null;
const isNumber = (x) => typeof x === "number" && Number.isFinite(x);
const weightOf = (x) => (has(x.weight) ? x.weight : 1);
const valueOf = (answer) => (answer && has(answer.value) ? answer.value : null);

// A multi_choice answer meets a condition when any option chosen is one of those named.
export function isVisible(item, answers, visible) {
  const cond = item.visible_if;
  if (!cond) return true;
  if (visible && !visible[cond.item]) return false;
  const value = valueOf((answers || {})[cond.item]);
  if (value === null) return false;
  const wanted = has(cond.in) ? cond.in : [cond.equals];
  const given = Array.isArray(value) ? value : [value];
  return given.some((g) => wanted.some((w) => g === w));
}

export function visibility(definition, answers) {
  const visible = {};
  for (const section of definition.sections || []) {
    for (const item of section.items || []) visible[item.key] = isVisible(item, answers, visible);
  }
  return visible;
}

// A number item without a range is information only, like text.
export function isScored(item) {
  if (item.type === "number") return has(item.min) || has(item.max);
  return SCORED_TYPES.has(item.type);
}

function multiChoiceValid(options, value) {
  if (!Array.isArray(value)) return false;
  const keys = new Set(options.map((o) => o.key));
  return value.every((v) => typeof v === "string" && keys.has(v)) && new Set(value).size === value.length;
}

// The item's score in [0, 1], or null when it is left out. Invalid values count as unanswered.
export function itemScore(item, answer) {
  const value = valueOf(answer);
  if (value === null || !isScored(item)) return null;
  const options = item.options || [];
  switch (item.type) {
    case "yes_no":
      return value === "yes" ? 1 : value === "no" ? 0 : null;
    case "scale": {
      const top = item.max || 0;
      return top >= 1 && Number.isInteger(value) && value >= 0 && value <= top ? value / top : null;
    }
    case "number": {
      if (!isNumber(value)) return null;
      const inside = (!has(item.min) || value >= item.min) && (!has(item.max) || value <= item.max);
      return inside ? 1 : 0;
    }
    case "choice": {
      let best = null;
      for (const o of options) if (best === null || o.points > best) best = o.points;
      const chosen = options.find((o) => o.key === value);
      if (!chosen || best === null || best <= 0) return null;
      return Math.max(0, chosen.points / best);
    }
    case "multi_choice": {
      if (!multiChoiceValid(options, value)) return null;
      let total = 0;
      let earned = 0;
      for (const o of options) {
        if (o.points > 0) total += o.points;
        if (value.includes(o.key)) earned += o.points;
      }
      return total > 0 ? Math.min(1, Math.max(0, earned / total)) : null;
    }
    default:
      return null;
  }
}

const clamp = (p) => Math.min(100, Math.max(0, p));

export function gradeFor(bands, percent) {
  if (percent === null) return null;
  let best = null;
  for (const band of bands) {
    if (percent + GRADE_TOLERANCE >= band.min && (best === null || band.min > best.min)) best = band;
  }
  return best ? best.grade : null;
}

// overrides: {itemKey: reviewer score in [0, 1]}; they replace the score of visible scored items.
export function score(definition, answers, overrides) {
  answers = answers || {};
  overrides = overrides || {};
  const visible = {};
  const items = {};
  const sections = [];
  let criticalFailed = false;
  let overall = 0;
  let overallWeight = 0;
  for (const section of definition.sections || []) {
    let earned = 0;
    let weight = 0;
    for (const item of section.items || []) {
      const shown = (visible[item.key] = isVisible(item, answers, visible));
      let s = null;
      if (shown && isScored(item)) {
        s = Object.hasOwn(overrides, item.key) ? overrides[item.key] : itemScore(item, answers[item.key]);
      }
      if (s !== null) {
        earned += s * weightOf(item);
        weight += weightOf(item);
        criticalFailed = criticalFailed || (item.critical === true && s === 0);
      }
      items[item.key] = { score: s, max: s !== null ? weightOf(item) : 0 };
    }
    const percent = weight > 0 ? clamp((100 * earned) / weight) : null;
    sections.push({ key: section.key, percent, score: earned, max: weight });
    if (percent !== null) {
      overall += percent * weightOf(section);
      overallWeight += weightOf(section);
    }
  }
  const percent = overallWeight > 0 ? clamp(overall / overallWeight) : null;
  const grade = criticalFailed ? "fail" : gradeFor(definition.grade_bands || DEFAULT_BANDS, percent);
  return { percent, grade, critical_failed: criticalFailed, sections, items };
}

// Half-up to one decimal, as the server's display_percent does: first to nine decimals (toFixed
// rounds the exact value half-up, as Decimal does there), which takes away the error a float's sums
// carry (63.75 % arrives as 63.74999999999999), then half-up to one: 63.75 -> "63.8", 89.95 -> "90.0",
// 0.15 -> "0.2". A negative number (a fall in score) is its size rounded so, with the sign in front:
// half away from zero, as Python's ROUND_HALF_UP, so -0.05 -> "-0.1" and -3.25 -> "-3.3".
export function displayPercent(percent) {
  if (percent === null || percent === undefined) return null;
  if (percent < 0) return `-${displayPercent(-percent)}`;
  if (percent >= 1e21) return String(percent); // toFixed's limit; no score or change comes near it
  const text = percent.toFixed(9);
  const [whole, frac = ""] = text.split(".");
  const tenths = Number(whole) * 10 + Number(frac[0] || "0") + (Number(frac[1] || "0") >= 5 ? 1 : 0);
  return `${Math.floor(tenths / 10)}.${tenths % 10}`;
}
