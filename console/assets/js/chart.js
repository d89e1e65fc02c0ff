// Canvas charts, drawn by hand to keep the console dependency-free.
//
// PriceChart: the last-trade price as a line, the mark price as a dashed
// line and the index as a dotted one (each seeded from history, then live)
// with their current levels, a right-hand price axis and a UTC time axis.
// BarChart: grouped bars per category (the Margin view's stress test).

import { fmt, timeOf } from './format.js';

const css = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

/**
 * Sizes a canvas to its host in device pixels and returns a cleared 2-D
 * context in CSS pixels, or null while the host has no size (hidden tab).
 */
function fitCanvas(host, c) {
  const w = host.clientWidth, hgt = host.clientHeight;
  if (!w || !hgt) return null;
  const dpr = window.devicePixelRatio || 1;
  if (c.width !== Math.round(w * dpr) || c.height !== Math.round(hgt * dpr)) {
    c.width = Math.round(w * dpr);
    c.height = Math.round(hgt * dpr);
    c.style.width = w + 'px';
    c.style.height = hgt + 'px';
  }
  const g = c.getContext('2d');
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, w, hgt);
  return { g, w, hgt };
}

export class PriceChart {
  /** @param {HTMLElement} host @param {{priceDp:number}} opts */
  constructor(host, { priceDp }) {
    this.host = host;
    this.dp = priceDp;
    this.series = { last: [], mark: [], index: [] }; // [{t: ms, v: number, s: string}]
    this.canvas = document.createElement('canvas');
    this.canvas.className = 'chart-canvas';
    host.append(this.canvas);
    this.ro = new ResizeObserver(() => this.render());
    this.ro.observe(host);
    this.frame = 0;
  }

  set(name, points) {
    this.series[name] = points;
    this.note(name);
    this.schedule();
  }

  // note exposes each series' size and first time on the host (data-*),
  // for tests and for anyone inspecting the page.
  note(name) {
    const arr = this.series[name];
    this.host.dataset[`${name}Points`] = String(arr.length);
    this.host.dataset[`${name}First`] = arr.length ? String(arr[0].t) : '';
  }

  push(name, t, s) {
    const arr = this.series[name];
    const v = Number(s);
    if (!isFinite(v)) return;
    if (arr.length && arr[arr.length - 1].t > t) return; // out of order
    // A repeated mark or index value adds no step (and must not move the
    // step it continues, which may come from history).
    if (arr.length && arr[arr.length - 1].s === s && name !== 'last') return;
    arr.push({ t, v, s });
    if (arr.length > 5000) arr.splice(0, arr.length - 5000);
    this.note(name);
    this.schedule();
  }

