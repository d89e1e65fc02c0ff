// Trader view: log in with an API key, then the account (equity, margins,
// available, eligibility with its reason), positions with liquidation
// price, open orders, recent fills, and an order ticket. Everything shown
// comes from the signed REST API and the private WebSocket; refusals are
// shown with the API's own message.

import { ApiError } from '../api.js';
import { DepthBook } from '../book.js';
import { ADL_TIP, adlLights, countdown, dateTimeOf, decimalsOf, fmt, fromScaled, h, pct, pctSigned, round, sign, timeOf, toScaled, usd } from '../format.js';
import { login, logout, onSessionChange, session } from '../session.js';
import { CallClock, financingOffered } from './margin.js';

export const id = 'trader';
export const title = 'Trader';

export function available(ctx) { return ctx.markets.length > 0; }

export function mount(root, ctx) {
  let unmountInner = null;
  const show = (s) => {
    if (unmountInner) unmountInner();
    unmountInner = s ? mountAccount(root, ctx, s) : mountLogin(root, ctx);
  };
  const stop = onSessionChange(show);
  show(session());
  return () => {
    stop();
    if (unmountInner) unmountInner();
  };
}

// ---------------------------------------------------------------- login --

function mountLogin(root, ctx) {
  const err = h('div', { class: 'callout callout-error', id: 'login-error', hidden: true });
  const keyIn = h('input', { id: 'login-key', name: 'key', autocomplete: 'off', spellcheck: 'false', required: true });
  const secretIn = h('input', { id: 'login-secret', name: 'secret', type: 'password', autocomplete: 'off', required: true });
  const btn = h('button', { class: 'btn btn-primary', type: 'submit', id: 'login-submit' }, 'Log in');
  const form = h('form', { class: 'login-form', id: 'login-form', onsubmit: async (e) => {
    e.preventDefault();
    err.hidden = true;
    btn.disabled = true;
    btn.textContent = 'Checking key…';
    try {
      await login(keyIn.value.trim(), secretIn.value);
      // onSessionChange re-renders the view.
    } catch (ex) {
      err.hidden = false;
      err.replaceChildren(refusal(ex));
      btn.disabled = false;
      btn.textContent = 'Log in';
    }
  } },
  h('label', { for: 'login-key' }, 'API key ID'), keyIn,
  h('label', { for: 'login-secret' }, 'API secret'), secretIn,
  btn, err);
  root.replaceChildren(h('div', { class: 'login-wrap' },
    h('section', { class: 'panel login' },
      h('header', { class: 'panel-head' }, h('h2', {}, 'Trader login')),
      h('div', { class: 'login-body' },
        h('p', { class: 'muted' }, 'Sign in with an API key issued to your client account. The secret stays in this tab’s memory only; every request is signed in the browser with HMAC-SHA256 and the secret is never sent.'),
        form))));
  keyIn.focus();
  return () => {};
}

// -------------------------------------------------------------- account --

