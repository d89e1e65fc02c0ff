// Margin view, for the roles granted view_risk (risk officer, admin,
// auditor): the margin-financing book. The firm's loans against capital
// with the 4× warning and 5× limit, the margin clients worst first (loan,
// lending value, shortfall, credit limit, call state with a live countdown
// to the deadline, close-outs in progress), the collateral table with
// prices and their age and the firm-wide concentration by collateral, and
// the latest stress test (per-scenario shortfall and firm loss against
// capital as a bar chart, the per-client rows, a CSV download).
//
// Everything shown comes from GET /v1/admin/financing/*; nothing is
// invented. Amounts stay decimal strings; comparisons and ratios are BigInt.

import { BarChart } from '../chart.js';
import { countdown, dateTimeOf, fmt, fromScaled, h, pct, round, thead, timeOf, toScaled } from '../format.js';
import { onOperatorChange, operator } from '../operator.js';
import { mountLogin, mountRefused, operatorHead } from './risk.js';

export const id = 'margin';
export const title = 'Margin';

const ACTION = 'view_risk';
const POLL_MS = 3000;        // clients, firm, collateral
const STRESS_POLL_MS = 15000; // the stress test is a full revaluation of the book
const PRICE_MAX_AGE_MS = 5 * 60e3; // the engine's PriceMaxAge: older prices block new lending
// Presentation only: a client whose debit reaches this share of its
// lending value is marked "Watch" (a call opens at 100%).
const WATCH_PCT = 80n;
const ENDPOINT = '/v1/admin/financing/clients';

/**
 * Offered when the served API documents the financing endpoints and the
 * venue lists a spot market (the engine has spot markets only with
 * financing enabled; otherwise every financing endpoint answers 404
 * financing_disabled).
 */
export function available(ctx) { return financingOffered(ctx) && !!(ctx.paths && ctx.paths.has(ENDPOINT)); }

/** Whether the venue runs margin financing (shared with the Trader view). */
export function financingOffered(ctx) { return ctx.markets.some((m) => m.kind === 'spot'); }

/** In the navigation unless an operator whose role may not view risk is logged in. */
export function visible() {
  const o = operator();
  return !o || o.can(ACTION);
}

export function mount(root, ctx) {
  let unmountInner = null;
  const show = (o) => {
    if (unmountInner) unmountInner();
    if (!o) unmountInner = mountLogin(root, 'The margin-financing book is open to the risk officer, admin and auditor roles. The console asks the server which role your key holds; the secret stays in this tab’s memory and requests are signed in the browser.');
    else if (!o.can(ACTION)) unmountInner = mountRefused(root, o, 'margin', 'Margin');
    else unmountInner = mountMargin(root, ctx, o);
  };
  const stop = onOperatorChange(show);
  show(operator());
  return () => {
    stop();
    if (unmountInner) unmountInner();
  };
}

// ---- figures ----

/** An HKD amount to the whole dollar (the exact value goes in the title). */
export function hkd(s) { return s === undefined || s === null || s === '' ? '—' : fmt(round(s, 0), 0); }

const big = (s) => toScaled(s ?? '0', 6) ?? 0n;

/** numerator ÷ denominator in hundredths of a percent (BigInt), or null for 0/0. */
function ratioBp(num, den) {
  const n = big(num), d = big(den);
  if (d <= 0n) return n > 0n ? 1_000_000n : null;
  return (n * 10000n) / d;
}

const CALL_RANK = { closing_out: 2, open: 1, none: 0 };

/**
 * Worst first: close-outs, then open calls, then the largest shortfall,
 * then the highest debit ÷ lending value (the client nearest a call).
 */
export function worstFirst(a, b) {
  const r = (CALL_RANK[b.call_state] || 0) - (CALL_RANK[a.call_state] || 0);
  if (r) return r;
  const s = big(b.shortfall_hkd) - big(a.shortfall_hkd);
  if (s) return s > 0n ? 1 : -1;
  const ua = ratioBp(a.debit_hkd, a.lending_value_hkd) ?? -1n, ub = ratioBp(b.debit_hkd, b.lending_value_hkd) ?? -1n;
  if (ua !== ub) return ub > ua ? 1 : -1;
  return Number(a.client_id) - Number(b.client_id);
}

