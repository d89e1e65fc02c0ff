// Markets view: 24h ticker stats with open interest, a price chart (last
// trade, mark and index, each with its history), the order book ladder with
// cumulative size bars, the recent trades tape, and the contract
// specification beside the funding rate history. Live over the shared
// public feed; depth is kept by DepthBook with gap detection and
// resynchronisation.

import { get } from '../api.js';
import { DepthBook } from '../book.js';
import { PriceChart } from '../chart.js';
import { countdown, dateTimeOf, decimalsOf, fmt, fromScaled, h, num, pct, pctChange, pctSigned, timeOf, toScaled } from '../format.js';

export const id = 'markets';
export const title = 'Markets';

/** The view works whenever the venue lists at least one market. */
export function available(ctx) { return ctx.markets.length > 0; }

const LEVELS = 14;    // ladder rows per side
const TAPE = 60;      // trades kept in the tape

export function mount(root, ctx, params) {
  const symbol = ctx.bySymbol.has(params[0]) ? params[0] : ctx.markets[0].symbol;
  const mkt = ctx.bySymbol.get(symbol);
  const pdp = decimalsOf(mkt.tick), qdp = decimalsOf(mkt.lot);
  const book = new DepthBook(pdp);
  const trades = [];
  let ticker = null, mark = null, alive = true;
  // Index and funding come from the valuation endpoints; null until read,
  // false when this API does not offer them (the cells are then left out).
  let index = null, funding = null;
  // Open interest (GET …/open-interest); false when the API lacks it.
  // A spot market (margin financing) has no funding, mark history or open
  // interest: those cells are left out rather than asked for.
  const spot = mkt.kind === 'spot';
  let oi = spot ? false : null;

  // ---- layout ----
  const tabs = h('div', { class: 'mkt-tabs', role: 'tablist' },
    ctx.markets.map((m) => h('a', { class: 'mkt-tab', href: `#/markets/${m.symbol}`, role: 'tab', 'aria-selected': String(m.symbol === symbol) },
      h('span', { class: 'mkt-tab-sym' }, m.symbol), h('span', { class: 'mkt-tab-kind' }, m.kind))));
  const stats = h('div', { class: 'stats', id: 'ticker' });
  const chartHost = h('div', { class: 'chart', id: 'chart' });
  const ladder = h('div', { class: 'ladder', id: 'ladder' });
  const bookState = h('span', { class: 'panel-note', id: 'book-state' }, 'Syncing…');
  const tape = h('tbody', { id: 'tape' });
  const fundingBody = h('tbody', { id: 'funding-history' });
  root.replaceChildren(
    h('div', { class: 'mkt-head' }, tabs, stats),
    h('div', { class: 'mkt-grid' },
      h('section', { class: 'panel panel-chart' },
        h('header', { class: 'panel-head' }, h('h2', {}, 'Price'), h('span', { class: 'panel-note' }, 'Last, mark and index · 1-minute history, then live · UTC')),
        chartHost),
      h('section', { class: 'panel panel-book' },
        h('header', { class: 'panel-head' }, h('h2', {}, 'Order book'), bookState),
        h('div', { class: 'ladder-head' }, h('span', {}, 'Price'), h('span', {}, `Size (${mkt.symbol.split('-')[0]})`), h('span', {}, 'Total')),
        ladder),
      h('section', { class: 'panel panel-trades' },
        h('header', { class: 'panel-head' }, h('h2', {}, 'Trades')),
        h('div', { class: 'scroll' },
          h('table', { class: 'tbl tape' },
            h('thead', {}, h('tr', {}, h('th', {}, 'Time'), h('th', { class: 'num' }, 'Price'), h('th', { class: 'num' }, 'Size'))),
            tape))),
      specPanel(mkt, fundingBody)));

  const chart = new PriceChart(chartHost, { priceDp: pdp });

  // ---- rendering ----
  function renderStats() {
    const t = ticker || {};
    const [bid] = book.levels('bid', 1), [ask] = book.levels('ask', 1);
    let spread = '';
    if (bid && ask) spread = fromScaled(toScaled(ask[0], pdp) - toScaled(bid[0], pdp), pdp);
    const chg = t.open_24h && t.last ? pctChange(t.open_24h, t.last) : '';
    const cells = [
      ['Last', fmt(t.last, pdp), 'stat-last'],
      ['24h change', chg || '—', chg.startsWith('+') ? 'up' : chg.startsWith('−') ? 'down' : ''],
      spot ? null : ['Mark', fmt(mark && mark.mark, pdp), '', mark && mark.source ? `Source: ${mark.source}` : ''],
    ].filter(Boolean);
    if (index !== false) {
      const ok = index && index.price;
      const none = index && index.mode === 'manual' ? 'None (manual)' : '—';
      cells.push(['Index', ok ? fmt(index.price, pdp) : none, ok && index.healthy === false ? 'warn' : ok ? '' : 'muted',
        index ? indexTip(index) : '']);
    }
    if (funding !== false && funding) {
      const next = funding.next_funding_time ? ` · ${countdown(funding.next_funding_time - Date.now())}` : '';
      cells.push(['Funding / 8h', (funding.predicted ? pctSigned(funding.predicted.rate, 4) : '—') + next, '',
        `Predicted rate per 8 hours${funding.predicted && funding.predicted.capped ? ' (capped)' : ''}; last settled ${pctSigned(funding.last_rate, 4)}; mode: ${funding.mode}`]);
    }
    if (oi) {
      cells.push([`Open interest (${mkt.symbol.split('-')[0]})`, fmt(oi.open_interest, qdp), 'stat-oi',
        `${fmt(oi.open_interest_notional, 0)} USD at the mark; longs and shorts hold the same size`]);
    }
    cells.push(
      ['24h high', fmt(t.high_24h, pdp)],
      ['24h low', fmt(t.low_24h, pdp)],
      [`24h volume (${mkt.symbol.split('-')[0]})`, fmt(t.volume_24h, qdp), '', t.trades_24h !== undefined ? `${t.trades_24h} trades` : ''],
    );
    if (index === false || !funding) cells.push(['Spread', spread ? fmt(spread, pdp) : '—']);
    stats.replaceChildren(...cells.map(([k, v, cls, tip]) =>
      h('div', { class: 'stat', title: tip || null }, h('div', { class: 'stat-k' }, k), h('div', { class: `stat-v num ${cls || ''}` }, v))));
  }

  function renderBook() {
    if (!book.synced) {
      bookState.textContent = 'Syncing…';
      return;
    }
    bookState.textContent = `seq ${book.seq}${book.gaps ? ` · ${book.gaps} resync${book.gaps > 1 ? 's' : ''}` : ''}`;
    const asks = book.levels('ask', LEVELS), bids = book.levels('bid', LEVELS);
    const cum = (lv) => {
      let acc = 0n;
      return lv.map(([p, q]) => { acc += toScaled(q, qdp); return [p, q, fromScaled(acc, qdp)]; });
    };
    const ca = cum(asks), cb = cum(bids);
    const max = Math.max(num(ca.length ? ca[ca.length - 1][2] : '0'), num(cb.length ? cb[cb.length - 1][2] : '0'), 1e-12);
    const row = (side) => ([p, q, tot]) => h('div', { class: `lv lv-${side}`, dataset: { price: p, side } },
      h('i', { class: 'bar', style: `width:${((num(tot) / max) * 100).toFixed(2)}%` }),
      h('span', { class: 'px' }, fmt(p, pdp)), h('span', {}, fmt(q, qdp)), h('span', { class: 'tot' }, fmt(tot, qdp)));
    const pad = (n) => Array.from({ length: Math.max(0, LEVELS - n) }, () => h('div', { class: 'lv lv-empty' }, h('span', {}, ' ')));
    const [bid] = bids, [ask] = asks;
    let mid = '—', spr = '';
    if (bid && ask) {
      const s = toScaled(ask[0], pdp) - toScaled(bid[0], pdp);
      spr = fromScaled(s, pdp);
      mid = ticker && ticker.last ? fmt(ticker.last, pdp) : '—';
    } else if (ticker && ticker.last) mid = fmt(ticker.last, pdp);
    const emptyNote = !bids.length && !asks.length ? h('div', { class: 'ladder-empty' }, 'The book is empty') : null;
    ladder.replaceChildren(
      h('div', { class: 'side side-ask' }, pad(ca.length), ca.slice().reverse().map(row('ask'))),
      h('div', { class: 'ladder-mid' },
        h('span', { class: 'num ladder-last', title: 'Last trade' }, mid),
        h('span', { class: 'num muted' }, spr ? `Spread ${fmt(spr, pdp)}` : ''),
        emptyNote),
      h('div', { class: 'side side-bid' }, cb.map(row('bid')), pad(cb.length)));
  }

  function renderTape() {
    tape.replaceChildren(...trades.slice(0, TAPE).map((t) =>
      h('tr', { dataset: { id: t.id } },
        h('td', { class: 'time' }, timeOf(t.time)),
        h('td', { class: `num ${t.side === 'buy' ? 'up' : 'down'}` }, fmt(t.price, pdp)),
        h('td', { class: 'num' }, fmt(t.qty, qdp)))));
    if (!trades.length) tape.replaceChildren(h('tr', {}, h('td', { colspan: 3, class: 'empty' }, 'No trades yet')));
  }

  function renderFunding() {
    if (spot) {
      fundingBody.replaceChildren(h('tr', {}, h('td', { colspan: 2, class: 'empty' }, 'None: a spot market pays no funding')));
      return;
    }
    if (funding === false) {
      fundingBody.replaceChildren(h('tr', {}, h('td', { colspan: 2, class: 'empty' }, 'This API publishes no funding data')));
      return;
    }
    const hist = (funding && funding.history) || [];
    if (!hist.length) {
      const why = funding && funding.mode === 'manual' ? 'None: no index in manual mode' : 'No settlement yet';
      fundingBody.replaceChildren(h('tr', {}, h('td', { colspan: 2, class: 'empty' }, why)));
      return;
    }
    fundingBody.replaceChildren(...hist.slice(0, 24).map((r) => h('tr', { dataset: { time: String(r.time) } },
      h('td', { class: 'time' }, dateTimeOf(r.time).slice(5, 16)),
      h('td', { class: `num ${r.rate.startsWith('-') ? 'down' : ''}`, title: `Mark ${fmt(r.mark, pdp)} · paid ${fmt(r.paid, 2)} USD` }, pctSigned(r.rate, 4)))));
  }

  let pending = 0;
  const schedule = () => {
    if (pending) return;
    pending = requestAnimationFrame(() => { pending = 0; if (alive) { renderBook(); renderStats(); } });
  };

  // ---- data ----
  async function loadHistory() {
    try {
      const [kl, tr] = await Promise.all([
        get(`/v1/markets/${symbol}/klines?interval=1m&limit=240`),
        get(`/v1/markets/${symbol}/trades?limit=${TAPE}`),
      ]);
      if (!alive) return;
      // Candles give the history; trades after the oldest fetched one are
      // plotted individually.
      const recent = tr.trades.slice().reverse(); // oldest first
      const cut = recent.length ? recent[0].time : Infinity;
      const pts = kl.klines.filter((k) => k.start + 60e3 <= cut).map((k) => ({ t: k.start + 59e3, v: Number(k.close), s: k.close }));
      for (const t of recent) pts.push({ t: t.time, v: Number(t.price), s: t.price });
      const live = chart.series.last.filter((p) => p.t > (pts.length ? pts[pts.length - 1].t : 0));
      chart.set('last', pts.concat(live));
      // Merge with anything the stream delivered meanwhile.
      const seen = new Set(trades.map((t) => t.id));
      for (const t of tr.trades) if (!seen.has(t.id)) trades.push(t);
      trades.sort((a, b) => b.time - a.time || Number(b.id) - Number(a.id));
      renderTape();
    } catch (e) {
      ctx.toast(`Could not load ${symbol} history: ${e.message}`, 'error');
    }
  }

  // Mark and index history (GET …/mark/history): one sample per minute in
  // which either changed, plotted at the change. Points the stream brought
  // while the request was out are kept after the history.
  async function loadMarkHistory() {
    let r;
    if (spot) return;
    try { r = await get(`/v1/markets/${symbol}/mark/history?interval=1m&limit=240`); } catch { return; } // older API: live only
    if (!alive) return;
    for (const name of ['mark', 'index']) {
      const pts = r.samples.filter((p) => p[name]).map((p) => ({ t: p.updated, v: Number(p[name]), s: p[name] }));
      const lastT = pts.length ? pts[pts.length - 1].t : 0;
      chart.set(name, pts.concat(chart.series[name].filter((p) => p.t > lastT)));
    }
  }

  // A trade may change open interest: re-read it shortly after (one
  // request for a burst of trades).
  let oiTimer = 0;
  const oiSoon = () => { if (!oiTimer) oiTimer = setTimeout(() => { oiTimer = 0; loadOpenInterest(); }, 300); };

  async function loadOpenInterest() {
    if (oi === false) return;
    try { oi = await get(`/v1/markets/${symbol}/open-interest`); } catch (e) { if (e.status === 404) oi = false; return; }
    if (alive) schedule();
  }

  // Valuation: REST for the current state (the index channel has no
  // snapshot), the stream for changes. A 404 means this API version does not
  // publish it: the cell is dropped rather than shown empty.
  async function loadValuation() {
    const [ix, fu] = await Promise.allSettled([get(`/v1/markets/${symbol}/index`),
      spot ? Promise.reject(Object.assign(new Error('spot'), { status: 404 })) : get(`/v1/markets/${symbol}/funding`)]);
    if (!alive) return;
    if (ix.status === 'fulfilled') {
      index = ix.value;
      if (index.price) chart.push('index', index.time || Date.now(), index.price);
    } else if (ix.reason.status === 404) index = false;
    if (fu.status === 'fulfilled') funding = fu.value;
    else if (fu.reason.status === 404) funding = false;
    renderFunding();
    schedule();
  }

  const depthCh = `depth:${symbol}`;
  const stops = [
    ctx.feed.watch(depthCh, (m) => {
      if (m.type === 'snapshot') book.snapshot(m.data);
      else if (book.update(m.data) === 'gap') {
        ctx.feed.resync(depthCh);
      }
      schedule();
    }),
    ctx.feed.watch(`trades:${symbol}`, (m) => {
      const t = m.data;
      if (trades.some((x) => x.id === t.id)) return;
      trades.unshift(t);
      if (trades.length > TAPE) trades.length = TAPE;
      chart.push('last', t.time, t.price);
      renderTape();
      oiSoon();
    }),
    ctx.feed.watch(`ticker:${symbol}`, (m) => { ticker = m.data; schedule(); }),
    ctx.feed.watch(`index:${symbol}`, (m) => {
      if (index === false) return;
      index = { ...(index || {}), ...m.data };
      if (m.data.price) chart.push('index', m.data.time, m.data.price);
      schedule();
    }, () => {}),
    ctx.feed.watch(`funding:${symbol}`, () => loadValuation(), () => {}),
    ctx.feed.watch(`mark:${symbol}`, (m) => {
      mark = m.data;
      if (mark.mark) chart.push('mark', mark.time, mark.mark);
      schedule();
    }),
  ];
  renderStats();
  renderBook();
  renderTape();
  renderFunding();
  loadHistory();
  loadMarkHistory();
  loadValuation();
  loadOpenInterest();
  // The chart's time axis runs to "now" even when nothing trades; the
  // funding countdown ticks; funding predictions move with every sample.
  let n = 0;
  const tick = setInterval(() => {
    chart.schedule();
    if (funding) schedule();
    if (++n % 30 === 0 && funding !== false) loadValuation();
    if (n % 5 === 0) loadOpenInterest();
  }, 1000);

  return () => {
    alive = false;
    clearInterval(tick);
    clearTimeout(oiTimer);
    if (pending) cancelAnimationFrame(pending);
    stops.forEach((s) => s());
    chart.destroy();
  };
}

