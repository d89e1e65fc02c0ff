// Risk view, for the risk officer, admin and auditor (the roles granted
// view_risk): accounts ranked closest to liquidation, each market's risk
// state (open interest, mark, index health, reduce-only, funding, accounts
// with positions) and funding paid per market. Operator data is polled
// every few seconds (it is computed by scanning accounts on the server);
// market data stays on the WebSocket in the Markets view.
//
// Everything shown comes from the operator API; nothing is invented. The
// liquidation tape, insurance fund and ADL queue panels appear when the
// served OpenAPI document lists their endpoints (so a console in front of
// an older server shows no empty panels).

import { get } from '../api.js';
import { adlLights, dateTimeOf, decimalsOf, fmt, fromScaled, h, pctSigned, round, sign, thead, timeOf, toScaled, usd } from '../format.js';
import { onOperatorChange, operator, operatorLogin, operatorLogout } from '../operator.js';

export const id = 'risk';
export const title = 'Risk';

const ACTION = 'view_risk';
const POLL_MS = 3000;          // accounts and markets
const FUNDING_POLL_MS = 15000; // funding history changes at most once per interval
const ROWS = 100;              // accounts asked for (the API allows up to 500)
// Emphasis thresholds, presentation only: margin ratio (maintenance margin
// ÷ equity; the engine liquidates at 100%) and the mark move to a
// liquidation price, in percent. A high-leverage account can be a small
// move from liquidation while its ratio still looks moderate, so an
// account's level is the worse of the two.
const WATCH = 50n, DANGER = 80n;
const NEAR_MOVE = 100n, WATCH_MOVE = 500n; // hundredths of a percent: 1%, 5%

export function available(ctx) { return perps(ctx).length > 0; }

/** The perpetual markets: funding, liquidations and ADL exist only there (spot markets are margin financing's). */
const perps = (ctx) => ctx.markets.filter((m) => m.kind !== 'spot');

/** In the navigation unless an operator whose role may not view risk is logged in. */
export function visible() {
  const o = operator();
  return !o || o.can(ACTION);
}

// Liquidation panels. Each is drawn only when the API documents its
// endpoint (GET /v1/openapi.json is generated from the routes, a gateway
// test enforces it).
const HOOKS = [
  { id: 'liquidations', path: '/v1/admin/risk/liquidations', mount: (o, ctx) => tapePanel(o, ctx) },
  { id: 'insurance', path: '/v1/admin/risk/insurance', mount: (o, ctx) => insurancePanel(o, ctx) },
  { id: 'adl', path: '/v1/admin/risk/adl', mount: (o, ctx) => adlPanel(o, ctx) },
];
const TAPE_CHAINS = 50;   // liquidations asked for
const TAPE_ROWS = 120;    // rows drawn (chain headers and steps)
const FUND_POINTS = 500;  // balance history points charted
const ADL_ROWS = 20;      // positions per side

export function mount(root, ctx) {
  let unmountInner = null;
  const show = (o) => {
    if (unmountInner) unmountInner();
    if (!o) unmountInner = mountLogin(root);
    else if (!o.can(ACTION)) unmountInner = mountRefused(root, o);
    else unmountInner = mountRisk(root, ctx, o);
  };
  const stop = onOperatorChange(show);
  show(operator());
  return () => {
    stop();
    if (unmountInner) unmountInner();
  };
}

// ---------------------------------------------------------------- login --

const LOGIN_BLURB = 'Risk monitoring is open to the risk officer, admin and auditor roles. The console asks the server which role your key holds and shows only what that role may see; the secret stays in this tab’s memory and requests are signed in the browser.';

/** The operator log-in form (shared by the operator views; blurb says what the view is for). */
export function mountLogin(root, blurb = LOGIN_BLURB) {
  const err = h('div', { class: 'callout callout-error', id: 'op-login-error', hidden: true });
  const keyIn = h('input', { id: 'op-login-key', name: 'key', autocomplete: 'off', spellcheck: 'false', required: true });
  const secretIn = h('input', { id: 'op-login-secret', name: 'secret', type: 'password', autocomplete: 'off', required: true });
  const btn = h('button', { class: 'btn btn-primary', type: 'submit', id: 'op-login-submit' }, 'Log in');
  const form = h('form', { class: 'login-form', id: 'op-login-form', onsubmit: async (e) => {
    e.preventDefault();
    err.hidden = true;
    btn.disabled = true;
    btn.textContent = 'Checking key…';
    try {
      await operatorLogin(keyIn.value.trim(), secretIn.value);
    } catch (ex) {
      err.hidden = false;
      err.replaceChildren(h('span', {}, ex.message, ex.code ? h('span', { class: 'code' }, ex.code) : null));
      btn.disabled = false;
      btn.textContent = 'Log in';
    }
  } },
  h('label', { for: 'op-login-key' }, 'Operator key ID'), keyIn,
  h('label', { for: 'op-login-secret' }, 'Operator secret'), secretIn,
  btn, err);
  root.replaceChildren(h('div', { class: 'login-wrap' },
    h('section', { class: 'panel login' },
      h('header', { class: 'panel-head' }, h('h2', {}, 'Operator login')),
      h('div', { class: 'login-body' },
        h('p', { class: 'muted' }, blurb),
        form))));
  keyIn.focus();
  return () => {};
}