function mountAccount(root, ctx, s) {
  let alive = true;
  let account = s.account, positions = [];
  const orders = new Map(); // symbol/order_id → order
  const okey = (o) => `${o.symbol}/${o.order_id}`;

  const banner = h('div', { id: 'eligibility' });
  const alert = h('div', { id: 'margin-alert' });
  const summary = h('div', { class: 'acct', id: 'account' });
  const fin = financingPanel(ctx, s);
  const posBody = h('tbody', { id: 'positions' });
  const ordBody = h('tbody', { id: 'open-orders' });
  const history = historyPanel(ctx, s);
  const ordCount = h('span', { class: 'count' });
  const streamState = h('span', { class: 'panel-note', id: 'private-state' });
  const badges = h('div', { class: 'badges', id: 'standing' });
  const ticket = orderTicket(ctx, s, (o) => {
    if (o.status === 'open' || o.status === 'partially_filled') orders.set(okey(o), o);
    renderOrders();
    refresh();
  }, fin, refresh);

  const cancelAll = h('button', { class: 'btn btn-small', id: 'cancel-all', onclick: async () => {
    cancelAll.disabled = true;
    try {
      await s.request('DELETE', '/v1/orders');
      ctx.toast('All open orders cancelled', 'ok');
      await loadOrders();
    } catch (e) {
      ctx.toast(e.message, 'error');
    } finally { cancelAll.disabled = false; }
  } }, 'Cancel all');

  root.replaceChildren(
    h('div', { class: 'trader-head' },
      h('div', { class: 'who' },
        h('span', { class: 'who-k' }, 'Client'), h('span', { class: 'who-v num', id: 'client-id' }, account.client_id),
        h('span', { class: 'who-k' }, 'Key'), h('span', { class: 'who-v mono' }, s.creds.keyId),
        streamState),
      badges,
      h('button', { class: 'btn btn-small', id: 'logout', onclick: () => logout() }, 'Log out')),
    banner, alert, summary, fin.call, fin.el,
    h('div', { class: 'trader-grid' },
      ticket.el,
      h('div', { class: 'trader-tables' },
        h('section', { class: 'panel' },
          h('header', { class: 'panel-head' }, h('h2', {}, 'Positions')),
          h('div', { class: 'scroll' }, h('table', { class: 'tbl tbl-fit tbl-pos' },
            h('thead', {}, h('tr', {}, ['Market', 'Side', 'Size', 'Entry', 'Mark', 'Notional', 'Unrealised PnL', 'Init. margin', 'Maint. margin', 'Lev.', 'Liq. price', 'ADL', '']
              .map((t, i) => h('th', { class: i > 1 && i < 11 ? 'num' : null, title: i === 11 ? ADL_TIP : null }, t)))),
            posBody))),
        h('section', { class: 'panel' },
          h('header', { class: 'panel-head' }, h('h2', {}, 'Open orders'), ordCount, h('span', { class: 'grow' }), cancelAll),
          h('div', { class: 'scroll' }, h('table', { class: 'tbl' },
            h('thead', {}, h('tr', {}, ['Placed', 'Market', 'Side', 'Price', 'Qty', 'Filled', 'Remaining', 'Flags', 'Status', '']
              .map((t, i) => h('th', { class: i >= 3 && i <= 6 ? 'num' : null }, t)))),
            ordBody))),
        history.el)));

  const spec = (sym) => ctx.bySymbol.get(sym);
  const pdp = (sym) => decimalsOf(spec(sym).tick), qdp = (sym) => decimalsOf(spec(sym).lot);
  const money = (v) => h('td', { class: 'num', title: `Exact: ${v} USD` }, usd(v));

  function renderAccount() {
    const a = account;
    // Being liquidated outranks every other notice: the engine is closing
    // positions now and withdrawals are refused until it finishes.
    if (a.liquidating) {
      alert.replaceChildren(); // the banner says it all; the margin alert would repeat it
      banner.replaceChildren(h('div', { class: 'callout callout-error callout-liq', role: 'alert', id: 'liquidating-banner' },
        h('strong', {}, 'Your account is being liquidated. '),
        `Equity ${usd(a.equity)} USD is below the maintenance margin of ${usd(a.maintenance_margin)} USD. `,
        'The engine has cancelled your open orders and is closing positions; withdrawals are suspended until it finishes.'));
    } else if (!a.eligible && a.ineligible_reason) {
      const spot = ctx.markets.filter((m) => m.kind === 'spot').map((m) => m.symbol);
      banner.replaceChildren(h('div', { class: 'callout callout-warn', role: 'alert' },
        h('strong', {}, 'Not eligible to trade perpetual contracts. '), a.ineligible_reason.message,
        h('span', { class: 'code' }, a.ineligible_reason.code),
        // Spot markets are open to every client (eligibility "none"): say so,
        // or a retail client would think the whole ticket is closed to it.
        spot.length ? h('div', { class: 'callout-more', id: 'spot-open' },
          `The spot markets ${spot.join(' and ')} are open to you: buy with cash and sell what your margin-financing account holds.`) : null));
    } else banner.replaceChildren();
    const until = a.classification_expires ? ` · until ${dateTimeOf(a.classification_expires).slice(0, 10)}` : '';
    badges.replaceChildren(
      h('span', { class: 'badge', title: 'Investor classification' }, (CLASSES[a.classification] || a.classification || '—') + (a.classification !== 'retail' ? until : '')),
      h('span', { class: 'badge', title: 'Derivatives-knowledge assessment' }, a.derivatives_knowledge ? 'Knowledge assessed' : 'No knowledge assessment'),
      h('span', { class: `badge ${a.eligible ? 'badge-ok' : 'badge-warn'}`, id: 'eligible' }, a.eligible ? 'Eligible for perpetuals' : 'Not eligible'));
    const item = (k, v, extra = {}) => h('div', { class: `acct-item ${extra.cls || ''}`, title: extra.tip || null },
      h('div', { class: 'acct-k' }, k), h('div', { class: `acct-v ${extra.vcls || 'num'}` }, v));
    const money = (k, v, extra = {}) => item(k, extra.signed ? signedUsd(v) : usd(v), { ...extra, tip: `${extra.tip ? extra.tip + '. ' : ''}Exact: ${v} USD` });
    summary.replaceChildren(
      money('Equity (USD)', a.equity, { cls: 'acct-main', tip: 'Collateral plus unrealised PnL' }),
      money('Available (USD)', a.available, { vcls: `num ${sign(a.available) < 0 ? 'down' : ''}`, tip: 'Equity minus the initial margin of positions and open orders' }),
      money('Collateral', a.collateral),
      money('Unrealised PnL', a.unrealized_pnl, { signed: true, vcls: `num ${pnlClass(a.unrealized_pnl)}` }),
      money('Initial margin', a.initial_margin),
      money('Maint. margin', a.maintenance_margin),
      money('Order margin', a.order_margin, { tip: 'Initial margin reserved for open orders' }),
      item('Margin ratio', marginRatio(a), { tip: 'Maintenance margin ÷ equity. At 100% the account is liquidated.' }),
      item('Margin status', a.liquidating ? 'Being liquidated' : a.liquidatable ? 'Liquidatable' : 'Healthy', { vcls: a.liquidating || a.liquidatable ? 'down strong' : '' }));
  }

  function renderPositions() {
    if (!positions.length) {
      posBody.replaceChildren(h('tr', {}, h('td', { colspan: 13, class: 'empty' }, 'No open positions')));
      return;
    }
    posBody.replaceChildren(...positions.map((p) => {
      const pd = pdp(p.symbol), qd = qdp(p.symbol);
      return h('tr', { dataset: { symbol: p.symbol } },
        h('td', {}, p.symbol), h('td', { class: p.side === 'long' ? 'up' : 'down' }, p.side === 'long' ? 'Long' : 'Short'),
        h('td', { class: 'num' }, fmt(p.size.replace('-', ''), qd)), h('td', { class: 'num' }, fmt(p.entry_price, pd)),
        h('td', { class: 'num' }, fmt(p.mark, pd)), money(p.notional),
        h('td', { class: `num ${pnlClass(p.unrealized_pnl)}`, title: `Exact: ${p.unrealized_pnl} USD; realised ${p.realized_pnl} USD` }, signedUsd(p.unrealized_pnl)),
        money(p.initial_margin), money(p.maintenance_margin),
        h('td', { class: 'num' }, `${p.leverage}×`),
        p.liquidation_price
          ? h('td', { class: 'num strong', title: 'Mark price at which equity would fall below maintenance margin' }, fmt(p.liquidation_price, pd))
          : h('td', { class: 'num muted', title: 'No liquidation price: the account’s collateral covers this position at any mark price' }, 'None'),
        h('td', { class: 'adl-cell' }, adlLights(p.adl_quantile)),
        h('td', { class: 'act' }, closeButton(p)));
    }));
  }

  // Close: a reduce-only market order for the whole position. The first
  // click arms the button (it then says what it will send), the second sends.
  function closeButton(p) {
    const qty = p.size.replace('-', '');
    const side = p.side === 'long' ? 'sell' : 'buy';
    let armed = 0;
    const btn = h('button', { class: 'btn btn-small btn-ghost', 'data-close': p.symbol, title: `Reduce-only market ${side} of ${qty}`, onclick: async () => {
      if (!armed) {
        btn.textContent = `Confirm ${side} ${qty}`;
        btn.classList.add('btn-armed');
        armed = setTimeout(() => { armed = 0; btn.textContent = 'Close'; btn.classList.remove('btn-armed'); }, 4000);
        return;
      }
      clearTimeout(armed);
      btn.disabled = true;
      try {
        const o = await s.request('POST', '/v1/orders', { symbol: p.symbol, side, type: 'market', qty, reduce_only: true,
          client_order_id: newClientOrderID() });
        ctx.toast(`Close order ${o.order_id} ${o.status.replace('_', ' ')}: ${o.filled} of ${o.qty} ${p.symbol.split('-')[0]} filled`, 'ok');
        refresh();
      } catch (e) {
        ctx.toast(`Close refused: ${e.message}`, 'error');
        btn.disabled = false;
      }
    } }, 'Close');
    return btn;
  }

  function renderOrders() {
    const list = Array.from(orders.values()).sort((a, b) => (b.created || 0) - (a.created || 0) || Number(b.order_id) - Number(a.order_id));
    ordCount.textContent = list.length ? String(list.length) : '';
    cancelAll.disabled = !list.length;
    if (!list.length) {
      ordBody.replaceChildren(h('tr', {}, h('td', { colspan: 10, class: 'empty' }, 'No open orders')));
      return;
    }
    ordBody.replaceChildren(...list.map((o) => {
      const pd = pdp(o.symbol), qd = qdp(o.symbol);
      const flags = [o.post_only && 'Post-only', o.reduce_only && 'Reduce-only'].filter(Boolean).join(', ');
      const btn = h('button', { class: 'btn btn-small btn-ghost', 'data-cancel': o.order_id, onclick: async () => {
        btn.disabled = true;
        try {
          await s.request('DELETE', `/v1/orders/${encodeURIComponent(o.order_id)}?symbol=${encodeURIComponent(o.symbol)}`);
          orders.delete(okey(o));
          renderOrders();
          refresh();
        } catch (e) {
          ctx.toast(`Cancel refused: ${e.message}`, 'error');
          btn.disabled = false;
        }
      } }, 'Cancel');
      return h('tr', { dataset: { order: o.order_id, symbol: o.symbol } },
        h('td', { class: 'time' }, o.created ? timeOf(o.created) : '—'),
        h('td', {}, o.symbol), h('td', { class: o.side === 'buy' ? 'up' : 'down' }, o.side === 'buy' ? 'Buy' : 'Sell'),
        h('td', { class: 'num' }, fmt(o.price, pd)), h('td', { class: 'num' }, fmt(o.qty, qd)),
        h('td', { class: 'num' }, fmt(o.filled, qd)), h('td', { class: 'num' }, fmt(o.remaining, qd)),
        h('td', { class: 'muted' }, flags || '—'), h('td', {}, o.status.replace('_', ' ')), h('td', { class: 'act' }, btn));
    }));
  }

  // ---- data ----
  const fail = (what) => (e) => {
    if (!alive) return;
    if (e instanceof ApiError && e.status === 401) ctx.toast(`${what}: ${e.message}`, 'error');
    else console.warn(what, e.message);
  };
  async function loadAccount() {
    const a = await s.request('GET', '/v1/account');
    if (alive) { account = a; renderAccount(); }
  }
  async function loadPositions() {
    const r = await s.request('GET', '/v1/positions');
    if (alive) { positions = r.positions; renderPositions(); }
  }
  async function loadOrders() {
    const r = await s.request('GET', '/v1/orders');
    if (!alive) return;
    orders.clear();
    for (const o of r.orders) orders.set(okey(o), o);
    renderOrders();
  }
  let refreshTimer = 0;
  function refresh() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(() => {
      loadAccount().catch(fail('Account'));
      loadPositions().catch(fail('Positions'));
      fin.load();
    }, 150);
  }

  const stopListen = s.listen((m) => {
    switch (m.channel) {
      case '_connected':
        loadOrders().catch(fail('Orders'));
        history.reload();
        refresh();
        break;
      case '_state':
        streamState.textContent = m.data.state === 'open' ? 'Live' : m.data.state === 'connecting' ? 'Connecting…' : 'Reconnecting…';
        streamState.dataset.state = m.data.state;
        break;
      case 'orders': {
        const o = m.data;
        if (o.status === 'open' || o.status === 'partially_filled') orders.set(okey(o), o);
        else orders.delete(okey(o));
        renderOrders();
        history.onOrder();
        break;
      }
      case 'fills':
        history.onFill(m.data);
        refresh();
        break;
      case 'funding_payments':
        history.onFunding(m.data);
        refresh();
        break;
      case 'positions':
        // A message with only a new ADL quantile needs no refetch.
        if (m.data && positions.some((p) => p.symbol === m.data.symbol && p.size === m.data.size && p.adl_quantile !== m.data.adl_quantile)) {
          positions = positions.map((p) => (p.symbol === m.data.symbol ? { ...p, adl_quantile: m.data.adl_quantile } : p));
          renderPositions();
        } else refresh();
        break;
      case 'balances':
        account = m.data;
        renderAccount();
        break;
      case 'margin': {
        if (account.liquidating) break; // the liquidation banner is already up
        const d = m.data;
        alert.replaceChildren(h('div', { class: 'callout callout-error', role: 'alert' },
          h('strong', {}, d.level === 'liquidatable' ? 'Liquidation: ' : 'Margin call: '),
          d.level === 'liquidatable'
            ? `equity ${usd(d.equity)} USD is below the maintenance margin of ${usd(d.maintenance_margin)} USD.`
            : `available margin is ${usd(d.available)} USD; reduce positions or add collateral.`));
        break;
      }
    }
  });
  streamState.textContent = s.state === 'open' ? 'Live' : 'Connecting…';

  renderAccount();
  renderPositions();
  renderOrders();
  loadOrders().catch(fail('Orders'));
  history.reload();
  loadPositions().catch(fail('Positions'));
  fin.load();
  // Mark moves change PnL and margins without an account event; poll gently.
  const poll = setInterval(refresh, 5000);

  return () => {
    alive = false;
    clearInterval(poll);
    clearTimeout(refreshTimer);
    stopListen();
    ticket.destroy();
    history.destroy();
    fin.destroy();
  };
}