function indexTip(ix) {
  const parts = [];
  if (ix.mode) parts.push(ix.mode === 'manual' ? 'Manual mode: no external price sources configured' : 'From external venues');
  if (ix.included_sources !== undefined) parts.push(`${ix.included_sources} of ${ix.fresh_sources ?? '?'} fresh sources included`);
  if (ix.healthy === false) parts.push('Unhealthy: the market is reduce-only');
  return parts.join('. ');
}

function specPanel(m, fundingBody) {
  const row = (k, v) => h('tr', {}, h('th', {}, k), h('td', { class: 'num' }, v));
  if (m.kind === 'spot') return spotSpecPanel(m, row, fundingBody);
  const brackets = h('table', { class: 'tbl tbl-compact' },
    h('thead', {}, h('tr', {}, h('th', { class: 'num' }, 'Notional up to (USD)'), h('th', { class: 'num' }, 'Max leverage'), h('th', { class: 'num' }, 'Maint. rate'), h('th', { class: 'num' }, 'Maint. amount'))),
    h('tbody', {}, (m.brackets || []).map((b) => h('tr', {},
      h('td', { class: 'num' }, fmt(b.notional_cap, 0)), h('td', { class: 'num' }, `${b.max_leverage}×`),
      h('td', { class: 'num' }, pct(b.maintenance_rate)), h('td', { class: 'num' }, fmt(b.maintenance_amount, 0))))));
  return h('section', { class: 'panel panel-spec' },
    h('header', { class: 'panel-head' }, h('h2', {}, 'Contract'), h('span', { class: 'panel-note' },
      m.eligibility === 'professional_investor' ? 'Professional investors only' : m.eligibility)),
    h('div', { class: 'spec' },
      h('table', { class: 'kv' }, h('tbody', {},
        row('Type', `${m.kind}, settled in ${m.settlement_asset}`),
        row('Tick size', m.tick), row('Lot size', m.lot),
        row('Max leverage', `${m.max_leverage}×`),
        row('Maker / taker fee', `${pct(m.maker_fee)} / ${pct(m.taker_fee)}`),
        row('Price band vs mark', `±${pct(m.price_band)}`),
        row('Max open orders', String(m.max_open_orders)))),
      h('div', { class: 'spec-brackets' }, h('h3', {}, 'Margin brackets'), h('div', { class: 'scroll' }, brackets)),
      h('div', { class: 'spec-funding' }, h('h3', {}, 'Funding history'),
        h('div', { class: 'scroll' }, h('table', { class: 'tbl tbl-compact', id: 'funding' },
          h('thead', {}, h('tr', {}, h('th', {}, 'Settled (UTC)'), h('th', { class: 'num' }, 'Rate / 8 h'))),
          fundingBody)))));
}