function usePct(bp) { return bp === null ? '—' : fmt(round(fromScaled(bp, 2), 1), 1) + '%'; }

/** The loans-to-capital multiple as a bar: full at 1.2 × the limit, ticks at the warning and the limit. */
function multipleBar(f) {
  const m = Number(f.loans_to_capital), warn = Number(f.warn_multiple), lim = Number(f.limit_multiple);
  const scale = (isFinite(lim) && lim > 0 ? lim : 5) * 1.2;
  const at = (v) => `${Math.max(0, Math.min(100, (v / scale) * 100)).toFixed(1)}%`;
  const lvl = m >= lim ? 'lvl-3' : m >= warn ? 'lvl-1' : 'lvl-0';
  return h('span', { class: 'lev-bar', title: `Loans ${f.loans_to_capital}× capital; warning at ${f.warn_multiple}×, limit ${f.limit_multiple}× (SMF Guidelines)` },
    h('span', { class: `lev-fill ${lvl}`, style: `width:${at(m)}` }),
    h('span', { class: 'lev-tick lev-warn', style: `left:${at(warn)}` }),
    h('span', { class: 'lev-tick lev-limit', style: `left:${at(lim)}` }));
}

/**
 * Local end times of margin calls: the API's seconds_left projected on the
 * browser clock (not the browser clock against the deadline: engine time
 * may differ). Engine time advances in steps (the node ticks every second),
 * so a fresh answer can read up to a step more than the projection; for an
 * unchanged deadline the earlier end is kept, and the countdown never runs
 * backwards.
 */
export class CallClock {
  constructor() { this.ends = new Map(); }

  /** Record one call (secondsLeft undefined: no call). */
  update(key, deadline, secondsLeft, at = Date.now()) {
    if (secondsLeft === undefined || secondsLeft === null) {
      this.ends.delete(key);
      return;
    }
    const end = at + Number(secondsLeft) * 1000;
    const old = this.ends.get(key);
    this.ends.set(key, { deadline, end: old && old.deadline === deadline ? Math.min(old.end, end) : end });
  }

  /** Milliseconds left, or null without a call. */
  left(key) {
    const e = this.ends.get(key);
    return e ? e.end - Date.now() : null;
  }
}

// ---------------------------------------------------------------- view --

