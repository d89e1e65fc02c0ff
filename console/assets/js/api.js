// REST client. Public requests are plain fetches; private ones are signed
// in the browser exactly like gateway.Sign:
//   X-Sampan-Signature = hex(HMAC-SHA256(secret, timestamp + METHOD + path?query + body))
// The secret is imported into WebCrypto as a non-extractable key and never
// leaves this page's memory (no storage, no cookies).

/** An answer from the API that is not 2xx: {code, message, field?}. */
export class ApiError extends Error {
  constructor(status, body) {
    super(body && body.message ? body.message : `HTTP ${status}`);
    this.status = status;
    this.code = (body && body.code) || (status === 0 ? 'NETWORK' : 'HTTP_' + status);
    this.field = body && body.field;
  }
}

// Server clock offset (ms), learned from the Date header, so a browser
// whose clock is off by more than the 5 s receive window can still sign.
let clockOffset = 0;

function learnClock(res) {
  const d = res.headers.get('Date');
  if (!d) return;
  const server = Date.parse(d);
  if (!isFinite(server)) return;
  // Date has one-second resolution: only correct clear differences.
  const diff = server + 500 - Date.now();
  clockOffset = Math.abs(diff) > 2000 ? diff : 0;
}

async function parse(res, raw) {
  learnClock(res);
  const text = await res.text();
  if (raw && res.ok) return text;
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch { body = { message: text.slice(0, 200) }; }
  if (!res.ok) throw new ApiError(res.status, body);
  return body;
}

async function send(url, init, raw = false) {
  let res;
  try {
    res = await fetch(url, { ...init, cache: 'no-store', credentials: 'omit' });
  } catch (e) {
    throw new ApiError(0, { code: 'NETWORK', message: 'The API could not be reached: ' + e.message });
  }
  return parse(res, raw);
}

/** GET a public endpoint. */
export function get(pathQuery) {
  return send(pathQuery, { method: 'GET' });
}

const enc = new TextEncoder();

function hex(buf) {
  return Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Credentials for one API key, held in memory only. */
export class Credentials {
  /** @param {string} keyId @param {CryptoKey} key */
  constructor(keyId, key) {
    this.keyId = keyId;
    this.key = key;
    this.lastTs = 0;
  }

  static async create(keyId, secret) {
    if (!window.crypto || !crypto.subtle) {
      throw new ApiError(0, { code: 'NO_WEBCRYPTO', message: 'This browser context has no WebCrypto; open the console over HTTPS or on localhost.' });
    }
    const key = await crypto.subtle.importKey('raw', enc.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    return new Credentials(keyId, key);
  }

  /**
   * A fresh timestamp, strictly increasing: the server refuses a repeated
   * signature as a replay, and two identical requests in one millisecond
   * would otherwise sign the same.
   */
  stamp() {
    const ts = Math.max(Date.now() + clockOffset, this.lastTs + 1);
    this.lastTs = ts;
    return ts;
  }

  async sign(ts, method, pathQuery, body) {
    const mac = await crypto.subtle.sign('HMAC', this.key, enc.encode(String(ts) + method + pathQuery + body));
    return hex(mac);
  }

  /** A signed request; body is an object (sent as JSON) or undefined. */
  request(method, pathQuery, body) { return this.signed(method, pathQuery, body, false); }

  /**
   * A signed GET whose answer is text (a CSV export): a plain link cannot
   * carry the signature headers, so the console fetches and saves it.
   */
  requestText(pathQuery) { return this.signed('GET', pathQuery, undefined, true); }

  async signed(method, pathQuery, body, raw) {
    const text = body === undefined ? '' : JSON.stringify(body);
    const ts = this.stamp();
    const headers = {
      'X-Sampan-Key': this.keyId,
      'X-Sampan-Timestamp': String(ts),
      'X-Sampan-Signature': await this.sign(ts, method, pathQuery, text),
    };
    if (text) headers['Content-Type'] = 'application/json';
    return send(pathQuery, { method, headers, body: text || undefined }, raw);
  }
}
