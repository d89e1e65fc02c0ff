// Console shell: reads GET /v1/markets to configure itself, shows only the
// views that can work against this API, routes by URL hash
// (#/markets/BTC-USD-PERP, #/trader) and owns the shared public feed.
//
// A view is a module exporting id, title, available(ctx) and
// mount(root, ctx, params) → unmount, and optionally visible() (re-read
// when the operator session changes: a view the logged-in role may not use
// leaves the navigation). Add one by importing it into VIEWS.

import { get } from './api.js';
import { Feed } from './feed.js';
import { h } from './format.js';
import { onOperatorChange } from './operator.js';
import { onSessionChange } from './session.js';
import * as governance from './views/governance.js';
import * as margin from './views/margin.js';
import * as markets from './views/markets.js';
import * as risk from './views/risk.js';
import * as trader from './views/trader.js';

const VIEWS = [markets, trader, risk, margin, governance];

const $ = (id) => document.getElementById(id);

function toast(message, kind = 'info') {
  const el = h('div', { class: `toast toast-${kind}` }, message);
  $('toasts').append(el);
  setTimeout(() => el.remove(), kind === 'error' ? 8000 : 4000);
}

function connState(state, detail) {
  const el = $('conn');
  el.dataset.state = state;
  el.textContent = { open: 'Live', connecting: 'Connecting', closed: 'Reconnecting', error: 'Error' }[state] || state;
  el.title = detail ? `Market data: ${detail}` : 'Market data connection';
}

async function boot() {
  let list;
  try {
    list = (await get('/v1/markets')).markets;
  } catch (e) {
    $('view').replaceChildren(h('div', { class: 'callout callout-error boot' }, `The console could not read the venue's markets: ${e.message}`));
    connState('error');
    return;
  }
  // The documented paths (GET /v1/openapi.json, generated from the
  // routes) tell views whether this server offers what they need.
  let paths = null;
  try {
    paths = new Set(Object.keys((await get('/v1/openapi.json')).paths || {}));
  } catch { /* an older server: views that need the document stay out */ }
  const ctx = {
    markets: list,
    paths,
    bySymbol: new Map(list.map((m) => [m.symbol, m])),
    feed: new Feed(connState),
    toast,
  };
  const views = VIEWS.filter((v) => v.available(ctx));
  if (!views.length) {
    $('view').replaceChildren(h('div', { class: 'callout boot' }, 'This venue lists no markets yet.'));
    return;
  }

  const nav = $('nav');
  let current = null;
  function drawNav() {
    nav.replaceChildren(...views.filter((v) => !v.visible || v.visible())
      .map((v) => h('a', { href: `#/${v.id}`, class: 'nav-link', id: `nav-${v.id}`, dataset: { view: v.id } }, v.title)));
    for (const a of nav.children) a.classList.toggle('active', current !== null && a.dataset.view === current.id);
  }

  let unmount = null;
  function route() {
    const [name, ...params] = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
    // A view hidden from the navigation can still be opened by its URL; it
    // then says why it shows nothing (the server refuses its requests).
    const view = views.find((v) => v.id === name) || views[0];
    current = view;
    drawNav();
    if (unmount) unmount();
    const root = $('view');
    root.dataset.view = view.id;
    unmount = view.mount(root, ctx, params) || null;
    document.title = `${view.title}${params[0] ? ' · ' + params[0] : ''} — Sampan Console`;
  }
  window.addEventListener('hashchange', route);
  let trader = '', op = '';
  const who = () => { $('session').textContent = [trader, op].filter(Boolean).join(' · '); };
  onSessionChange((s) => {
    trader = s ? `Client ${s.account.client_id}` : '';
    who();
    $('toasts').replaceChildren(); // one session's notices are not the next one's
  });
  onOperatorChange((o) => {
    op = o ? `Operator ${o.keyId} (${o.role})` : '';
    who();
    drawNav();
  });
  route();
}

boot();