// ------------------------------------------------------ margin financing --

const hkdText = (v) => fmt(round(v, 0), 0);

/**
 * The client's margin-financing summary from GET /v1/financing: lending
 * value, loan, what it may still borrow, shortfall, credit limit and the
 * call with a countdown to its deadline. Shown only when the account is in
 * use (a holding, a loan or a credit assessment); absent when the server
 * has no financing (404, financing disabled).
 */
function financingPanel(ctx, s) {
  const offered = financingOffered(ctx) && !!(ctx.paths && ctx.paths.has('/v1/financing'));
  const el = h('div', { class: 'fin-strip', id: 'financing', hidden: true });
  const call = h('div', { id: 'financing-call' });
  let f = null, busy = false;
  const subs = new Set(); // the order ticket's spot box, redrawn after each read
  const clock = new CallClock();
  const left = () => (f && f.call && f.call.state !== 'none' ? clock.left('call') : null);
  function render() {
    const used = f && (f.holdings.length || f.loans.length || (f.credit && f.credit.assessed));
    el.hidden = !used;
    if (!used) { call.replaceChildren(); return; }
    const item = (k, v, key, extra = {}) => h('div', { class: `acct-item ${extra.cls || ''}`, title: extra.tip || null, dataset: { k: key } },
      h('div', { class: 'acct-k' }, k), h('div', { class: `acct-v num ${extra.vcls || ''}` }, v));
    const money = (k, v, key, extra = {}) => item(k, hkdText(v), key, { ...extra, tip: `${extra.tip ? extra.tip + '. ' : ''}Exact: HK$${v}` });
    const c = f.call || { state: 'none' };
    const short = toScaled(f.shortfall_hkd, 6) > 0n;
    const cr = f.credit || {};
    const l = left();
    el.replaceChildren(
      h('div', { class: 'fin-title' }, 'Margin financing'),
      money('Lending value (HKD)', f.lending_value_hkd, 'lending', { tip: 'Σ market value × (1 − haircut) of eligible holdings' }),
      money('Loan (HKD)', f.debit_hkd, 'debit', { tip: 'Loans plus accrued interest, in HKD' }),
      money('Shortfall (HKD)', f.shortfall_hkd, 'shortfall', { vcls: short ? 'down strong' : '' }),
      money('Can borrow (HKD)', f.borrowable_hkd, 'borrowable'),
      cr.assessed ? money('Credit limit (HKD)', cr.limit_hkd, 'limit', { tip: `Grade ${cr.grade || '—'}${cr.approved ? '' : ', not approved'}; next review ${cr.next_review || '—'}` })
        : item('Credit limit', 'Not assessed', 'limit', { vcls: 'muted' }),
      item('Margin call', c.state === 'closing_out' ? 'Closing out' : c.state === 'open' ? (l === null ? 'Open' : countdown(l)) : 'None', 'call',
        { vcls: c.state === 'none' ? '' : 'down strong', tip: c.deadline ? `Deadline ${dateTimeOf(Date.parse(c.deadline))}` : '' }));
    if (c.state === 'closing_out') {
      call.replaceChildren(h('div', { class: 'callout callout-error callout-liq', role: 'alert' },
        h('strong', {}, 'Your margin account is being closed out. '),
        `The loan of HK$${hkdText(f.debit_hkd)} exceeds the lending value of HK$${hkdText(f.lending_value_hkd)}; collateral is being sold in the disclosed order until the shortfall and a buffer are covered.`));
    } else if (c.state === 'open') {
      call.replaceChildren(h('div', { class: 'callout callout-error', role: 'alert' },
        h('strong', {}, 'Margin call: '),
        `shortfall HK$${hkdText(c.shortfall_hkd || f.shortfall_hkd)}. Deposit collateral or repay by ${c.deadline ? dateTimeOf(Date.parse(c.deadline)) : 'the deadline'}`,
        l === null ? '' : ` (${countdown(l)} left)`, '; until then new purchases on margin and withdrawals are refused.'));
    } else call.replaceChildren();
  }
  async function load() {
    if (busy || !offered) return;
    busy = true;
    try {
      f = await s.request('GET', '/v1/financing');
      const c = f.call || {};
      clock.update('call', c.deadline, c.state === 'none' ? undefined : c.seconds_left);
    } catch (e) {
      if (e.status >= 400 && e.status < 500) f = null; // no financing on this server, or not for this key
    } finally { busy = false; }
    render();
    for (const cb of subs) cb(f);
  }
  const tick = setInterval(() => { if (left() !== null) render(); }, 1000);
  return {
    el, call, load, offered,
    data: () => f,
    onData: (cb) => { subs.add(cb); return () => subs.delete(cb); },
    destroy: () => clearInterval(tick),
  };
}

