// The public market-data feed shared by all views: one WebSocket, a
// reference-counted set of channels ("depth:BTC-USD-PERP", ...), and
// handlers per channel. After a reconnection every watched channel is
// subscribed again (depth then starts with a fresh snapshot). Channels are
// subscribed one per request so that one the server refuses (for example
// one this API version does not publish) does not hold up the others.

import { Stream } from './ws.js';

export class Feed {
  constructor(onState) {
    this.handlers = new Map(); // channel → Set of handlers
    this.errors = new Map();   // channel → Set of error callbacks
    this.stream = new Stream({
      onOpen: () => Promise.all(Array.from(this.handlers.keys(), (ch) => this.sub(ch))),
      onMessage: (m) => this.dispatch(m),
      onState,
    });
  }

  dispatch(m) {
    const key = m.symbol ? `${m.channel}:${m.symbol}` : m.channel;
    const hs = this.handlers.get(key);
    if (hs) for (const fn of hs) fn(m);
  }

  /** Subscribe one channel; a refusal goes to the watchers' onError. */
  sub(ch) {
    return Promise.resolve(this.stream.subscribe([ch])).catch((e) => {
      if (e.code === 'DISCONNECTED') return; // the next connection retries
      for (const fn of this.errors.get(ch) || []) fn(e);
    });
  }

  /**
   * Watch a channel; returns a function that stops watching. onError gets
   * the API's refusal if the channel cannot be subscribed.
   */
  watch(channel, fn, onError) {
    let hs = this.handlers.get(channel);
    const fresh = !hs;
    if (fresh) {
      this.handlers.set(channel, (hs = new Set()));
      this.errors.set(channel, new Set());
    }
    hs.add(fn);
    if (onError) this.errors.get(channel).add(onError);
    if (fresh && this.open()) this.sub(channel);
    return () => {
      hs.delete(fn);
      if (onError) this.errors.get(channel)?.delete(onError);
      if (hs.size === 0) {
        this.handlers.delete(channel);
        this.errors.delete(channel);
        if (this.open()) this.stream.unsubscribe([channel]);
      }
    };
  }

  /** Ask for a fresh snapshot of a channel (depth after a sequence gap). */
  resync(channel) {
    if (!this.open()) return; // the reconnection will resubscribe
    this.stream.unsubscribe([channel]).then(() => {
      if (this.handlers.has(channel)) return this.sub(channel);
    });
  }

  open() {
    return this.stream.ws && this.stream.ws.readyState === WebSocket.OPEN;
  }
}
