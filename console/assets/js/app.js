// Console shell: reads GET /v1/markets to configure itself, shows only the
// views that can work against this API, routes by URL hash
// (#/markets/BTC-USD-PERP, #/trader) and owns the shared public feed.
//
// A view is a module exporting id, title, available(ctx) and
// mount(root, ctx, params) → unmount. Add one by importing it into VIEWS.

import { get } from './api.js';
import { Feed } from './feed.js';
import { h } from './format.js';
import { onSessionChange } from './session.js';
import * as markets from './views/markets.js';
import * as trader from './views/trader.js';

const VIEWS = [markets, trader];

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
  const ctx = {
    markets: list,
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
  nav.replaceChildren(...views.map((v) => h('a', { href: `#/${v.id}`, class: 'nav-link', id: `nav-${v.id}`, dataset: { view: v.id } }, v.title)));

  let unmount = null;
  function route() {
    const [name, ...params] = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
    const view = views.find((v) => v.id === name) || views[0];
    for (const a of nav.children) a.classList.toggle('active', a.dataset.view === view.id);
    if (unmount) unmount();
    const root = $('view');
    root.dataset.view = view.id;
    unmount = view.mount(root, ctx, params) || null;
    document.title = `${view.title}${params[0] ? ' · ' + params[0] : ''} — Sampan Console`;
  }
  window.addEventListener('hashchange', route);
  onSessionChange((s) => {
    $('session').textContent = s ? `Client ${s.account.client_id}` : '';
    $('toasts').replaceChildren(); // one session's notices are not the next one's
  });
  route();
}

boot();