/** Says why a logged-in role sees nothing (the server would answer 403). */
/**
 * The head of an operator view: who is logged in, the role, a read-only
 * badge when the role has no actions here, the view's state line and the
 * log-out button. name, nameId, readOnly, readOnlyTitle and extra (more
 * badges) adapt it to a view.
 */
export function operatorHead(o, state, { name = o.keyId, nameId = null, readOnly = o.readOnly,
  readOnlyTitle = 'This role has no actions, only reads', extra = null } = {}) {
  return h('div', { class: 'risk-head' },
    h('div', { class: 'who' },
      h('span', { class: 'who-k' }, 'Operator'), h('span', { class: 'who-v mono', id: nameId }, name),
      h('span', { class: 'badge', id: 'op-role' }, o.role),
      readOnly ? h('span', { class: 'badge', title: readOnlyTitle }, 'Read-only') : null,
      extra),
    state,
    h('button', { class: 'btn btn-small', id: 'op-logout', onclick: () => operatorLogout() }, 'Log out'));
}

export function mountRefused(root, o, view = 'risk', heading = 'Risk') {
  root.replaceChildren(h('div', { class: 'login-wrap' },
    h('section', { class: 'panel login', id: `${view}-refused` },
      h('header', { class: 'panel-head' }, h('h2', {}, heading)),
      h('div', { class: 'login-body' },
        h('div', { class: 'callout callout-warn', role: 'alert' },
          h('strong', {}, 'Not available to your role. '),
          `The ${o.role} role may not view risk data; it is open to risk_officer, admin and auditor.`,
          h('span', { class: 'code' }, 'FORBIDDEN')),
        h('div', { class: 'refused-foot' },
          h('span', { class: 'muted' }, `Logged in as ${o.keyId}`),
          h('button', { class: 'btn btn-small', id: 'op-logout', onclick: () => operatorLogout() }, 'Log out'))))));
  return () => {};
}

// ----------------------------------------------------------------- risk --

