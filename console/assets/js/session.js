// The trader's session: API credentials (memory only), the signed REST
// client and a private WebSocket (logged in, subscribed to orders, fills,
// positions and balances). Logging out, closing or reloading the tab
// forgets the secret.

import { Credentials } from './api.js';
import { Stream } from './ws.js';

let current = null;
const changeHandlers = new Set();

export function session() { return current; }

/** Called with the session (or null) whenever it changes. */
export function onSessionChange(fn) {
  changeHandlers.add(fn);
  return () => changeHandlers.delete(fn);
}

// One request per channel: a channel this API version lacks is refused
// alone instead of failing the rest.
const PRIVATE = ['orders', 'fills', 'positions', 'balances', 'funding_payments'];

class Session {
  constructor(creds, account) {
    this.creds = creds;
    this.account = account;
    this.handlers = new Set();
    this.state = 'connecting';
    this.stream = new Stream({
      onOpen: async (s) => {
        const ts = String(creds.stamp());
        const signature = await creds.sign(ts, 'LOGIN', '/v1/ws', '');
        await s.request('login', { args: { key: creds.keyId, timestamp: ts, signature } });
        await Promise.all(PRIVATE.map((ch) => s.subscribe([ch]).catch((e) => {
          if (e.code === 'DISCONNECTED') throw e;
        })));
        this.emit({ channel: '_connected' });
      },
      onMessage: (m) => this.emit(m),
      onState: (st, detail) => { this.state = st; this.emit({ channel: '_state', data: { state: st, detail } }); },
    });
  }

  emit(m) { for (const fn of this.handlers) fn(m); }

  /** Receive private stream messages; returns an unsubscribe function. */
  listen(fn) {
    this.handlers.add(fn);
    return () => this.handlers.delete(fn);
  }

  request(method, pathQuery, body) { return this.creds.request(method, pathQuery, body); }

  close() {
    this.stream.close();
    this.handlers.clear();
  }
}

/**
 * Log in: check the key by reading the account (a signed request), then
 * open the private stream.
 */
export async function login(keyId, secret) {
  const creds = await Credentials.create(keyId, secret);
  const account = await creds.request('GET', '/v1/account');
  logout();
  current = new Session(creds, account);
  for (const fn of changeHandlers) fn(current);
  return current;
}

export function logout() {
  if (!current) return;
  current.close();
  current = null;
  for (const fn of changeHandlers) fn(null);
}
