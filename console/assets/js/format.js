// Decimal handling for display. The API sends every price, quantity and
// amount as a decimal string; the console never does money arithmetic in
// floating point. Sums (cumulative depth) use BigInt at a fixed scale;
// Number is used only for geometry (bar widths, chart coordinates).

/** Number of decimals of a step such as "0.001" (3) or "1" (0). */
export function decimalsOf(step) {
  const i = String(step).indexOf('.');
  return i < 0 ? 0 : String(step).length - i - 1;
}

/** Parse a decimal string into a BigInt scaled by 10^dp; null if malformed or too precise. */
export function toScaled(s, dp) {
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(String(s).trim());
  if (!m) return null;
  const frac = m[3] || '';
  if (frac.length > dp && /[1-9]/.test(frac.slice(dp))) return null;
  const v = BigInt(m[2] + frac.slice(0, dp).padEnd(dp, '0'));
  return m[1] ? -v : v;
}

/** Format a BigInt scaled by 10^dp as a plain decimal string. */
export function fromScaled(v, dp) {
  const neg = v < 0n;
  let s = (neg ? -v : v).toString().padStart(dp + 1, '0');
  if (dp > 0) s = s.slice(0, s.length - dp) + '.' + s.slice(s.length - dp);
  return (neg ? '-' : '') + s;
}

/**
 * Round a decimal string to dp decimals, half away from zero (display only:
 * the exact value goes in the element's title).
 */
export function round(s, dp) {
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(String(s ?? '').trim());
  if (!m || (m[3] || '').length <= dp) return s;
  let v = BigInt(m[2] + m[3].slice(0, dp));
  if (m[3][dp] >= '5') v += 1n;
  const out = fromScaled(v, dp);
  return m[1] && /[1-9]/.test(out) ? '-' + out : out;
}

/** A USD amount for tables and summaries: two decimals, grouped. */
export function usd(s) { return fmt(round(s, 2), 2); }

/**
 * Group thousands and pad or trim to dp decimals (trimming only drops
 * zeros; a string with more significant decimals is shown as is).
 */
export function fmt(s, dp) {
  if (s === undefined || s === null || s === '') return '—';
  let str = String(s);
  let sign = '';
  if (str[0] === '-' || str[0] === '+') { sign = str[0] === '-' ? '−' : '+'; str = str.slice(1); }
  let [int, frac = ''] = str.split('.');
  if (dp !== undefined) {
    if (frac.length < dp) frac = frac.padEnd(dp, '0');
    else while (frac.length > dp && frac.endsWith('0')) frac = frac.slice(0, -1);
  }
  int = int.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return sign + int + (frac ? '.' + frac : '');
}

/** Sign of a decimal string: -1, 0 or 1. */
export function sign(s) {
  if (!s) return 0;
  if (String(s).startsWith('-')) return /[1-9]/.test(s) ? -1 : 0;
  return /[1-9]/.test(s) ? 1 : 0;
}

/** Display-only conversion. */
export function num(s) { return s === undefined || s === '' ? NaN : Number(s); }

/** A percentage change between two decimal strings, for display only. */
export function pctChange(from, to) {
  const a = num(from), b = num(to);
  if (!isFinite(a) || !isFinite(b) || a === 0) return '';
  const p = ((b - a) / a) * 100;
  return (p > 0 ? '+' : p < 0 ? '−' : '') + Math.abs(p).toFixed(2) + '%';
}

/** A rate such as "0.0005" as "0.05%" (exact: the decimal point moves two places). */
export function pct(rate, minDp = 0) {
  const str = String(rate ?? '');
  const d = Math.max(decimalsOf(str), 2);
  const v = toScaled(str, d);
  if (v === null) return '—';
  return fmt(fromScaled(v, d - 2), minDp) + '%';
}

/** pct with an explicit + for positive rates (funding). */
export function pctSigned(rate, minDp = 0) {
  const p = pct(rate, minDp);
  return sign(rate) > 0 ? '+' + p : p;
}

/** A duration in ms as H:MM:SS or M:SS. */
export function countdown(ms) {
  if (!(ms > 0)) return '0:00';
  const t = Math.floor(ms / 1000), hh = Math.floor(t / 3600), mm = Math.floor((t % 3600) / 60), ss = t % 60;
  return hh ? `${hh}:${two(mm)}:${two(ss)}` : `${mm}:${two(ss)}`;
}

const two = (n) => String(n).padStart(2, '0');

/** Milliseconds since the epoch as HH:MM:SS (UTC, the venue's clock). */
export function timeOf(ms) {
  const d = new Date(ms);
  return `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`;
}

/** Milliseconds since the epoch as YYYY-MM-DD HH:MM UTC. */
export function dateTimeOf(ms) {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${two(d.getUTCMonth() + 1)}-${two(d.getUTCDate())} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())} UTC`;
}

/** Build an element: h('div', {class: 'x'}, child, 'text'). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    // CSSOM, not the style attribute: the CSP forbids inline style attributes.
    else if (k === 'style') el.style.cssText = v;
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** A table head; the columns at the indexes in nums are numeric (right-aligned). */
export function thead(labels, nums = []) {
  return h('thead', {}, h('tr', {}, labels.map((t, i) => h('th', { class: nums.includes(i) ? 'num' : null }, t))));
}

export const ADL_TIP = 'Auto-deleveraging queue quantile, 1 to 5: the more lights, the earlier this position would be closed against a liquidation the book and the insurance fund cannot absorb. Updated every 30 s.';

/**
 * An ADL quantile (1–5; 0 before the engine first ranks the position) as
 * five lights, the way Binance shows it.
 */
export function adlLights(q) {
  const n = Number(q) || 0;
  const lights = [1, 2, 3, 4, 5].map((i) => h('span', { class: `adl-light${i <= n ? ` on q${n}` : ''}` }));
  return h('span', { class: 'adl', 'data-adl': String(n), title: n ? `ADL quantile ${n} of 5. ${ADL_TIP}` : `Not ranked yet. ${ADL_TIP}` }, ...lights);
}