function mountRisk(root, ctx, o) {
  let alive = true, timer = 0, fundTimer = 0;
  let accounts = null, markets = null, funding = null; // funding: symbol → GET …/funding answer
  let updated = 0, stale = '';

  const state = h('span', { class: 'panel-note', id: 'risk-state' });
  const stats = h('div', { class: 'stats risk-stats', id: 'risk-summary' });
  const mktBody = h('tbody', { id: 'risk-markets' });
  const accBody = h('tbody', { id: 'risk-accounts' });
  const accNote = h('span', { class: 'panel-note', id: 'risk-accounts-note' });
  const fundBody = h('tbody', { id: 'risk-funding' });
  const fundNote = h('span', { class: 'panel-note' });
  const hooks = h('div', { class: 'risk-liq', id: 'risk-hooks', hidden: true });
  const spec = (sym) => ctx.bySymbol.get(sym);
  const pdp = (sym) => decimalsOf(spec(sym).tick), qdp = (sym) => decimalsOf(spec(sym).lot);

  root.replaceChildren(
    operatorHead(o, state),
    stats,
    h('section', { class: 'panel risk-markets' },
      h('header', { class: 'panel-head' }, h('h2', {}, 'Markets')),
      h('div', { class: 'scroll' }, h('table', { class: 'tbl tbl-fit' },
        thead(['Market', 'Mark', 'Index', 'Index health', 'Trading', 'Open interest', 'OI notional (USD)', 'Accounts long / short', 'Funding last / 8h', 'Predicted / 8h', 'Next funding (UTC)'], [1, 2, 5, 6, 7, 8, 9, 10]),
        mktBody))),
    h('section', { class: 'panel risk-accounts' },
      h('header', { class: 'panel-head' }, h('h2', {}, 'Accounts closest to liquidation'), accNote),
      h('div', { class: 'scroll' }, h('table', { class: 'tbl tbl-fit tbl-risk' },
        thead(['#', 'Client', 'Ref', 'Equity (USD)', 'Notional', 'Eff. lev.', 'Maint. margin', 'Margin ratio', 'Market', 'Side', 'Size', 'Mark', 'Liq. price', 'To liq.', 'Status'],
          [0, 1, 3, 4, 5, 6, 7, 10, 11, 12, 13]),
        accBody))),
    hooks,
    h('div', { class: 'risk-bottom' },
      h('section', { class: 'panel risk-funding' },
        h('header', { class: 'panel-head' }, h('h2', {}, 'Funding paid'), fundNote),
        h('div', { class: 'scroll' }, h('table', { class: 'tbl tbl-fit' },
          thead(['Settled (UTC)', 'Market', 'Rate / 8h', 'Avg. premium', 'Samples', 'Mark', 'Paid (USD)', 'Received (USD)', 'Residue'], [2, 3, 4, 5, 6, 7, 8]),
          fundBody)))));

  // ---- rendering ----
  function renderState() {
    state.dataset.state = stale ? 'stale' : 'live';
    // The figures are as of the engine's time (the last command it applied),
    // which is what an explanation or a replay would refer to.
    const asOf = accounts && accounts.time ? `As of ${timeOf(accounts.time)} UTC (engine) · ` : '';
    state.textContent = stale ? `Not updated: ${stale}` : updated ? `${asOf}refreshed every ${POLL_MS / 1000} s` : 'Loading…';
  }

  function renderStats() {
    const cells = [];
    const cell = (k, v, cls = '', tip = '') => cells.push(h('div', { class: 'stat', title: tip || null },
      h('div', { class: 'stat-k' }, k), h('div', { class: `stat-v num ${cls}` }, v)));
    if (accounts) {
      const top = accounts.accounts[0];
      cell('Accounts with positions', fmt(String(accounts.accounts_with_positions)), '', `Of ${accounts.clients_scanned} client accounts scanned`);
      cell('Liquidatable now', fmt(String(accounts.liquidatable_accounts)), accounts.liquidatable_accounts > 0 ? 'down strong' : '',
        'Equity below maintenance margin (or liquidation in progress)');
      cell('Highest margin ratio', top ? ratioText(top) : '—', top ? ratioClass(top) : '', 'Maintenance margin ÷ equity of the riskiest account; 100% is liquidation');
      const near = accounts.accounts.filter((a) => accountLevel(a) === 2).length;
      const watch = accounts.accounts.filter((a) => accountLevel(a) === 1).length;
      cell('Near liquidation', fmt(String(near)), near ? 'down' : '', `Margin ratio ≥ ${DANGER}% or a mark move under 1% from a liquidation price`);
      cell('Watch', fmt(String(watch)), watch ? 'warn' : '', `Margin ratio ≥ ${WATCH}% or a mark move under 5% from a liquidation price`);
    }
    if (markets) {
      let oi = 0n;
      for (const m of markets.markets) oi += toScaled(m.open_interest_notional, 6) ?? 0n;
      cell('Open interest (USD)', usd(fromScaled(oi, 6)), '', 'Sum over markets of one side’s open interest at mark');
      const ro = markets.markets.filter((m) => m.reduce_only).map((m) => m.symbol);
      cell('Reduce-only markets', ro.length ? ro.join(', ') : 'None', ro.length ? 'warn' : '');
    }
    stats.replaceChildren(...cells);
  }

  function renderMarkets() {
    if (!markets) return;
    mktBody.replaceChildren(...markets.markets.map((m) => {
      const pd = pdp(m.symbol), qd = qdp(m.symbol), ix = m.index, f = m.funding;
      const health = ix.mode === 'manual'
        ? h('td', { class: 'muted', title: 'No external sources configured: the mark is set by an operator' }, 'Manual')
        : h('td', { class: ix.healthy ? '' : 'warn strong', title: `${ix.fresh_sources} fresh, ${ix.included_sources} included sources` },
          `${ix.healthy ? 'Healthy' : 'Unhealthy'} · ${ix.included_sources}/${ix.fresh_sources}`);
      const trading = [m.reduce_only ? 'Reduce-only' : 'Normal', m.liquidations_paused ? 'liquidations paused' : ''].filter(Boolean).join(' · ');
      return h('tr', { dataset: { symbol: m.symbol } },
        h('td', { class: 'strong' }, m.symbol),
        h('td', { class: 'num', title: `Source: ${m.mark_source}` }, fmt(m.mark, pd)),
        h('td', { class: 'num' }, ix.price ? fmt(ix.price, pd) : h('span', { class: 'muted' }, ix.mode === 'manual' ? 'None' : '—')),
        health,
        h('td', { class: m.reduce_only || m.liquidations_paused ? 'warn strong' : '' }, trading),
        h('td', { class: 'num' }, fmt(m.open_interest, qd)),
        h('td', { class: 'num', title: `Exact: ${m.open_interest_notional} USD` }, usd(m.open_interest_notional)),
        h('td', { class: 'num' }, `${m.long_accounts} / ${m.short_accounts}`),
        h('td', { class: 'num' }, f.mode === 'manual' ? h('span', { class: 'muted' }, '—') : pctSigned(f.last_rate, 4)),
        h('td', { class: 'num' }, f.mode === 'manual' ? h('span', { class: 'muted' }, '—') : pctSigned(f.predicted_rate, 4)),
        h('td', { class: 'num' }, f.next_funding_time ? timeOf(f.next_funding_time) : h('span', { class: 'muted' }, f.mode === 'manual' ? 'Manual' : '—')));
    }));
  }

  function renderAccounts() {
    if (!accounts) return;
    const list = accounts.accounts;
    accNote.textContent = `${list.length} shown of ${accounts.accounts_with_positions} with positions · ranked by margin ratio · seq ${accounts.seq}`;
    if (!list.length) {
      accBody.replaceChildren(h('tr', {}, h('td', { colspan: 15, class: 'empty' }, 'No account holds a position')));
      return;
    }
    const rows = [];
    list.forEach((a, i) => {
      const ps = a.positions.length ? a.positions : [null];
      const span = String(ps.length);
      const level = accountLevel(a);
      const cls = `acct-row risk-${['ok', 'watch', 'danger', 'liq'][level]}`;
      ps.forEach((p, j) => {
        const cells = [];
        if (j === 0) {
          cells.push(
            h('td', { class: 'num rank', rowspan: span }, String(i + 1)),
            h('td', { class: 'num', rowspan: span }, a.client_id),
            h('td', { class: 'ref', rowspan: span, title: a.ref }, a.ref || '—'),
            h('td', { class: 'num', rowspan: span, title: `Collateral ${a.collateral} + unrealised PnL ${a.unrealized_pnl}; exact equity ${a.equity} USD` }, usd(a.equity)),
            h('td', { class: 'num', rowspan: span, title: `Exact: ${a.notional} USD` }, usd(a.notional)),
            h('td', { class: 'num', rowspan: span, title: 'Notional at mark ÷ equity' }, effLeverage(a)),
            h('td', { class: 'num', rowspan: span, title: `Exact: ${a.maintenance_margin} USD` }, usd(a.maintenance_margin)),
            h('td', { class: 'num ratio', rowspan: span, title: a.margin_ratio ? `Exact: ${a.margin_ratio} (maintenance margin ÷ equity)` : 'Equity is zero or negative' },
              h('span', { class: `ratio-v ${ratioClass(a)}` }, ratioText(a)), ratioBar(a)));
        }
        if (p) {
          const pd = pdp(p.symbol), qd = qdp(p.symbol);
          cells.push(
            h('td', {}, p.symbol),
            h('td', { class: p.side === 'long' ? 'up' : 'down' }, p.side === 'long' ? 'Long' : 'Short'),
            h('td', { class: 'num' }, fmt(p.size.replace('-', ''), qd)),
            h('td', { class: 'num' }, fmt(p.mark, pd)),
            p.liquidation_price
              ? h('td', { class: 'num', title: 'Mark price at which equity would fall below maintenance margin (other marks unchanged)' }, fmt(p.liquidation_price, pd))
              : h('td', { class: 'num muted', title: 'Collateral covers this position at any mark price' }, 'None'),
            p.distance_to_mark_pct
              ? h('td', { class: `num ${distClass(p.distance_to_mark_pct)}`, title: `The mark must ${p.side === 'long' ? 'fall' : 'rise'} ${p.distance_to_mark_pct}% to reach the liquidation price` },
                `${p.side === 'long' ? '↓' : '↑'} ${fmt(p.distance_to_mark_pct, 2)}%`)
              : h('td', { class: 'num muted' }, '—'));
        } else cells.push(h('td', { colspan: 6, class: 'muted' }, 'No positions'));
        if (j === 0) {
          cells.push(h('td', { rowspan: span }, a.liquidatable
            ? h('span', { class: 'flag flag-liq' }, 'Liquidatable')
            : level >= 2 ? h('span', { class: 'flag flag-danger' }, 'Near liquidation')
              : level === 1 ? h('span', { class: 'flag flag-watch' }, 'Watch') : h('span', { class: 'muted' }, 'Healthy')));
        }
        rows.push(h('tr', { class: `${cls}${j ? ' cont' : ''}`, dataset: j === 0 ? { client: a.client_id, ref: a.ref } : {} }, cells));
      });
    });
    accBody.replaceChildren(...rows);
  }

  // Both markets' settlements in one table, newest first.
  function renderFunding() {
    if (!funding) {
      fundBody.replaceChildren(h('tr', {}, h('td', { colspan: 9, class: 'empty' }, 'Loading…')));
      return;
    }
    const all = Object.values(funding);
    const manual = all.filter((f) => f.mode === 'manual').map((f) => f.symbol);
    fundNote.textContent = manual.length ? `Manual mode (no funding): ${manual.join(', ')}` : 'Paid between longs and shorts at each settlement';
    const rows = all.flatMap((f) => f.history.map((r) => ({ ...r, symbol: f.symbol }))).sort((x, y) => y.time - x.time || x.symbol.localeCompare(y.symbol));
    if (!rows.length) {
      fundBody.replaceChildren(h('tr', {}, h('td', { colspan: 9, class: 'empty' }, manual.length === all.length
        ? 'No funding: markets are in manual mode until index feeds quote'
        : 'No funding settled yet')));
      return;
    }
    fundBody.replaceChildren(...rows.slice(0, 100).map((r) => h('tr', { dataset: { symbol: r.symbol } },
      h('td', { class: 'time' }, dateTimeOf(r.time).replace(' UTC', '')),
      h('td', {}, r.symbol),
      h('td', { class: 'num', title: r.capped ? 'Capped' : null }, pctSigned(r.rate, 4) + (r.capped ? ' cap' : '')),
      h('td', { class: 'num' }, pctSigned(r.average_premium, 4)),
      h('td', { class: 'num' }, String(r.samples)),
      h('td', { class: 'num' }, fmt(r.mark, pdp(r.symbol))),
      h('td', { class: 'num', title: `Exact: ${r.paid} USD` }, usd(r.paid)),
      h('td', { class: 'num', title: `Exact: ${r.received} USD` }, usd(r.received)),
      h('td', { class: 'num muted', title: 'Rounding residue booked to the venue' }, usd(r.residue)))));
  }

  // ---- data ----
  // Poll after each answer, not on a fixed clock, so a slow scan never
  // stacks requests.
  async function poll() {
    const [a, m] = await Promise.allSettled([o.request('GET', `/v1/admin/risk/accounts?limit=${ROWS}`), o.request('GET', '/v1/admin/risk/markets')]);
    if (!alive) return;
    const failed = [a, m].find((r) => r.status === 'rejected');
    if (a.status === 'fulfilled') accounts = a.value;
    if (m.status === 'fulfilled') markets = m.value;
    if (failed) {
      const e = failed.reason;
      stale = e.message;
      if (e.status === 401 || e.status === 403) ctx.toast(`Risk data refused: ${e.message}`, 'error');
    } else {
      stale = '';
      updated = Date.now();
    }
    renderState();
    renderStats();
    renderMarkets();
    renderAccounts();
    timer = setTimeout(poll, POLL_MS);
  }

  async function loadFunding() {
    clearTimeout(fundTimer);
    const got = await Promise.allSettled(perps(ctx).map((m) => get(`/v1/markets/${encodeURIComponent(m.symbol)}/funding`)));
    if (!alive) return;
    const ok = got.filter((r) => r.status === 'fulfilled').map((r) => r.value);
    if (ok.length) {
      funding = Object.fromEntries(ok.map((f) => [f.symbol, f]));
      renderFunding();
    } else {
      fundBody.replaceChildren(h('tr', {}, h('td', { colspan: 9, class: 'empty' }, `Not available: ${got[0].reason.message}`)));
    }
    fundTimer = setTimeout(loadFunding, FUNDING_POLL_MS);
  }

  // Hook panels: only endpoints the API documents.
  const hookStops = [];
  async function loadHooks() {
    let doc;
    try { doc = await get('/v1/openapi.json'); } catch { return; }
    const present = HOOKS.filter((k) => doc.paths && doc.paths[k.path] && doc.paths[k.path].get);
    if (!alive || !present.length) return;
    hooks.hidden = false;
    hooks.replaceChildren(...present.map((k) => {
      const p = k.mount(o, ctx);
      hookStops.push(p.stop);
      return p.el;
    }));
  }

  renderState();
  renderFunding();
  poll();
  loadFunding();
  loadHooks();
  return () => {
    alive = false;
    clearTimeout(timer);
    clearTimeout(fundTimer);
    for (const s of hookStops) s();
  };
}