/**
 * Moving USD between the derivatives and margin-financing accounts
 * (POST /v1/transfers), folded under a link in the spot box: cash for a
 * resting spot buy comes this way. Leaving the financing account is a
 * withdrawal there, so the engine may refuse it (a margin call, what
 * resting orders reserve, lending value); the refusal is shown as worded.
 */
function transferForm(ctx, s, onMoved) {
  if (!ctx.paths || !ctx.paths.has('/v1/transfers')) return h('span', { hidden: true });
  const amount = h('input', { id: 'xfer-amount', inputmode: 'decimal', autocomplete: 'off', placeholder: 'USD', 'aria-label': 'Amount to move, USD' });
  const result = h('div', { id: 'xfer-result', class: 'ord-result' });
  const send = (from, to) => async () => {
    result.replaceChildren();
    for (const b of buttons) b.disabled = true;
    try {
      const r = await s.request('POST', '/v1/transfers', { from, to, amount: amount.value.trim(), idempotency_key: newClientOrderID() });
      result.replaceChildren(h('div', { class: 'callout callout-ok', role: 'status' }, `Moved ${usd(r.amount)} USD to the ${to} account.`));
      amount.value = '';
      onMoved();
    } catch (e) {
      result.replaceChildren(h('div', { class: 'callout callout-error', role: 'alert', id: 'xfer-refusal' }, h('strong', {}, 'Transfer refused. '), refusal(e)));
    } finally {
      for (const b of buttons) b.disabled = false;
    }
  };
  const buttons = [
    h('button', { type: 'button', class: 'btn btn-small', id: 'xfer-in', title: 'From the derivatives account to the margin-financing account', onclick: send('derivatives', 'financing') }, 'To financing'),
    h('button', { type: 'button', class: 'btn btn-small', id: 'xfer-out', title: 'From the margin-financing account to the derivatives account', onclick: send('financing', 'derivatives') }, 'To derivatives'),
  ];
  const body = h('div', { class: 'xfer', id: 'xfer', hidden: true }, h('div', { class: 'xfer-row' }, amount, ...buttons), result);
  const toggle = h('button', { type: 'button', class: 'btn-link', id: 'xfer-toggle', 'aria-expanded': 'false', onclick: () => {
    body.hidden = !body.hidden;
    toggle.setAttribute('aria-expanded', String(!body.hidden));
    if (!body.hidden) amount.focus();
  } }, 'Move USD between your accounts');
  return h('div', { class: 'xfer-wrap' }, toggle, body);
}

