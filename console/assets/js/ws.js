// WebSocket client for /v1/ws: request/reply by id, stream messages by
// channel, automatic reconnection with backoff. The owner re-subscribes in
// onOpen, which runs after every (re)connection.

import { ApiError } from './api.js';

// The gateway counts every subscribed channel against a per-connection
// limit of 64 and does not give the count back on unsubscribe; past this
// many we open a fresh connection instead of subscribing on the old one.
const SUBSCRIBE_BUDGET = 56;

export class Stream {
  /**
   * @param {object} opts
   * @param {(s: Stream) => Promise<void>|void} opts.onOpen  runs after each connect
   * @param {(msg: object) => void} opts.onMessage  stream messages {channel, symbol?, type?, data}
   * @param {(state: string, detail?: string) => void} [opts.onState]  connecting | open | closed
   */
  constructor({ onOpen, onMessage, onState }) {
    this.onOpen = onOpen;
    this.onMessage = onMessage;
    this.onState = onState || (() => {});
    this.pending = new Map();
    this.nextId = 1;
    this.closed = false;
    this.backoff = 500;
    this.subscribed = 0;
    this.connect();
  }

  url() {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    return `${proto}//${location.host}/v1/ws`;
  }

  connect() {
    if (this.closed) return;
    this.onState('connecting');
    this.subscribed = 0;
    const ws = new WebSocket(this.url());
    this.ws = ws;
    ws.onopen = async () => {
      this.backoff = 500;
      try {
        await this.onOpen(this);
        if (this.ws === ws) this.onState('open');
      } catch (e) {
        this.onState('error', e.message);
      }
    };
    ws.onmessage = (ev) => {
      let m;
      try { m = JSON.parse(ev.data); } catch { return; }
      if (m.op !== undefined && m.status !== undefined) {
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        if (m.status >= 200 && m.status < 300) p.resolve(m.result);
        else p.reject(new ApiError(m.status, m.error));
        return;
      }
      this.onMessage(m);
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      for (const p of this.pending.values()) p.reject(new ApiError(0, { code: 'DISCONNECTED', message: 'The connection closed before the answer arrived.' }));
      this.pending.clear();
      if (this.closed) return;
      this.onState('closed', ev.reason || '');
      const wait = this.backoff;
      this.backoff = Math.min(this.backoff * 2, 10000);
      this.timer = setTimeout(() => this.connect(), wait);
    };
    // Errors are followed by close, which reconnects; nothing to log.
    ws.onerror = () => {};
  }

  /** Send a request and wait for its reply. */
  request(op, fields = {}) {
    return new Promise((resolve, reject) => {
      if (!this.ws || this.ws.readyState !== WebSocket.OPEN) {
        reject(new ApiError(0, { code: 'DISCONNECTED', message: 'Not connected to the API.' }));
        return;
      }
      const id = String(this.nextId++);
      this.pending.set(id, { resolve, reject });
      this.ws.send(JSON.stringify({ op, id, ...fields }));
    });
  }

  /** Subscribe, reconnecting first if the connection's subscription budget is spent. */
  async subscribe(channels) {
    if (this.subscribed + channels.length > SUBSCRIBE_BUDGET) {
      this.reconnect();
      return; // onOpen of the new connection subscribes afresh
    }
    this.subscribed += channels.length;
    return this.request('subscribe', { channels });
  }

  unsubscribe(channels) {
    return this.request('unsubscribe', { channels }).catch(() => {});
  }

  /** Drop the current connection and open a new one now. */
  reconnect() {
    clearTimeout(this.timer);
    const old = this.ws;
    this.ws = null;
    if (old) shut(old, 'resubscribe');
    for (const p of this.pending.values()) p.reject(new ApiError(0, { code: 'DISCONNECTED', message: 'Reconnecting.' }));
    this.pending.clear();
    this.connect();
  }

  close() {
    this.closed = true;
    clearTimeout(this.timer);
    if (this.ws) shut(this.ws, 'done');
    for (const p of this.pending.values()) p.reject(new ApiError(0, { code: 'DISCONNECTED', message: 'Closed.' }));
    this.pending.clear();
  }
}

// shut closes a socket without callbacks; one still connecting is closed
// once open (closing it earlier makes the browser log a warning).
function shut(ws, reason) {
  ws.onclose = null;
  ws.onmessage = null;
  ws.onerror = () => {};
  if (ws.readyState === WebSocket.CONNECTING) ws.onopen = () => ws.close(1000, reason);
  else {
    ws.onopen = null;
    ws.close(1000, reason);
  }
}