// ---------------------------------------------------------- liquidations --

/** Polls fn every POLL_MS after each answer; returns a stop function. */
function poller(fn) {
  let alive = true, timer = 0;
  const run = async () => {
    await fn(() => alive);
    if (alive) timer = setTimeout(run, POLL_MS);
  };
  run();
  return () => { alive = false; clearTimeout(timer); };
}

const panel = (id, title, note, body, cls = '') => h('section', { class: `panel ${cls}`, id },
  h('header', { class: 'panel-head' }, h('h2', {}, title), note), body);

const STATUS = { in_progress: 'In progress', margin_restored: 'Margin restored', closed_out: 'Closed out' };

/**
 * The liquidation tape: each liquidation as a header row (client, trigger
 * mark, equity and maintenance margin at the start, fees, outcome) over
 * its fills, newest first: book fills at their average price, insurance
 * fund take-overs and ADL fills at the bankruptcy price.
 */
function tapePanel(o, ctx) {
  const note = h('span', { class: 'panel-note', id: 'risk-liq-note' });
  const body = h('tbody', { id: 'risk-liq-tape' });
  const el = panel('risk-hook-liquidations', 'Liquidation tape', note,
    h('div', { class: 'scroll' }, h('table', { class: 'tbl tbl-fit tbl-liq' },
      h('thead', {}, h('tr', {}, ['Time (UTC)', 'How', 'Side', 'Qty', 'Price', 'Fee (USD)']
        .map((t, i) => h('th', { class: i >= 3 ? 'num' : null }, t)))), body)), 'risk-tape');
  const dp = (sym, f) => { const m = ctx.bySymbol.get(sym); return m ? decimalsOf(m[f]) : 2; };
  const stop = poller(async (alive) => {
    let r;
    try { r = await o.request('GET', `/v1/admin/risk/liquidations?limit=${TAPE_CHAINS}`); } catch (e) {
      if (alive()) note.textContent = `Not updated: ${e.message}`;
      return;
    }
    if (!alive()) return;
    const chains = r.liquidations;
    const open = chains.filter((c) => c.status === 'in_progress').length;
    note.textContent = `${chains.length} shown${open ? ` · ${open} in progress` : ''} · every fill, unthrottled`;
    if (!chains.length) {
      body.replaceChildren(h('tr', {}, h('td', { colspan: 6, class: 'empty' }, 'No liquidations')));
      return;
    }
    const rows = [];
    for (const c of chains) {
      if (rows.length >= TAPE_ROWS) break;
      const pd = dp(c.symbol, 'tick');
      // The chain's header: who, where, why (the trigger) and the outcome.
      rows.push(h('tr', { class: `liq-chain liq-${c.status}`, dataset: { client: c.client_id, chain: c.id } },
        // The tooltip names the offline replay of this account (the log
        // itself is not reachable from the browser).
        h('td', { colspan: 5, title: `Collateral ${c.collateral} USD at the start; filled ${c.filled_notional} USD on the book.\nReplay it offline, every event of the account: sampan replay --data DATA/journal --account ${c.client_id}` },
          h('span', { class: `flag ${c.status === 'in_progress' ? 'flag-liq' : c.status === 'closed_out' ? 'flag-danger' : 'flag-watch'}` }, STATUS[c.status] || c.status),
          h('span', { class: 'strong' }, ` Client ${c.client_id} `), h('span', { class: 'muted' }, `${c.symbol} · ${dateTimeOf(c.started).replace(' UTC', '')} · `),
          `mark ${fmt(c.trigger_mark, pd)}, equity ${usd(c.equity)} < MM ${usd(c.maintenance_margin)}`,
          c.deleveraged.length ? ` · ${c.deleveraged.length} ADL` : '',
          c.truncated_steps ? ` · ${c.truncated_steps} steps not listed` : ''),
        h('td', { class: 'num', title: `Exact: ${c.fees} USD to the insurance fund` }, usd(c.fees))));
      const steps = [];
      for (const x of c.orders) if (x.filled !== '0') steps.push({ t: x.time, how: 'Book', side: x.side, qty: x.filled, px: x.avg_price, fee: x.fee, sym: x.symbol, tip: `Limit ${x.limit_price}, bankruptcy ${x.bankruptcy_price}` });
      for (const x of c.takeovers) steps.push({ t: x.time, how: 'Fund take-over', side: x.side, qty: x.qty, px: x.price, sym: x.symbol, tip: `At the bankruptcy price; fund loss at mark ${x.fund_loss_at_mark} USD` });
      for (const x of c.deleveraged) steps.push({ t: x.time, how: `ADL vs ${x.counterparty_client_id}`, side: x.side, qty: x.qty, px: x.price, sym: x.symbol, tip: `Counterparty quantile ${x.counterparty_quantile}` });
      for (const x of steps.reverse()) {
        if (rows.length >= TAPE_ROWS) break;
        rows.push(h('tr', { class: 'liq-step cont', dataset: { client: c.client_id } },
          h('td', { class: 'time muted' }, timeOf(x.t)),
          h('td', { title: `${x.sym}: ${x.tip}` }, x.how),
          h('td', { class: x.side === 'buy' ? 'up' : 'down' }, x.side === 'buy' ? 'Buy' : 'Sell'),
          h('td', { class: 'num' }, fmt(x.qty, dp(x.sym, 'lot'))),
          h('td', { class: 'num' }, fmt(x.px, dp(x.sym, 'tick'))),
          h('td', { class: 'num muted' }, x.fee ? usd(x.fee) : '')));
      }
    }
    body.replaceChildren(...rows);
  });
  return { el, stop };
}