function mountMargin(root, ctx, o) {
  let alive = true, timer = 0, stressTimer = 0, tick = 0;
  let clients = null, firm = null, coll = null, stress = null, fetchedAt = 0, stale = '';
  const clock = new CallClock();

  const state = h('span', { class: 'panel-note', id: 'margin-state' });
  const firmEl = h('div', { class: 'stats margin-firm', id: 'margin-firm' });
  const cliBody = h('tbody', { id: 'margin-clients' });
  const cliNote = h('span', { class: 'panel-note', id: 'margin-clients-note' });
  const colBody = h('tbody', { id: 'margin-collateral' });
  const stressNote = h('span', { class: 'panel-note', id: 'margin-stress-note' });
  const stressBody = h('tbody', { id: 'margin-stress-rows' });
  const chartHost = h('div', { class: 'stress-chart', id: 'margin-stress-chart' });
  const csv = h('a', { class: 'btn btn-small', id: 'margin-stress-csv', href: '#', title: 'GET /v1/admin/financing/stress?format=csv', onclick: (e) => { e.preventDefault(); download(); } }, 'CSV');

  root.replaceChildren(
    operatorHead(o, state),
    firmEl,
    h('div', { class: 'margin-mid' },
      h('section', { class: 'panel margin-clients' },
        h('header', { class: 'panel-head' }, h('h2', {}, 'Margin clients'), cliNote),
        h('div', { class: 'scroll' }, h('table', { class: 'tbl tbl-fit tbl-risk tbl-margin' },
          thead(['#', 'Client', 'Lending value', 'Loan (debit)', 'Shortfall', 'Credit limit', 'Debit ÷ LV', 'Call', 'Time left'], [0, 2, 3, 4, 5, 6, 8]),
          cliBody))),
      h('section', { class: 'panel margin-coll' },
        h('header', { class: 'panel-head' }, h('h2', {}, 'Collateral')),
        h('div', { class: 'scroll' },
          h('table', { class: 'tbl tbl-fit tbl-compact' },
            thead(['Asset', 'Eligible', 'Haircut', 'Price', 'Age', 'Firm LV share'], [2, 3, 4, 5]), colBody)))),
    h('section', { class: 'panel margin-stress' },
      h('header', { class: 'panel-head' }, h('h2', {}, 'Stress test'), stressNote, csv),
      h('div', { class: 'stress-body' },
        chartHost,
        h('div', { class: 'scroll' }, h('table', { class: 'tbl tbl-fit tbl-compact tbl-stress' },
          thead(['Scenario', 'Client', 'Debit', 'Market value', 'Lending value', 'Shortfall', 'Loss', 'Loss ÷ capital'], [1, 2, 3, 4, 5, 6, 7]),
          stressBody)))));

  const chart = new BarChart(chartHost, {
    series: [{ label: 'Shortfall raised', color: '--chart-mark' }, { label: 'Firm loss', color: '--down' }],
    unit: 'HKD · loss ÷ capital under each', dp: 0,
  });

  // ---- rendering ----
  function renderState() {
    state.dataset.state = stale ? 'stale' : 'live';
    const asOf = clients && clients.as_of ? `As of ${timeOf(Date.parse(clients.as_of))} UTC (engine) · ` : '';
    state.textContent = stale ? `Not updated: ${stale}` : fetchedAt ? `${asOf}refreshed every ${POLL_MS / 1000} s` : 'Loading…';
  }

  function renderFirm() {
    if (!firm) return;
    const f = firm;
    const cell = (k, v, extra = {}) => h('div', { class: 'stat', title: extra.tip || null, dataset: extra.key ? { k: extra.key } : undefined },
      h('div', { class: 'stat-k' }, k), h('div', { class: `stat-v num ${extra.cls || ''}` }, v));
    const money = (k, v, key, tip = '', cls = '') => cell(k, hkd(v), { key, tip: `${tip ? tip + '. ' : ''}Exact: HK$${v}`, cls });
    const m = Number(f.loans_to_capital), lim = Number(f.limit_multiple), warn = Number(f.warn_multiple);
    firmEl.replaceChildren(
      money('Capital (HKD)', f.capital_hkd, 'capital'),
      money('Loans (HKD)', f.total_debit_hkd, 'debit', 'Loans plus accrued interest, all margin clients'),
      h('div', { class: 'stat stat-lev', dataset: { k: 'multiple' } },
        h('div', { class: 'stat-k' }, `Loans ÷ capital (warn ${f.warn_multiple}×, limit ${f.limit_multiple}×)`),
        h('div', { class: `stat-v num ${m >= lim ? 'down strong' : m >= warn ? 'warn' : ''}` }, `${f.loans_to_capital}×`),
        multipleBar(f)),
      money('Lending value (HKD)', f.lending_value_hkd, 'lending', 'Σ market value × (1 − haircut) over eligible collateral'),
      money('Capital view LV (HKD)', f.capital_view_lending_value_hkd, 'capital-lending', 'Lending value with every virtual asset at a 100% haircut (FRR)'),
      money('Capital-view shortfall', f.capital_view_shortfall_hkd, 'capital-shortfall', 'Σ max(0, debit − capital-view lending value)', big(f.capital_view_shortfall_hkd) > 0n ? 'warn' : ''),
      cell('Under call', fmt(String(f.under_call)), { key: 'under-call', cls: Number(f.under_call) > 0 ? 'down' : '' }),
      cell('Closing out', fmt(String(f.closing_out)), { key: 'closing-out', cls: Number(f.closing_out) > 0 ? 'down strong' : '' }));
  }

  const timeLeft = (c) => (c.call_state === 'none' ? null : clock.left(c.client_id));

  function renderClients() {
    if (!clients) return;
    const list = [...clients.clients].sort(worstFirst);
    const calls = list.filter((c) => c.call_state !== 'none').length;
    cliNote.textContent = `${list.length} with a loan or a call${calls ? ` · ${calls} under call` : ''} · worst first`;
    if (!list.length) {
      cliBody.replaceChildren(h('tr', {}, h('td', { colspan: 9, class: 'empty' }, 'No client has a margin loan')));
      return;
    }
    cliBody.replaceChildren(...list.map((c, i) => {
      const use = ratioBp(c.debit_hkd, c.lending_value_hkd);
      const watch = c.call_state === 'none' && use !== null && use >= WATCH_PCT * 100n;
      const level = c.call_state === 'closing_out' ? 'liq' : c.call_state === 'open' ? 'danger' : watch ? 'watch' : 'ok';
      const flag = c.call_state === 'closing_out' ? h('span', { class: 'flag flag-liq' }, 'Closing out')
        : c.call_state === 'open' ? h('span', { class: 'flag flag-danger' }, 'Margin call')
          : watch ? h('span', { class: 'flag flag-watch', title: `Debit at ${WATCH_PCT}% or more of lending value` }, 'Watch') : h('span', { class: 'muted' }, 'None');
      // A close-out is under way at once (130%) or since the deadline: no
      // time is left to count down.
      const closing = c.call_state === 'closing_out';
      const left = closing ? null : timeLeft(c);
      const exact = (v) => ({ title: `Exact: HK$${v}` });
      return h('tr', { class: `acct-row risk-${level}`, dataset: { client: c.client_id, call: c.call_state } },
        h('td', { class: 'num rank' }, String(i + 1)),
        h('td', { class: 'ref', title: c.ref ? `Client ${c.client_id}, ref ${c.ref}` : null }, h('span', { class: 'num' }, c.client_id), c.ref ? h('span', { class: 'muted' }, ` ${c.ref}`) : null),
        h('td', { class: 'num', title: `Market value HK$${c.market_value_hkd}; lending value (after haircuts) HK$${c.lending_value_hkd}`, dataset: { f: 'lending' } }, hkd(c.lending_value_hkd)),
        h('td', { class: 'num', ...exact(c.debit_hkd), dataset: { f: 'debit' } }, hkd(c.debit_hkd)),
        h('td', { class: `num ${big(c.shortfall_hkd) > 0n ? 'down' : 'muted'}`, ...exact(c.shortfall_hkd), dataset: { f: 'shortfall' } }, hkd(c.shortfall_hkd)),
        h('td', { class: 'num', ...exact(c.credit_limit_hkd) }, hkd(c.credit_limit_hkd)),
        h('td', { class: 'num ratio', title: 'Debit ÷ lending value: a call opens above 100%; close-out starts at once from 130%' },
          h('span', { class: 'ratio-v' }, usePct(use)), useBar(use, level)),
        h('td', {}, flag),
        h('td', { class: 'num countdown', title: c.deadline ? `Deadline ${dateTimeOf(Date.parse(c.deadline))}` : null, dataset: { deadline: c.deadline || '' } },
          closing ? h('span', { class: 'down strong' }, 'Under way') : left === null ? h('span', { class: 'muted' }, '—') : countdown(left)));
    }));
  }

  // The countdown runs between polls from the server's seconds_left (not
  // the browser clock against the deadline: engine time may differ).
  function tickCountdowns() {
    if (!clients) return;
    for (const td of cliBody.querySelectorAll('td.countdown')) {
      const c = clients.clients.find((x) => x.client_id === td.parentElement.dataset.client);
      const left = c && c.call_state !== 'closing_out' ? timeLeft(c) : null;
      if (left !== null) td.textContent = countdown(left);
    }
  }

  function renderCollateral() {
    if (!coll) return;
    const now = Date.now();
    const share = new Map(coll.concentration.map((c) => [c.asset, c]));
    colBody.replaceChildren(...coll.assets.map((a) => {
      const at = a.price_at ? Date.parse(a.price_at) : NaN;
      const age = isFinite(at) ? now - at : NaN;
      const old = isFinite(age) && age > PRICE_MAX_AGE_MS;
      const c = share.get(a.asset);
      const base = a.asset === BASE && !a.price;
      return h('tr', { dataset: { asset: a.asset }, title: `Per-client concentration limit ${ppmPct(a.concentration_ppm)} of the client's lending value` },
        h('td', { title: a.kind }, h('span', { class: 'strong' }, a.asset), h('span', { class: 'muted kind' }, ` ${KIND[a.kind] || a.kind}`)),
        h('td', { class: a.eligible ? '' : 'muted' }, a.eligible ? 'Yes' : 'No'),
        h('td', { class: 'num', dataset: { f: 'haircut' } }, ppmPct(a.haircut_ppm)),
        h('td', { class: 'num', title: a.price ? `${a.price} ${a.price_ccy}` : base ? 'The base currency' : 'No price: an unpriced holding is worth nothing' },
          a.price ? `${fmt(a.price)} ${a.price_ccy}` : h('span', { class: 'muted' }, base ? 'Base' : 'None')),
        h('td', { class: `num ${old ? 'warn' : 'muted'}`, title: isFinite(at) ? `Set ${dateTimeOf(at)}${old ? '; older than 5 min: new lending against it is refused (stale_price)' : ''}` : null },
          isFinite(age) ? ageText(age) : '—'),
        c ? h('td', { class: 'conc-row', dataset: { asset: a.asset, share: String(c.share_ppm) }, title: `HK$${c.lending_value_hkd} of the firm's lending value (${c.share_ppm} ppm)` },
          h('span', { class: 'conc-bar' }, h('span', { class: 'conc-fill', style: `width:${(Number(c.share_ppm) / 1e4).toFixed(1)}%` })),
          h('span', { class: 'num conc-pct' }, ppmPct(c.share_ppm)))
          : h('td', { class: 'num muted' }, '—'));
    }));
  }

  function renderStress() {
    if (!stress) return;
    const totals = stress.records.filter((r) => r.client === 'ALL');
    stressNote.textContent = `${totals.length} scenarios · ${stress.records.length - totals.length} client rows · as of ${timeOf(Date.parse(stress.as_of))} UTC · capital HK$${hkd(stress.capital_hkd)}`;
    chart.set(totals.map((r) => ({ label: r.scenario, values: [r.shortfall, r.loss], note: r.loss_of_capital ? pct(r.loss_of_capital, 2) : '—' })));
    if (!stress.records.length) {
      stressBody.replaceChildren(h('tr', {}, h('td', { colspan: 8, class: 'empty' }, 'No client has a loan: nothing to stress')));
      return;
    }
    stressBody.replaceChildren(...stress.records.map((r) => {
      const all = r.client === 'ALL';
      return h('tr', { class: all ? 'stress-total' : 'cont', dataset: { scenario: r.scenario, client: r.client } },
        h('td', { class: all ? 'strong' : 'muted' }, r.scenario),
        h('td', { class: 'num' }, all ? 'All' : r.client),
        h('td', { class: 'num' }, hkd(r.debit)),
        h('td', { class: 'num' }, hkd(r.market_value)),
        h('td', { class: 'num' }, hkd(r.lending_value)),
        h('td', { class: `num ${big(r.shortfall) > 0n ? '' : 'muted'}` }, hkd(r.shortfall)),
        h('td', { class: `num ${big(r.loss) > 0n ? 'down strong' : 'muted'}` }, hkd(r.loss)),
        h('td', { class: 'num' }, all && r.loss_of_capital ? pct(r.loss_of_capital, 2) : ''));
    }));
  }

  // ---- data ----
  async function poll() {
    const got = await Promise.allSettled([
      o.request('GET', ENDPOINT), o.request('GET', '/v1/admin/financing/firm'), o.request('GET', '/v1/admin/financing/collateral')]);
    if (!alive) return;
    const [c, f, k] = got;
    if (c.status === 'fulfilled') {
      clients = c.value;
      fetchedAt = Date.now();
      const seen = new Set(clients.clients.map((x) => x.client_id));
      for (const k of [...clock.ends.keys()]) if (!seen.has(k)) clock.update(k);
      for (const x of clients.clients) clock.update(x.client_id, x.deadline, x.call_state === 'none' ? undefined : x.seconds_left, fetchedAt);
    }
    if (f.status === 'fulfilled') firm = f.value;
    if (k.status === 'fulfilled') coll = k.value;
    const failed = got.find((r) => r.status === 'rejected');
    if (failed && failed.reason.code === 'financing_disabled') {
      root.replaceChildren(h('div', { class: 'callout boot', id: 'margin-disabled' }, 'Margin financing is not enabled on this venue.', h('span', { class: 'code' }, failed.reason.code)));
      return;
    }
    stale = failed ? failed.reason.message : '';
    if (failed && (failed.reason.status === 401 || failed.reason.status === 403)) ctx.toast(`Margin data refused: ${failed.reason.message}`, 'error');
    renderState();
    renderFirm();
    renderClients();
    renderCollateral();
    timer = setTimeout(poll, POLL_MS);
  }

  async function loadStress() {
    try {
      stress = await o.request('GET', '/v1/admin/financing/stress');
      if (alive) renderStress();
    } catch (e) {
      if (alive) stressNote.textContent = `Not updated: ${e.message}`;
    }
    if (alive) stressTimer = setTimeout(loadStress, STRESS_POLL_MS);
  }

  // The CSV is signed like every operator read, so the console fetches it
  // and saves it from memory; data-rows tells a test what was received.
  async function download() {
    try {
      const text = await o.requestText('/v1/admin/financing/stress?format=csv');
      const url = URL.createObjectURL(new Blob([text], { type: 'text/csv' }));
      const a = h('a', { href: url, download: `stress-${new Date().toISOString().slice(0, 10)}.csv`, hidden: true });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
      csv.dataset.rows = String(text.trim().split('\n').length);
      csv.dataset.head = text.split('\n')[0];
    } catch (e) {
      ctx.toast(`Stress CSV: ${e.message}`, 'error');
    }
  }

  renderState();
  poll();
  loadStress();
  tick = setInterval(tickCountdowns, 1000);
  return () => {
    alive = false;
    clearTimeout(timer);
    clearTimeout(stressTimer);
    clearInterval(tick);
    chart.destroy();
  };
}

const BASE = 'HKD'; // the book's base currency (fin_api: amounts in HKD end in _hkd)
const KIND = { cash: 'cash', virtual_asset: 'VA', security: 'security' };

/** Parts per million as a percentage, exactly, to at most 2 decimals shown ("600000" → "60%", "417512" → "41.75%"). */
function ppmPct(p) {
  const v = toScaled(String(p ?? ''), 0);
  if (v === null) return '—';
  return fmt(round(fromScaled(v, 4), 2), 0) + '%';
}

function ageText(ms) {
  if (ms < 0) ms = 0;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86400) return `${Math.floor(s / 3600)} h`;
  return `${Math.floor(s / 86400)} d`;
}

/** A bar under debit ÷ lending value, full at 100% (a margin call). */
function useBar(bp, level) {
  const w = bp === null ? 0 : Math.min(100, Number(bp) / 100);
  const lvl = { ok: 0, watch: 1, danger: 2, liq: 3 }[level];
  return h('span', { class: 'ratio-bar' }, h('span', { class: `ratio-fill lvl-${lvl}`, style: `width:${w.toFixed(1)}%` }));
}
