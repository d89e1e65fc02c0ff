// Real-client test: ccxt's binanceusdm against Sampan's Binance-compatible
// API. Usage: node test.mjs BASEURL KEY1 SECRET1 KEY2 SECRET2
// Exits non-zero on the first failed check. Run by binance/ccxt_test.go.
import { readFileSync } from 'node:fs';
import ccxt from 'ccxt';

const [base, key1, secret1, key2, secret2] = process.argv.slice(2);
if (!secret2) {
    console.error('usage: node test.mjs BASEURL KEY1 SECRET1 KEY2 SECRET2');
    process.exit(2);
}

// The whole configuration a user needs (docs/binance-compat.md).
function connect(apiKey, secret, cls = ccxt.binanceusdm) {
    const ex = new cls({ apiKey, secret });
    // 1. Every API host → the Sampan origin, keeping Binance's paths
    //    (with ccxt.pro, the WebSocket base too).
    for (const [name, url] of Object.entries(ex.urls.api)) {
        if (typeof url === 'string') {
            ex.urls.api[name] = base + new URL(url).pathname;
        }
    }
    if (ex.urls.api.ws) {
        ex.urls.api.ws.future = base.replace(/^http/, 'ws') + '/ws';
    }
    // 2. ccxt picks USDⓈ-M error classes by Binance's host name; on another
    //    host, add them to the common table.
    Object.assign(ex.exceptions.exact, ex.exceptions.linear.exact);
    return ex;
}

const version = JSON.parse(readFileSync(new URL('./node_modules/ccxt/package.json', import.meta.url))).version;
const alice = connect(key1, secret1);
const bob = connect(key2, secret2);
const BTC = 'BTC/USDT:USDT';
let failures = 0;

function check(cond, what, detail) {
    if (cond) {
        console.log('ok   ' + what);
        return;
    }
    console.log('FAIL ' + what + (detail !== undefined ? ': ' + JSON.stringify(detail) : ''));
    failures++;
    throw new Error('check failed: ' + what);
}

async function expectError(cls, what, fn) {
    try {
        const r = await fn();
        check(false, what + ' raises ' + cls.name, r);
    } catch (e) {
        check(e instanceof cls, what + ' raises ' + cls.name, e.constructor.name + ': ' + e.message);
    }
}

async function main() {
    // Markets, book, ticker, funding.
    const markets = await alice.loadMarkets();
    await bob.loadMarkets();
    check(markets[BTC] && markets[BTC].id === 'BTCUSDT' && markets[BTC].linear && markets[BTC].swap, 'loadMarkets has BTC/USDT:USDT', Object.keys(markets));
    check(markets['ETH/USDT:USDT'] !== undefined, 'loadMarkets has ETH/USDT:USDT');
    check(markets[BTC].precision.price === 0.1 && markets[BTC].precision.amount === 0.001, 'BTC precision', markets[BTC].precision);

    const ob = await alice.fetchOrderBook(BTC);
    check(Array.isArray(ob.bids) && Array.isArray(ob.asks) && ob.nonce !== undefined, 'fetchOrderBook', ob);
    const ticker = await alice.fetchTicker(BTC);
    check(ticker.symbol === BTC, 'fetchTicker', ticker);
    const fr = await alice.fetchFundingRate(BTC);
    check(fr.symbol === BTC && fr.markPrice === 50000 && typeof fr.fundingRate === 'number', 'fetchFundingRate', fr);

    // Balances and leverage.
    const bal = await alice.fetchBalance();
    check(bal.USDT && bal.USDT.total === 2000 && bal.USDT.free === 2000, 'fetchBalance', bal.USDT);
    const lev = await alice.setLeverage(5, BTC);
    check(lev && Number(lev.leverage) === 5, 'setLeverage', lev);

    // A resting order: place, list, fetch, cancel.
    const resting = await alice.createOrder(BTC, 'limit', 'buy', 0.01, 49000);
    check(resting.status === 'open' && resting.price === 49000 && resting.amount === 0.01, 'createOrder (resting limit)', resting);
    let open = await alice.fetchOpenOrders(BTC);
    check(open.length === 1 && open[0].id === resting.id, 'fetchOpenOrders lists it', open);
    const fetched = await alice.fetchOrder(resting.id, BTC);
    check(fetched.id === resting.id && fetched.clientOrderId === resting.clientOrderId, 'fetchOrder', fetched);
    const cancelled = await alice.cancelOrder(resting.id, BTC);
    check(cancelled.status === 'canceled', 'cancelOrder', cancelled);
    open = await alice.fetchOpenOrders(BTC);
    check(open.length === 0, 'fetchOpenOrders empty after cancel', open);
    await expectError(ccxt.OrderNotFound, 'cancelOrder of a cancelled order', () => alice.cancelOrder(resting.id, BTC));

    // Post-only that would cross (bob rests an ask first).
    const ask = await bob.createOrder(BTC, 'limit', 'sell', 0.1, 50000);
    check(ask.status === 'open', 'bob rests an ask', ask);
    await expectError(ccxt.OrderNotFillable, 'post-only buy crossing the ask', () => alice.createOrder(BTC, 'limit', 'buy', 0.1, 50000, { postOnly: true }));

    // A trade between the two accounts.
    const buy = await alice.createOrder(BTC, 'market', 'buy', 0.1);
    check(buy.status === 'closed' && buy.filled === 0.1 && buy.average === 50000, 'market buy fills against bob', buy);
    const positions = await alice.fetchPositions([BTC]);
    const pos = positions.find((p) => p.symbol === BTC);
    check(pos && pos.contracts === 0.1 && pos.side === 'long' && pos.entryPrice === 50000, 'fetchPositions: alice long 0.1', pos);
    check(pos.liquidationPrice > 0 && pos.liquidationPrice < 50000, 'fetchPositions: liquidation price below entry', pos.liquidationPrice);
    check(pos.notional === 5000 && pos.leverage === 5 && pos.marginMode === 'cross', 'fetchPositions: notional, leverage, margin mode', pos);
    const bobPos = (await bob.fetchPositions([BTC])).find((p) => p.symbol === BTC);
    check(bobPos && bobPos.side === 'short' && bobPos.contracts === 0.1, 'fetchPositions: bob short 0.1', bobPos);
    const trades = await alice.fetchMyTrades(BTC);
    check(trades.length === 1 && trades[0].side === 'buy' && trades[0].amount === 0.1 && trades[0].price === 50000 &&
        trades[0].order === buy.id && trades[0].takerOrMaker === 'taker', 'fetchMyTrades', trades);

    // Reduce-only: increasing is refused, closing works.
    await expectError(ccxt.InvalidOrder, 'reduceOnly buy that would increase', () => alice.createOrder(BTC, 'market', 'buy', 0.1, undefined, { reduceOnly: true }));
    const bid = await bob.createOrder(BTC, 'limit', 'buy', 0.1, 50000);
    check(bid.status === 'open', 'bob rests a bid', bid);
    const close = await alice.createOrder(BTC, 'market', 'sell', 0.1, undefined, { reduceOnly: true });
    check(close.status === 'closed' && close.filled === 0.1 && close.reduceOnly === true, 'reduceOnly market sell closes', close);
    const after = (await alice.fetchPositions([BTC])).find((p) => p.symbol === BTC);
    check(after === undefined || after.contracts === 0, 'position closed', after);

    // Errors.
    await expectError(ccxt.InsufficientFunds, 'order beyond margin', () => alice.createOrder(BTC, 'limit', 'buy', 100, 50000));
    await expectError(ccxt.BadSymbol, 'server: unknown symbol', () => alice.fapiPublicGetTicker24hr({ symbol: 'DOGEUSDT' }));
    await expectError(ccxt.BadSymbol, 'client: unknown symbol', () => alice.fetchTicker('DOGE/USDT:USDT'));
    const forger = connect(key1, 'not-the-secret');
    await expectError(ccxt.AuthenticationError, 'bad signature', () => forger.fetchBalance());
    const stranger = connect('no-such-key', 'whatever');
    await expectError(ccxt.AuthenticationError, 'unknown API key', () => stranger.fetchBalance());

    await streams();
    console.log('all ccxt checks passed (ccxt ' + version + ')');
}