/** A spot market's specification: settled between margin-financing accounts, no leverage or funding. */
function spotSpecPanel(m, row, fundingBody) {
  return h('section', { class: 'panel panel-spec' },
    h('header', { class: 'panel-head' }, h('h2', {}, 'Market'), h('span', { class: 'panel-note' }, 'Open to every client')),
    h('div', { class: 'spec' },
      h('table', { class: 'kv' }, h('tbody', {},
        row('Type', `spot, ${m.base_asset} for ${m.quote_asset}`),
        row('Tick size', m.tick), row('Lot size', m.lot),
        row('Maker / taker fee', `${pct(m.maker_fee)} / ${pct(m.taker_fee)}`),
        row('Price band vs index', `±${pct(m.price_band)}`),
        row('Max open orders', String(m.max_open_orders)))),
      h('div', { class: 'spec-brackets' }, h('h3', {}, 'Settlement'),
        h('p', { class: 'muted' }, 'Settled in margin-financing accounts. A resting buy needs cash; a taking buy (IOC, FOK, market) may borrow against lending value with an approved credit assessment.')),
      h('div', { class: 'spec-funding' }, h('h3', {}, 'Funding history'),
        h('div', { class: 'scroll' }, h('table', { class: 'tbl tbl-compact', id: 'funding' }, fundingBody)))));
}