  schedule() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.render();
    });
  }

  destroy() {
    this.ro.disconnect();
    if (this.frame) cancelAnimationFrame(this.frame);
    this.canvas.remove();
  }

  render() {
    const fit = fitCanvas(this.host, this.canvas);
    if (!fit) return;
    const { g, w, hgt } = fit;
    const font = css('--font-num') || 'ui-monospace, monospace';
    const muted = css('--muted'), grid = css('--grid'), text = css('--text');
    const lastColor = css('--chart-last'), markColor = css('--chart-mark'), indexColor = css('--chart-index');
    g.font = `11px ${font}`;

    const last = this.series.last, mark = this.series.mark, index = this.series.index;
    const all = last.concat(mark, index);
    const axisW = 78, axisH = 22, top = 12, left = 8;
    const pw = w - axisW - left, ph = hgt - axisH - top;
    if (all.length === 0) {
      g.fillStyle = muted;
      g.font = `13px ${css('--font-ui')}`;
      g.textAlign = 'center';
      g.fillText('No trades, mark or index price yet', w / 2, hgt / 2);
      return;
    }
    const now = Date.now();
    let t0 = Math.min(...all.map((p) => p.t));
    let t1 = Math.max(now, ...all.map((p) => p.t));
    if (t1 - t0 < 2 * 60e3) t0 = t1 - 2 * 60e3; // at least two minutes wide
    let lo = Math.min(...all.map((p) => p.v)), hi = Math.max(...all.map((p) => p.v));
    const pad = (hi - lo) * 0.1 || Math.max(hi * 0.001, 1);
    lo -= pad; hi += pad;
    const x = (t) => left + ((t - t0) / (t1 - t0)) * pw;
    const y = (v) => top + (1 - (v - lo) / (hi - lo)) * ph;

    // Grid and price axis: about one line per 50 px on round steps.
    const step = niceStep((hi - lo) / Math.max(2, Math.floor(ph / 50)));
    g.strokeStyle = grid; g.lineWidth = 1; g.fillStyle = muted; g.textAlign = 'left'; g.textBaseline = 'middle';
    const dp = Math.max(0, Math.min(this.dp, -Math.floor(Math.log10(step))));
    for (let v = Math.ceil(lo / step) * step; v <= hi; v += step) {
      const yy = Math.round(y(v)) + 0.5;
      g.beginPath(); g.moveTo(left, yy); g.lineTo(left + pw, yy); g.stroke();
      g.fillText(fmt(v.toFixed(dp), dp), left + pw + 8, yy);
    }
    // Time axis.
    const tstep = niceTime((t1 - t0) / Math.max(2, Math.floor(pw / 110)));
    g.textAlign = 'center'; g.textBaseline = 'top';
    for (let t = Math.ceil(t0 / tstep) * tstep; t <= t1; t += tstep) {
      const xx = Math.round(x(t)) + 0.5;
      g.beginPath(); g.moveTo(xx, top); g.lineTo(xx, top + ph); g.stroke();
      if (xx > left + 28 && xx < left + pw - 28) g.fillText(timeOf(t).slice(0, tstep >= 60e3 ? 5 : 8), xx, top + ph + 6);
    }
    g.strokeStyle = css('--border'); g.beginPath(); g.moveTo(left + pw + 0.5, top); g.lineTo(left + pw + 0.5, top + ph); g.stroke();

    g.save();
    g.beginPath(); g.rect(left, top, pw, ph); g.clip();
    // Current levels across the plot, faint, so they read against history.
    g.lineWidth = 1; g.setLineDash([2, 3]);
    for (const [pts, color] of [[mark, markColor], [last, lastColor]]) {
      if (!pts.length) continue;
      const yy = Math.round(y(pts[pts.length - 1].v)) + 0.5;
      g.strokeStyle = color; g.globalAlpha = 0.45;
      g.beginPath(); g.moveTo(left, yy); g.lineTo(left + pw, yy); g.stroke();
    }
    g.globalAlpha = 1; g.setLineDash([]);
    // Index: dotted, stepped.
    if (index.length) {
      g.setLineDash([1.5, 3]); g.strokeStyle = indexColor; g.lineWidth = 1.5;
      stepLine(g, index, x, y, x(t1));
      g.setLineDash([]);
    }
    // Mark: dashed, stepped (it holds until the next update), extended to now.
    if (mark.length) {
      g.setLineDash([5, 4]); g.strokeStyle = markColor; g.lineWidth = 1.25;
      stepLine(g, mark, x, y, x(t1));
      g.setLineDash([]);
    }
    // Last trade: solid, stepped, extended to now, with a light fill below.
    if (last.length) {
      g.strokeStyle = lastColor; g.lineWidth = 1.5;
      stepLine(g, last, x, y, x(t1));
      g.lineTo(x(t1), top + ph); g.lineTo(x(last[0].t), top + ph); g.closePath();
      g.globalAlpha = 0.07; g.fillStyle = lastColor; g.fill(); g.globalAlpha = 1;
    }
    g.restore();

    // Current-level tags on the axis.
    const tag = (p, color) => {
      const yy = Math.max(top + 8, Math.min(top + ph - 8, y(p.v)));
      g.fillStyle = color; g.fillRect(left + pw + 1, yy - 9, axisW - 2, 18);
      g.fillStyle = '#fff'; g.textAlign = 'left'; g.textBaseline = 'middle';
      g.fillText(fmt(p.s, this.dp), left + pw + 8, yy);
    };
    if (index.length) tag(index[index.length - 1], indexColor);
    if (mark.length) tag(mark[mark.length - 1], markColor);
    if (last.length) tag(last[last.length - 1], lastColor);

    // Legend.
    g.textAlign = 'left'; g.textBaseline = 'middle'; g.font = `11px ${css('--font-ui')}`;
    let lx = left + 6;
    for (const [label, color, dashed, has] of [['Last trade', lastColor, false, last.length], ['Mark', markColor, true, mark.length], ['Index', indexColor, true, index.length]]) {
      if (!has) continue;
      g.strokeStyle = color; g.lineWidth = 1.5; g.setLineDash(dashed ? [4, 3] : []);
      g.beginPath(); g.moveTo(lx, top + 8); g.lineTo(lx + 16, top + 8); g.stroke(); g.setLineDash([]);
      g.fillStyle = text; g.fillText(label, lx + 21, top + 8);
      lx += 30 + g.measureText(label).width + 12;
    }
  }
}

function stepLine(g, pts, x, y, xEnd) {
  g.beginPath();
  g.moveTo(x(pts[0].t), y(pts[0].v));
  for (let i = 1; i < pts.length; i++) {
    g.lineTo(x(pts[i].t), y(pts[i - 1].v));
    g.lineTo(x(pts[i].t), y(pts[i].v));
  }
  g.lineTo(xEnd, y(pts[pts.length - 1].v));
  g.stroke();
}

function niceStep(raw) {
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  const n = raw / p;
  return (n <= 1 ? 1 : n <= 2 ? 2 : n <= 2.5 ? 2.5 : n <= 5 ? 5 : 10) * p;
}

function niceTime(raw) {
  const steps = [10e3, 15e3, 30e3, 60e3, 120e3, 300e3, 600e3, 900e3, 1800e3, 3600e3, 7200e3, 14400e3, 21600e3, 43200e3, 86400e3];
  return steps.find((s) => s >= raw) || 86400e3;
}