function within(ms, what, promise) {
    return Promise.race([promise, new Promise((_, reject) => setTimeout(() => reject(new Error('timeout: ' + what)), ms))]);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// WebSocket streams through ccxt.pro: order book (REST snapshot + depth
// updates), public trades, and the user-data stream (listenKey).
async function streams() {
    const proA = connect(key1, secret1, ccxt.pro.binanceusdm);
    const proB = connect(key2, secret2, ccxt.pro.binanceusdm);
    try {
        // Only because the test server speaks plain ws:// on loopback; a
        // production deployment behind TLS (wss://) needs no such call.
        await proA.loadHttpProxyAgent();
        await proB.loadHttpProxyAgent();
        await proA.loadMarkets();
        await proB.loadMarkets();
        let book = await within(5000, 'watchOrderBook', proA.watchOrderBook(BTC));
        check(book.symbol === BTC && book.nonce !== undefined, 'watchOrderBook snapshot', book.nonce);
        const tradesP = within(5000, 'watchTrades', proA.watchTrades(BTC));
        const ordersP = proA.watchOrders(BTC);
        await sleep(300); // let the subscriptions reach the server
        await bob.createOrder(BTC, 'limit', 'sell', 0.01, 50200);
        for (let i = 0; i < 20 && !book.asks.some(([p]) => p === 50200); i++) {
            book = await within(5000, 'watchOrderBook update', proA.watchOrderBook(BTC));
        }
        check(book.asks.some(([p, q]) => p === 50200 && q === 0.01), 'watchOrderBook sees the new ask', book.asks);
        await alice.createOrder(BTC, 'limit', 'buy', 0.01, 50200);
        const trades = await tradesP;
        check(trades.length > 0 && trades[trades.length - 1].price === 50200 && trades[trades.length - 1].amount === 0.01, 'watchTrades', trades);
        // The user-data stream may still be connecting (REST listenKey,
        // then the socket); place resting orders until one is reported.
        let orders;
        for (let i = 0; i < 5 && orders === undefined; i++) {
            const o = await alice.createOrder(BTC, 'limit', 'buy', 0.001, 49000 + i);
            orders = await Promise.race([ordersP, sleep(1000).then(() => undefined)]);
            await alice.cancelOrder(o.id, BTC);
        }
        check(orders !== undefined && orders.length > 0 && orders[orders.length - 1].symbol === BTC, 'watchOrders (user-data stream)', orders);
        await alice.createOrder(BTC, 'market', 'sell', 0.01, undefined, { reduceOnly: true }).catch(() => {});
    } finally {
        await proA.close();
        await proB.close();
    }
}

main().then(() => process.exit(0), (e) => {
    console.error(e && e.stack ? e.stack : e);
    process.exit(failures > 0 ? 1 : 3);
});