/** The insurance fund: balance and equity now, a balance chart, what it holds. */
function insurancePanel(o) {
  const note = h('span', { class: 'panel-note' });
  const figs = h('div', { class: 'fund-figs', id: 'risk-fund' });
  const chart = h('div', { class: 'fund-chart', id: 'risk-fund-chart' });
  const el = panel('risk-hook-insurance', 'Insurance fund', note, h('div', { class: 'fund-body' }, figs, chart), 'risk-fund');
  const stop = poller(async (alive) => {
    let r;
    try { r = await o.request('GET', `/v1/admin/risk/insurance?limit=${FUND_POINTS}`); } catch (e) {
      if (alive()) note.textContent = `Not updated: ${e.message}`;
      return;
    }
    if (!alive()) return;
    note.textContent = r.liquidation_queue.length ? `${r.liquidation_queue.length} in liquidation` : `${r.history.length} movements`;
    const held = r.positions.map((p) => `${p.side === 'long' ? 'Long' : 'Short'} ${p.size.replace('-', '')} ${p.symbol}`).join(', ');
    figs.replaceChildren(
      h('div', { class: 'stat', title: `Exact: ${r.balance} USD` }, h('div', { class: 'stat-k' }, 'Balance (USD)'), h('div', { class: 'stat-v num', id: 'risk-fund-balance' }, usd(r.balance))),
      h('div', { class: 'stat', title: `Balance plus unrealised PnL of the positions it holds. Exact: ${r.equity} USD` }, h('div', { class: 'stat-k' }, 'Equity (USD)'), h('div', { class: 'stat-v num' }, usd(r.equity))),
      h('div', { class: 'stat', title: 'Positions taken over from liquidations; the fund works them out one step per market per second' },
        h('div', { class: 'stat-k' }, 'Holds'), h('div', { class: 'stat-v holds' }, held || 'Nothing')));
    const hs = r.history;
    if (!hs.length) {
      chart.replaceChildren(h('p', { class: 'empty-note' }, 'No movements yet'));
      return;
    }
    chart.replaceChildren(fundChart(hs), h('div', { class: 'fund-axis muted' },
      h('span', {}, timeOf(hs[0].time)), h('span', {}, `${usd(hs.reduce((m, p) => (Number(p.balance) < Number(m) ? p.balance : m), hs[0].balance))} – ${usd(hs.reduce((m, p) => (Number(p.balance) > Number(m) ? p.balance : m), hs[0].balance))} USD`),
      h('span', {}, timeOf(hs[hs.length - 1].time))));
  });
  return { el, stop };
}