/**
 * What of an asset the financing account can still use: held minus what
 * resting spot orders reserve, as text and as a scaled BigInt (0 when not
 * held; a currency with a loan holds no cash).
 */
function freeOf(f, asset) {
  const hd = (f.holdings || []).find((x) => x.asset === asset);
  const qty = hd ? hd.qty : '0', reserved = hd ? hd.reserved || '0' : '0';
  const dp = Math.max(decimalsOf(qty), decimalsOf(reserved));
  const v = toScaled(qty, dp) - toScaled(reserved, dp);
  const scaled = v > 0n ? v : 0n;
  return { qty, reserved, dp, scaled, text: fromScaled(scaled, dp) };
}

/** Compare two scaled decimals a·10^-ad and b·10^-bd exactly. */
function cmpScaled(a, ad, b, bd) {
  const d = Math.max(ad, bd);
  const x = a * 10n ** BigInt(d - ad), y = b * 10n ** BigInt(d - bd);
  return x > y ? 1 : x < y ? -1 : 0;
}

/** A fresh client_order_id: the API treats a repeat as a retry. */
function newClientOrderID() {
  const r = new Uint32Array(2);
  crypto.getRandomValues(r);
  return `console-${Date.now().toString(36)}-${r[0].toString(36)}${r[1].toString(36)}`.slice(0, 36);
}

const CLASSES = {
  retail: 'Retail investor',
  individual_pi: 'Professional investor (individual)',
  corporate_pi: 'Professional investor (corporate)',
  institutional_pi: 'Professional investor (institutional)',
};

function signedUsd(v) {
  const r = round(v, 2);
  return sign(r) > 0 ? '+' + usd(r) : usd(r);
}

/** Maintenance margin as a percentage of equity, exact to 0.01%. */
function marginRatio(a) {
  const mm = toScaled(a.maintenance_margin, 6), eq = toScaled(a.equity, 6);
  if (mm === null || eq === null) return '—';
  if (mm === 0n) return '0.00%';
  if (eq <= 0n) return '> 100%';
  return fmt(fromScaled((mm * 10000n) / eq, 2), 2) + '%';
}

function pnlClass(v) {
  const sg = sign(v);
  return sg > 0 ? 'up' : sg < 0 ? 'down' : '';
}

/** The API's refusal as plain text with its code. */
function refusal(e) {
  return h('span', {}, e.message, e.code ? h('span', { class: 'code' }, e.code) : null);
}

// --------------------------------------------------------------- ticket --

