// The operator's session: an operator key (id + secret, memory only, like
// the trader's) and what the server says the key may do. The console asks
// GET /v1/admin/whoami for the role and its permitted actions and shows
// only those views and controls; the server checks every request again
// (gateway.Permissions), so this is presentation, not enforcement.

import { Credentials } from './api.js';

let current = null;
const changeHandlers = new Set();

/** The operator session, or null. */
export function operator() { return current; }

/** Called with the operator session (or null) whenever it changes. */
export function onOperatorChange(fn) {
  changeHandlers.add(fn);
  return () => changeHandlers.delete(fn);
}

class OperatorSession {
  constructor(creds, who) {
    this.creds = creds;
    this.keyId = who.key;
    this.role = who.role;
    this.operator = who.operator || ''; // governance operator id ('' when the key has none)
    this.actions = new Set(who.actions);
  }

  /** Whether the server's permission matrix grants this role action a. */
  can(a) { return this.actions.has(a); }

  /** A role whose only actions are reads (the auditor). */
  get readOnly() { return [...this.actions].every((a) => a.startsWith('view_')); }

  request(method, pathQuery, body) { return this.creds.request(method, pathQuery, body); }

  requestText(pathQuery) { return this.creds.requestText(pathQuery); }
}

/**
 * Log in: a signed GET /v1/admin/whoami checks the secret and tells the
 * console the role. A client key is refused there (403) with the API's
 * message.
 */
export async function operatorLogin(keyId, secret) {
  const creds = await Credentials.create(keyId, secret);
  const who = await creds.request('GET', '/v1/admin/whoami');
  current = new OperatorSession(creds, who);
  for (const fn of changeHandlers) fn(current);
  return current;
}

export function operatorLogout() {
  if (!current) return;
  current = null;
  for (const fn of changeHandlers) fn(null);
}