/** A step line of the fund's balance over time (SVG, scaled to its range). */
function fundChart(points) {
  const W = 300, H = 70, P = 2;
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  svg.setAttribute('preserveAspectRatio', 'none');
  svg.setAttribute('role', 'img');
  if (points.length < 1) return svg;
  const ys = points.map((p) => Number(p.balance));
  const t0 = points[0].time, t1 = points[points.length - 1].time;
  let lo = Math.min(...ys), hi = Math.max(...ys);
  if (hi === lo) hi = lo + 1;
  const x = (t, i) => (t1 > t0 ? P + ((t - t0) / (t1 - t0)) * (W - 2 * P) : P + (i / Math.max(1, points.length - 1)) * (W - 2 * P));
  const y = (v) => H - P - ((v - lo) / (hi - lo)) * (H - 2 * P);
  let d = '';
  points.forEach((p, i) => {
    const px = x(p.time, i).toFixed(1), py = y(ys[i]).toFixed(1);
    d += i ? ` H${px} V${py}` : `M${px} ${py}`;
  });
  d += ` H${W - P}`;
  const path = document.createElementNS(ns, 'path');
  path.setAttribute('d', d);
  path.setAttribute('class', 'fund-line');
  const title = document.createElementNS(ns, 'title');
  title.textContent = `Balance from ${usd(points[0].balance)} to ${usd(points[points.length - 1].balance)} USD, ${dateTimeOf(t0)} – ${dateTimeOf(t1)}`;
  svg.append(title, path);
  return svg;
}