function orderTicket(ctx, s, onPlaced, fin, onMoved) {
  let symbol = ctx.markets[0].symbol, side = 'buy', type = 'limit';
  let book = null, stopDepth = () => {};
  const mkt = () => ctx.bySymbol.get(symbol);
  // A spot market (margin financing) trades the asset itself: no long or
  // short, no leverage, no reduce-only (the engine refuses the flag), and it
  // is paid from the margin-financing account, not the derivatives margin.
  const isSpot = () => mkt().kind === 'spot';

  const symSel = h('select', { id: 'ord-symbol', onchange: () => {
    symbol = symSel.value;
    watchBook();
    sideSeg.draw();
    if (isSpot()) fin.load(); // the cash and holdings the spot box shows
    update();
  } },
  ctx.markets.map((m) => h('option', { value: m.symbol }, m.kind === 'spot' ? `${m.symbol} (spot)` : m.symbol)));
  const seg = (name, opts, get, set) => {
    const wrap = h('div', { class: `seg seg-${name}`, role: 'radiogroup' });
    wrap.draw = () => wrap.replaceChildren(...opts().map(([v, label]) => h('button', {
      type: 'button', class: `seg-btn ${get() === v ? 'on' : ''} seg-${v}`, role: 'radio', 'aria-checked': String(get() === v), id: `ord-${name}-${v}`,
      onclick: () => { set(v); wrap.draw(); update(); },
    }, label)));
    wrap.draw();
    return wrap;
  };
  const sideSeg = seg('side', () => (isSpot() ? [['buy', 'Buy'], ['sell', 'Sell']] : [['buy', 'Buy / Long'], ['sell', 'Sell / Short']]),
    () => side, (v) => { side = v; });
  const typeSeg = seg('type', () => [['limit', 'Limit'], ['market', 'Market']], () => type, (v) => { type = v; });
  const priceIn = h('input', { id: 'ord-price', inputmode: 'decimal', autocomplete: 'off', oninput: () => update() });
  const qtyIn = h('input', { id: 'ord-qty', inputmode: 'decimal', autocomplete: 'off', oninput: () => update() });
  const tifSel = h('select', { id: 'ord-tif', title: 'Time in force', onchange: () => update() }, [['GTC', 'GTC'], ['IOC', 'IOC'], ['FOK', 'FOK']].map(([v, t]) => h('option', { value: v }, t)));
  const postOnly = h('input', { type: 'checkbox', id: 'ord-post-only', onchange: () => update() });
  const reduceOnly = h('input', { type: 'checkbox', id: 'ord-reduce-only' });
  const reduceLabel = h('label', { class: 'check', id: 'ord-reduce-only-label' }, reduceOnly, 'Reduce-only');
  const kindNote = h('span', { class: 'panel-note', id: 'ord-kind' });
  const spotBox = h('div', { class: 'spot-box', id: 'ord-spot', hidden: true });
  const xfer = transferForm(ctx, s, () => { fin.load(); onMoved(); });
  const bidBtn = h('button', { type: 'button', class: 'quote quote-bid', id: 'ord-bid', onclick: () => pick('bid') });
  const askBtn = h('button', { type: 'button', class: 'quote quote-ask', id: 'ord-ask', onclick: () => pick('ask') });
  const priceUnit = h('span', { class: 'unit' }, 'USD');
  const qtyUnit = h('span', { class: 'unit' });
  const value = h('span', { class: 'num', id: 'ord-value' }, '—');
  const submit = h('button', { type: 'submit', class: 'btn btn-submit', id: 'ord-submit' });
  const result = h('div', { id: 'ord-result', class: 'ord-result' });
  const priceRow = h('div', { class: 'field' }, h('label', { for: 'ord-price' }, 'Price'), h('div', { class: 'input-unit' }, priceIn, priceUnit));

  function pick(which) {
    if (!book || !book.synced) return;
    const [lv] = book.levels(which, 1);
    if (lv) { priceIn.value = lv[0]; update(); }
  }

  function renderQuotes() {
    const [b] = book && book.synced ? book.levels('bid', 1) : [];
    const [a] = book && book.synced ? book.levels('ask', 1) : [];
    const pd = decimalsOf(mkt().tick);
    bidBtn.replaceChildren(h('span', { class: 'quote-k' }, 'Best bid'), h('span', { class: 'num' }, b ? fmt(b[0], pd) : '—'));
    askBtn.replaceChildren(h('span', { class: 'quote-k' }, 'Best ask'), h('span', { class: 'num' }, a ? fmt(a[0], pd) : '—'));
  }

  function watchBook() {
    stopDepth();
    book = new DepthBook(decimalsOf(mkt().tick));
    const ch = `depth:${symbol}`;
    stopDepth = ctx.feed.watch(ch, (m) => {
      if (m.type === 'snapshot') book.snapshot(m.data);
      else if (book.update(m.data) === 'gap') ctx.feed.resync(ch);
      renderQuotes();
    });
    renderQuotes();
  }

  function update() {
    const m = mkt(), pd = decimalsOf(m.tick), qd = decimalsOf(m.lot);
    const spot = isSpot();
    qtyUnit.textContent = m.base_asset || m.symbol.split('-')[0];
    priceUnit.textContent = m.quote_asset || m.settlement_asset || 'USD';
    kindNote.textContent = spot ? 'Spot' : 'Perpetual';
    reduceLabel.hidden = spot;
    if (spot) reduceOnly.checked = false;
    priceIn.placeholder = `tick ${m.tick}`;
    qtyIn.placeholder = `lot ${m.lot}`;
    priceRow.hidden = type === 'market';
    tifSel.disabled = type === 'market';
    postOnly.disabled = type === 'market';
    if (type === 'market') postOnly.checked = false;
    const p = toScaled(priceIn.value, pd), q = toScaled(qtyIn.value, qd);
    const exact = type === 'limit' && p !== null && q !== null && p > 0n && q > 0n ? fromScaled(p * q, pd + qd) : null;
    value.textContent = exact === null ? '—' : `${usd(exact)} ${priceUnit.textContent}`;
    value.title = exact === null ? '' : `Exact: ${exact} ${priceUnit.textContent}`;
    submit.textContent = `${side === 'buy' ? 'Buy' : 'Sell'} ${m.symbol}`;
    submit.className = `btn btn-submit btn-${side}`;
    spotBox.hidden = !spot;
    if (spot) renderSpot(p !== null && q !== null && p > 0n && q > 0n ? p * q : null, pd + qd, q, qd);
  }

  // The spot box: what the margin-financing account can pay with, and how
  // this order would be paid. A resting buy (GTC limit, or post-only) must
  // be covered by quote cash held and not reserved (the engine refuses it
  // with spot_resting_buy_needs_cash); an IOC, FOK or market buy spends the
  // cash first and may borrow the rest; a sell needs the asset held.
  function renderSpot(cost, costDp, qty, qd) {
    const m = mkt(), base = m.base_asset, quote = m.quote_asset;
    const f = fin.data();
    if (!f) {
      spotBox.replaceChildren(h('p', { class: 'spot-note' }, fin.offered
        ? 'Reading your margin-financing account…'
        : 'This server does not offer GET /v1/financing, so the console cannot show your cash and holdings. A resting buy is paid in cash you hold; an IOC, FOK or market buy may borrow.'));
      return;
    }
    const cash = freeOf(f, quote), held = freeOf(f, base);
    const loan = (f.loans || []).find((l) => l.currency === quote);
    const cr = f.credit || {}, callOpen = f.call && f.call.state !== 'none';
    const margin = cr.assessed && cr.approved && !cr.expired;
    const row = (k, v, key, tip) => h('div', { class: 'spot-row', dataset: { k: key }, title: tip || null },
      h('span', { class: 'muted' }, k), h('span', { class: 'num' }, v));
    const rows = [
      row(`${quote} cash available`, usd(cash.text), 'cash', `Held ${cash.qty} ${quote}, reserved by resting buys ${cash.reserved}`),
      row(`${base} available`, fmt(held.text, decimalsOf(m.lot)), 'held', `Held ${held.qty} ${base}, reserved by resting sells ${held.reserved}`),
    ];
    if (loan) rows.push(row(`${quote} loan`, usd(loan.balance), 'loan', `Exact: ${loan.balance} ${quote}; accrued interest ${loan.accrued_interest}`));
    rows.push(margin
      ? row('Can borrow (HKD)', hkdText(f.borrowable_hkd), 'borrowable', `Exact: HK$${f.borrowable_hkd}. The lower of credit limit − loan and lending value − loan; a purchase adds the lending value of what it buys.`)
      : row('Can borrow', cr.assessed ? 'No (credit not approved or expired)' : 'No (not a margin client)', 'borrowable'));

    const resting = type === 'limit' && (tifSel.value === 'GTC' || postOnly.checked);
    let note, warn = false;
    if (side === 'sell') {
      warn = qty !== null && qty > 0n && cmpScaled(qty, qd, held.scaled, held.dp) > 0;
      note = `A sell needs ${base} you hold and have not reserved for other sells${warn ? `: you have ${fmt(held.text, decimalsOf(m.lot))} ${base}.` : '; it never borrows.'}`;
    } else if (resting) {
      warn = cost !== null && cmpScaled(cost, costDp, cash.scaled, cash.dp) > 0;
      note = warn
        ? `A resting buy is paid in ${quote} cash you hold: this one needs ${usd(fromScaled(cost, costDp))} ${quote}, you have ${usd(cash.text)}. ${margin && !callOpen ? 'To buy on margin, send it IOC, FOK or market.' : `Deposit ${quote} or transfer it from your derivatives account first.`}`
        : `A resting buy (GTC or post-only) is paid in ${quote} cash you hold, reserved while it rests; it never borrows. ${
          callOpen ? 'Your margin call is open: nothing more can be borrowed until it is cured.'
            : margin ? 'To buy on margin, send an IOC, FOK or market order.' : 'Without an approved credit assessment no buy can borrow.'}`;
    } else if (callOpen) {
      warn = true;
      note = `A margin call is open: the engine lends nothing more until it is cured, so this buy must be covered by ${quote} cash.`;
    } else if (margin) {
      note = `A taking buy (IOC, FOK or market) spends your ${quote} cash first and borrows the rest against your collateral, within what you can borrow plus the lending value of the ${base} bought.`;
    } else {
      note = `A taking buy spends your ${quote} cash; without an approved credit assessment it cannot borrow.`;
    }
    spotBox.replaceChildren(h('div', { class: 'spot-head' }, 'Margin-financing account'), ...rows,
      h('p', { class: `spot-note ${warn ? 'spot-warn' : ''}`, id: 'ord-spot-note', dataset: { rule: side === 'sell' ? 'sell' : resting ? 'resting' : 'taking' } }, note),
      ...(quote === 'USD' ? [xfer] : [])); // the same nodes each time: what is typed survives a redraw
  }
  const stopFin = fin.onData(() => { if (isSpot()) update(); });

  const form = h('form', { class: 'ticket-form', id: 'order-form', onsubmit: async (e) => {
    e.preventDefault();
    const body = { symbol, side, type, qty: qtyIn.value.trim(), client_order_id: newClientOrderID() };
    if (type === 'limit') {
      body.price = priceIn.value.trim();
      body.time_in_force = tifSel.value;
      if (postOnly.checked) body.post_only = true;
    }
    if (reduceOnly.checked && !isSpot()) body.reduce_only = true;
    submit.disabled = true;
    result.replaceChildren();
    try {
      const o = await s.request('POST', '/v1/orders', body);
      const pd = decimalsOf(mkt().tick), qd = decimalsOf(mkt().lot);
      result.replaceChildren(h('div', { class: 'callout callout-ok', role: 'status' },
        h('strong', {}, `Order ${o.order_id} ${o.status.replace('_', ' ')}. `),
        `${o.side === 'buy' ? 'Buy' : 'Sell'} ${fmt(o.qty, qd)} ${o.symbol}${o.price ? ' @ ' + fmt(o.price, pd) : ''}; filled ${fmt(o.filled, qd)}.`));
      onPlaced(o);
    } catch (ex) {
      result.replaceChildren(h('div', { class: 'callout callout-error', role: 'alert', id: 'ord-refusal' },
        h('strong', {}, 'Order refused. '), refusal(ex)));
    } finally {
      submit.disabled = false;
    }
  } },
  h('div', { class: 'field' }, h('label', { for: 'ord-symbol' }, 'Market'), symSel),
  sideSeg, typeSeg,
  h('div', { class: 'quotes' }, bidBtn, askBtn),
  priceRow,
  h('div', { class: 'field' }, h('label', { for: 'ord-qty' }, 'Quantity'), h('div', { class: 'input-unit' }, qtyIn, qtyUnit)),
  h('div', { class: 'ticket-opts' },
    h('div', { class: 'checks' },
      h('label', { class: 'check' }, postOnly, 'Post-only'),
      reduceLabel),
    h('label', { for: 'ord-tif', class: 'sr-only' }, 'Time in force'), tifSel),
  spotBox,
  h('div', { class: 'ord-value' }, h('span', { class: 'muted' }, 'Order value'), value),
  submit, result);

  watchBook();
  update();
  const el = h('section', { class: 'panel ticket' }, h('header', { class: 'panel-head' }, h('h2', {}, 'New order'), kindNote), form);
  return { el, destroy: () => { stopDepth(); stopFin(); } };
}