/**
 * A grouped bar chart on the same canvas conventions as PriceChart (CSS
 * colours, value axis on round steps, redraw on resize): one group per
 * category, one bar per series, the category label and an optional note
 * under each group. Values arrive as decimal strings; Number is used only
 * for geometry and axis labels.
 */
export class BarChart {
  /**
   * @param {HTMLElement} host
   * @param {{series: {label: string, color: string}[], unit: string, dp: number}} opts
   *   color is a CSS custom property name ('--chart-last').
   */
  constructor(host, { series, unit, dp }) {
    this.host = host;
    this.seriesDef = series;
    this.unit = unit;
    this.dp = dp;
    this.groups = []; // [{label, note, values: [string]}]
    this.canvas = document.createElement('canvas');
    this.canvas.className = 'chart-canvas';
    host.append(this.canvas);
    this.ro = new ResizeObserver(() => this.render());
    this.ro.observe(host);
  }

  /** Replace the data; exposes the bars on the host (data-bars, data-values) for tests. */
  set(groups) {
    this.groups = groups;
    this.host.dataset.bars = String(groups.length);
    this.seriesDef.forEach((s, i) => { this.host.dataset[`values${i}`] = groups.map((g) => g.values[i]).join(' '); });
    this.render();
  }

  destroy() {
    this.ro.disconnect();
    this.canvas.remove();
  }

  render() {
    const fit = fitCanvas(this.host, this.canvas);
    if (!fit) return;
    const { g, w, hgt } = fit;
    const muted = css('--muted'), grid = css('--grid'), text = css('--text');
    const colors = this.seriesDef.map((s) => css(s.color));
    const num = `11px ${css('--font-num') || 'ui-monospace, monospace'}`, ui = `11px ${css('--font-ui')}`;
    if (!this.groups.length) {
      g.fillStyle = muted; g.font = `13px ${css('--font-ui')}`; g.textAlign = 'center'; g.textBaseline = 'middle';
      g.fillText('No stress results', w / 2, hgt / 2);
      return;
    }
    const axisW = 86, top = 24, bottom = 34, left = 8;
    const pw = w - axisW - left, ph = hgt - top - bottom;
    const vals = this.groups.flatMap((gr) => gr.values.map(Number)).filter(isFinite);
    let hi = Math.max(0, ...vals);
    if (hi === 0) hi = 1; // an all-zero chart still gets an axis
    const step = niceStep(hi / Math.max(2, Math.floor(ph / 40)));
    hi = Math.ceil(hi / step) * step;
    const y = (v) => top + (1 - v / hi) * ph;

    g.font = num; g.strokeStyle = grid; g.lineWidth = 1; g.fillStyle = muted; g.textAlign = 'left'; g.textBaseline = 'middle';
    const dp = Math.max(0, Math.min(this.dp, -Math.floor(Math.log10(step))));
    for (let v = 0; v <= hi + step / 2; v += step) {
      const yy = Math.round(y(v)) + 0.5;
      g.beginPath(); g.moveTo(left, yy); g.lineTo(left + pw, yy); g.stroke();
      g.fillText(fmt(v.toFixed(dp), dp), left + pw + 8, yy);
    }
    g.strokeStyle = css('--border');
    g.beginPath(); g.moveTo(left, Math.round(y(0)) + 0.5); g.lineTo(left + pw, Math.round(y(0)) + 0.5); g.stroke();

    const n = this.groups.length, k = this.seriesDef.length;
    const slot = pw / n, barW = Math.max(4, Math.min(28, (slot * 0.7) / k));
    this.groups.forEach((gr, i) => {
      const cx = left + slot * (i + 0.5), x0 = cx - (barW * k) / 2;
      gr.values.forEach((s, j) => {
        const v = Number(s);
        if (!isFinite(v)) return;
        const yy = y(Math.max(0, v)), hh = Math.max(v > 0 ? 1 : 0, y(0) - yy);
        g.fillStyle = colors[j];
        g.fillRect(x0 + j * barW + 1, y(0) - hh, barW - 2, hh);
      });
      g.fillStyle = text; g.font = ui; g.textAlign = 'center'; g.textBaseline = 'top';
      g.fillText(gr.label, cx, top + ph + 5);
      if (gr.note) { g.fillStyle = muted; g.fillText(gr.note, cx, top + ph + 19); }
    });

    // Legend and unit.
    g.textAlign = 'left'; g.textBaseline = 'middle'; g.font = ui;
    let lx = left + 4;
    this.seriesDef.forEach((s, j) => {
      g.fillStyle = colors[j]; g.fillRect(lx, top - 17, 10, 10);
      g.fillStyle = text; g.fillText(s.label, lx + 15, top - 12);
      lx += 15 + g.measureText(s.label).width + 16;
    });
    g.fillStyle = muted; g.textAlign = 'right';
    g.fillText(this.unit, w - 4, top - 12);
  }
}