/** The ADL queue of one market: each side in deleveraging order. */
function adlPanel(o, ctx) {
  let sym = perps(ctx)[0].symbol;
  const tabs = h('div', { class: 'tabs' });
  const body = h('div', { class: 'adl-sides', id: 'risk-adl' });
  const el = panel('risk-hook-adl', 'ADL queue', tabs, h('div', { class: 'scroll' }, body), 'risk-adl');
  const drawTabs = () => tabs.replaceChildren(...perps(ctx).map((m) => h('button', { class: `tab${m.symbol === sym ? ' on' : ''}`, dataset: { symbol: m.symbol },
    onclick: () => { sym = m.symbol; drawTabs(); load(() => true); } }, m.symbol.split('-')[0])));
  drawTabs();
  const side = (name, s, qd) => h('table', { class: 'tbl tbl-fit', dataset: { side: name } },
    h('caption', {}, `${name === 'longs' ? 'Longs' : 'Shorts'} · ${s.positions}`),
    h('thead', {}, h('tr', {}, ['#', 'Client', 'Size', 'ADL']
      .map((t, i) => h('th', { class: i < 3 ? 'num' : null }, t)))),
    h('tbody', {}, s.rows.length ? s.rows.map((r) => h('tr', { dataset: { client: r.client_id },
      title: `Score ${r.score} (PnL ratio × effective leverage, ÷ when losing; highest first) · unrealised ${r.unrealized_pnl} USD · equity ${r.equity} USD${r.liquidating ? ' · in liquidation' : ''}` },
      h('td', { class: 'num muted' }, String(r.rank)),
      h('td', { class: 'num' }, r.client_id + (r.liquidating ? ' ⚠' : '')),
      h('td', { class: `num ${name === 'longs' ? 'up' : 'down'}` }, fmt(r.size.replace('-', ''), qd)),
      h('td', {}, adlLights(r.adl_quantile))))
      : [h('tr', {}, h('td', { colspan: 4, class: 'empty' }, 'None'))]));
  async function load(alive) {
    let r;
    const want = sym;
    try { r = await o.request('GET', `/v1/admin/risk/adl?symbol=${encodeURIComponent(want)}&limit=${ADL_ROWS}`); } catch (e) {
      if (alive()) body.replaceChildren(h('p', { class: 'empty-note' }, `Not available: ${e.message}`));
      return;
    }
    if (!alive() || want !== sym) return;
    const qd = decimalsOf(ctx.bySymbol.get(sym).lot);
    body.replaceChildren(side('longs', r.longs, qd), side('shorts', r.shorts, qd));
  }
  const stop = poller(load);
  return { el, stop };
}