// -------------------------------------------------------------- history --

// Fills, order history and funding payments in one tabbed panel; a tab's
// data is read when it is opened and kept current from the private stream.
function historyPanel(ctx, s) {
  const tabs = [
    { id: 'fills', title: 'Fills', path: '/v1/fills?limit=100', key: 'fills',
      head: ['Time', 'Market', 'Side', 'Price', 'Qty', 'Fee', 'Realised PnL', 'Liquidity'], nums: [3, 4, 5, 6], row: fillRow },
    { id: 'orders', title: 'Order history', path: '/v1/orders/history?limit=100', key: 'orders',
      head: ['Updated', 'Market', 'Side', 'Price', 'Qty', 'Filled', 'Status', 'Reason', 'Flags'], nums: [3, 4, 5], row: orderRow },
    { id: 'funding', title: 'Funding payments', path: '/v1/funding-payments?limit=100', key: 'funding_payments',
      head: ['Time', 'Market', 'Size', 'Rate / 8h', 'Mark', 'Notional', 'Amount'], nums: [2, 3, 4, 5, 6], row: fundingRow },
  ];
  // The margin-financing statement (loans, purchases and sales, interest,
  // calls, close-out steps), on a venue with financing.
  // What the financing account holds: spot purchases land here, not in
  // Positions.
  if (financingOffered(ctx) && ctx.paths && ctx.paths.has('/v1/financing')) {
    tabs.push({ id: 'holdings', title: 'Holdings', path: '/v1/financing', key: 'holdings',
      head: ['Asset', 'Kind', 'Qty', 'Reserved', 'Financed', 'Price', 'Haircut', 'Lending value (HKD)'], nums: [2, 3, 4, 5, 6, 7], row: holdingRow });
  }
  if (financingOffered(ctx) && ctx.paths && ctx.paths.has('/v1/financing/statement')) {
    tabs.push({ id: 'statement', title: 'Financing statement', path: '/v1/financing/statement?limit=100', key: 'entries',
      head: ['Time', 'Entry', 'Asset', 'Qty', 'Amount', 'Detail'], nums: [3, 4], row: statementRow });
  }
  let active = tabs[0], rows = [], alive = true, timer = 0;
  const body = h('tbody', { id: 'history' });
  const thead = h('thead');
  const bar = h('div', { class: 'tabs', role: 'tablist' });
  const spec = (sym) => ctx.bySymbol.get(sym);
  const pdp = (sym) => decimalsOf(spec(sym).tick), qdp = (sym) => decimalsOf(spec(sym).lot);

  function fillRow(f) {
    return h('tr', {},
      h('td', { class: 'time' }, timeOf(f.time)), h('td', {}, f.symbol),
      h('td', { class: f.side === 'buy' ? 'up' : 'down' }, f.side === 'buy' ? 'Buy' : 'Sell'),
      h('td', { class: 'num' }, fmt(f.price, pdp(f.symbol))), h('td', { class: 'num' }, fmt(f.qty, qdp(f.symbol))),
      h('td', { class: 'num', title: `Exact: ${f.fee} USD` }, usd(f.fee)),
      // A spot fill exchanges the asset itself: there is no position, so no realised PnL.
      spec(f.symbol) && spec(f.symbol).kind === 'spot' ? h('td', { class: 'num muted', title: 'Spot: no position, no realised PnL' }, '—')
        : h('td', { class: `num ${pnlClass(f.realized_pnl)}`, title: `Exact: ${f.realized_pnl} USD` }, signedUsd(f.realized_pnl)),
      h('td', { class: 'muted' }, f.liquidity));
  }
  function orderRow(o) {
    const flags = [o.post_only && 'Post-only', o.reduce_only && 'Reduce-only'].filter(Boolean).join(', ');
    return h('tr', {},
      h('td', { class: 'time' }, o.updated ? timeOf(o.updated) : '—'), h('td', {}, o.symbol),
      h('td', { class: o.side === 'buy' ? 'up' : 'down' }, o.side === 'buy' ? 'Buy' : 'Sell'),
      h('td', { class: 'num' }, o.price ? fmt(o.price, pdp(o.symbol)) : 'Market'), h('td', { class: 'num' }, fmt(o.qty, qdp(o.symbol))),
      h('td', { class: 'num' }, fmt(o.filled, qdp(o.symbol))), h('td', {}, o.status.replace('_', ' ')),
      h('td', { class: 'mono muted' }, o.reason || ''), h('td', { class: 'muted' }, flags || '—'));
  }
  function fundingRow(p) {
    return h('tr', {},
      h('td', { class: 'time' }, timeOf(p.time)), h('td', {}, p.symbol),
      h('td', { class: 'num' }, fmt(p.size, qdp(p.symbol))), h('td', { class: 'num' }, pctSigned(p.rate, 4)),
      h('td', { class: 'num' }, fmt(p.mark, pdp(p.symbol))),
      h('td', { class: 'num', title: `Exact: ${p.notional} USD` }, usd(p.notional)),
      h('td', { class: `num ${pnlClass(p.amount)}`, title: `Exact: ${p.amount} USD` }, signedUsd(p.amount)));
  }

  function holdingRow(x) {
    return h('tr', { dataset: { asset: x.asset, qty: x.qty } },
      h('td', { class: 'strong' }, x.asset), h('td', { class: 'muted' }, (x.kind || '').replaceAll('_', ' ')),
      h('td', { class: 'num' }, fmt(x.qty)),
      h('td', { class: 'num', title: 'Reserved by resting spot orders' }, fmt(x.reserved || '0')),
      h('td', { class: 'num', title: 'Bought with the loan: sold first in a close-out' }, fmt(x.financed || '0')),
      h('td', { class: 'num' }, x.price ? `${fmt(x.price)} ${x.price_ccy || ''}` : '—'),
      h('td', { class: 'num' }, x.eligible ? pct(fromScaled(BigInt(x.haircut_ppm || 0), 6)) : 'Not eligible'),
      h('td', { class: 'num', title: `Exact: HK$${x.lending_value_hkd}` }, hkdText(x.lending_value_hkd)));
  }

  function statementRow(e) {
    const t = Date.parse(e.time);
    return h('tr', { dataset: { kind: e.kind, seq: String(e.seq) } },
      h('td', { class: 'time', title: isFinite(t) ? dateTimeOf(t) : e.time }, isFinite(t) ? timeOf(t) : e.time),
      h('td', { class: /margin_call|close_out/.test(e.kind) ? 'down' : '' }, e.kind.replaceAll('_', ' ') + (e.step ? ` (${e.step.replaceAll('_', ' ')})` : '')),
      h('td', {}, e.asset || ''),
      h('td', { class: 'num' }, e.qty ? fmt(e.qty) : ''),
      h('td', { class: 'num' }, e.amount ? `${fmt(e.amount)}${e.currency ? ' ' + e.currency : ''}` : ''),
      h('td', { class: 'muted stmt-text', title: e.text }, e.text));
  }

  function render() {
    bar.replaceChildren(...tabs.map((t) => h('button', { type: 'button', role: 'tab', class: `tab ${t === active ? 'on' : ''}`, id: `tab-${t.id}`,
      'aria-selected': String(t === active), onclick: () => { active = t; rows = []; render(); reload(); } }, t.title)));
    thead.replaceChildren(h('tr', {}, active.head.map((x, i) => h('th', { class: active.nums.includes(i) ? 'num' : null }, x))));
    if (!rows.length) body.replaceChildren(h('tr', {}, h('td', { colspan: active.head.length, class: 'empty' }, `No ${active.title.toLowerCase()} yet`)));
    else body.replaceChildren(...rows.slice(0, 100).map(active.row));
  }

  async function reload() {
    const t = active;
    try {
      const r = await s.request('GET', t.path);
      if (!alive || t !== active) return;
      rows = r[t.key] || [];
      render();
    } catch (e) {
      if (!alive || t !== active) return;
      rows = [];
      render();
      body.replaceChildren(h('tr', {}, h('td', { colspan: t.head.length, class: 'empty' }, `Not available: ${e.message}`)));
    }
  }
  const later = () => { clearTimeout(timer); timer = setTimeout(reload, 200); };

  render();
  return {
    el: h('section', { class: 'panel' }, h('header', { class: 'panel-head panel-tabs' }, bar),
      h('div', { class: 'scroll scroll-short' }, h('table', { class: 'tbl' }, thead, body))),
    reload,
    onFill(f) {
      if (active.id === 'fills') { rows.unshift(f); render(); } else if (active.id === 'holdings') later();
    },
    onOrder() { if (active.id === 'orders') later(); },
    onFunding(p) { if (active.id === 'funding') { rows.unshift(p); render(); } },
    destroy() { alive = false; clearTimeout(timer); },
  };
}