// ---- figures (exact where they are money; display only otherwise) ----

/** The margin ratio in percent (the API sends a fraction with 6 decimals). */
function ratioPct(a) {
  const v = toScaled(a.margin_ratio, 6);
  return v === null ? null : v; // units of 0.0001%
}

function ratioText(a) {
  if (!a.margin_ratio) return a.liquidatable || sign(a.equity) <= 0 ? 'Unbounded' : '—';
  return fmt(round(fromScaled(ratioPct(a), 4), 2), 2) + '%';
}

/** By margin ratio: 0 healthy, 1 watch (≥ 50%), 2 danger (≥ 80%), 3 liquidatable. */
function ratioLevel(a) {
  if (a.liquidatable || !a.margin_ratio) return 3;
  const v = ratioPct(a);
  if (v === null) return 0;
  return v >= DANGER * 10000n ? 2 : v >= WATCH * 10000n ? 1 : 0;
}

/** The worse of the ratio's level and the nearest liquidation price's. */
function accountLevel(a) {
  let lv = ratioLevel(a);
  for (const p of a.positions) {
    const v = toScaled(p.distance_to_mark_pct || '', 2);
    if (v !== null) lv = Math.max(lv, v < NEAR_MOVE ? 2 : v < WATCH_MOVE ? 1 : 0);
  }
  return lv;
}

function ratioClass(a) { return ['', 'warn', 'down', 'down strong'][ratioLevel(a)]; }

/** A bar under the ratio, full at 100% (liquidation). */
function ratioBar(a) {
  const v = ratioPct(a);
  const w = v === null ? 100 : Math.min(100, Number(v) / 10000);
  return h('span', { class: 'ratio-bar' }, h('span', { class: `ratio-fill lvl-${ratioLevel(a)}`, style: `width:${w.toFixed(1)}%` }));
}

function effLeverage(a) {
  const n = toScaled(a.notional, 6), eq = toScaled(a.equity, 6);
  if (n === null || eq === null) return '—';
  if (eq <= 0n) return '∞';
  const x = (n * 10n) / eq;
  return x === 0n && n > 0n ? '< 0.1×' : fmt(fromScaled(x, 1), 1) + '×';
}

function distClass(d) {
  const v = toScaled(d, 2);
  if (v === null) return '';
  return v <= 0n ? 'down strong' : v < NEAR_MOVE ? 'down' : v < WATCH_MOVE ? 'warn' : '';
}
