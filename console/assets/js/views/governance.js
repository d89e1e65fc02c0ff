// Governance view (docs/governance.md): the maker-checker queue, parameter
// history with effective dates, emergency changes awaiting review,
// professional-investor classifications expiring soon, and the audit trail
// with the server's chain check (core/audit verification). Every
// operator role reads it; risk and compliance officers act on it, the
// auditor (and admin, who owns no parameter domain) only read.
//
// Approve and Reject are shown on every pending proposal, the operator's
// own included: the server refuses a maker deciding its own proposal
// (403 maker_cannot_approve_own_proposal) and the console shows that
// refusal as the server words it, rather than hiding the rule.

import { get } from '../api.js';
import { dateTimeOf, h, thead, timeOf } from '../format.js';
import { onOperatorChange, operator, operatorLogin } from '../operator.js';
import { operatorHead } from './risk.js';

export const id = 'governance';
export const title = 'Governance';

const POLL_MS = 3000;
const RECENT = 8; // decided proposals shown
const RENEWAL_DAYS = 60; // look-ahead of the renewals worklist
const AUDIT_ROWS = 25; // newest audit records shown
// Panels drawn only when the served OpenAPI document lists their endpoint,
// so a console in front of an older server shows no empty panel.
const HOOKS = { renewals: '/v1/admin/renewals', audit: '/v1/admin/audit' };
// Roles that may decide or propose something (the server's matrix decides
// per parameter domain); the others see the view read-only.
const ACTING = new Set(['risk_officer', 'compliance_officer', 'operations']);

export function available(ctx) { return ctx.markets.length > 0; }

export function mount(root, ctx) {
  let inner = null;
  const show = (o) => {
    if (inner) inner();
    inner = o ? mountGovernance(root, ctx, o) : mountLogin(root);
  };
  const stop = onOperatorChange(show);
  show(operator());
  return () => { stop(); if (inner) inner(); };
}

function mountLogin(root) {
  const err = h('div', { class: 'callout callout-error', id: 'op-login-error', hidden: true });
  const keyIn = h('input', { id: 'op-login-key', name: 'key', autocomplete: 'off', spellcheck: 'false', required: true });
  const secretIn = h('input', { id: 'op-login-secret', name: 'secret', type: 'password', autocomplete: 'off', required: true });
  const btn = h('button', { class: 'btn btn-primary', type: 'submit', id: 'op-login-submit' }, 'Log in');
  const form = h('form', { class: 'login-form', id: 'op-login-form', onsubmit: async (e) => {
    e.preventDefault();
    err.hidden = true;
    btn.disabled = true;
    try {
      await operatorLogin(keyIn.value.trim(), secretIn.value);
    } catch (ex) {
      err.hidden = false;
      err.replaceChildren(h('span', {}, ex.message, ex.code ? h('span', { class: 'code' }, ex.code) : null));
      btn.disabled = false;
    }
  } },
  h('label', { for: 'op-login-key' }, 'Operator key ID'), keyIn,
  h('label', { for: 'op-login-secret' }, 'Operator secret'), secretIn,
  btn, err);
  root.replaceChildren(h('div', { class: 'login-wrap' },
    h('section', { class: 'panel login' },
      h('header', { class: 'panel-head' }, h('h2', {}, 'Operator login')),
      h('div', { class: 'login-body' },
        h('p', { class: 'muted' }, 'Parameter governance: every operator role can read it; risk and compliance officers approve or reject someone else’s proposals. The secret stays in this tab’s memory and requests are signed in the browser.'),
        form))));
  keyIn.focus();
  return () => {};
}

const when = (ms) => (ms ? dateTimeOf(ms).replace(' UTC', ':' + timeOf(ms).slice(6) + ' UTC') : '—');

function inDelta(ms, now) {
  const d = Math.round((ms - now) / 1000);
  if (d <= 0) return 'due';
  if (d < 120) return `in ${d} s`;
  if (d < 7200) return `in ${Math.round(d / 60)} min`;
  return `in ${Math.round(d / 3600)} h`;
}

function changesText(changes) {
  if (!changes || !changes.length) return '—';
  return changes.map((c) => `${c.field} ${c.from ?? '∅'} → ${c.to ?? '∅'}`).join(', ');
}

// fieldsDiff compares two versions' fields (for the history table).
function fieldsDiff(prev, cur) {
  if (!prev) return [];
  const out = [];
  const names = new Set([...Object.keys(prev.value.fields), ...Object.keys(cur.value.fields)]);
  for (const n of [...names].sort()) {
    const a = prev.value.fields[n], b = cur.value.fields[n];
    if (a !== b) out.push({ field: n, from: a, to: b });
  }
  const pt = new Map((prev.value.tables || []).map((t) => [t.name, JSON.stringify(t.rows)]));
  for (const t of cur.value.tables || []) {
    if (pt.get(t.name) !== JSON.stringify(t.rows)) out.push({ field: t.name, from: '…', to: '…' });
  }
  return out;
}

function mountGovernance(root, ctx, o) {
  let alive = true, timer = 0;
  let set = 'market:' + ctx.markets[0].symbol;
  const readOnly = !ACTING.has(o.role);
  const state = h('span', { class: 'panel-note', id: 'gov-state' }, 'Loading…');
  const notice = h('div', { class: 'callout', id: 'gov-notice', role: 'alert', hidden: true });
  const openBody = h('tbody', { id: 'gov-open' });
  const recentBody = h('tbody', { id: 'gov-recent' });
  const emBody = h('tbody', { id: 'gov-emergencies' });
  const histBody = h('tbody', { id: 'gov-history' });
  const renewBody = h('tbody', { id: 'gov-renewals' });
  const auditBody = h('tbody', { id: 'gov-audit' });
  const chainNote = h('span', { class: 'panel-note', id: 'gov-chain' }, 'Checking…');
  const renewPanel = h('section', { class: 'panel', id: 'gov-renewals-panel', hidden: true },
    h('header', { class: 'panel-head' }, h('h2', {}, 'Professional-investor classifications expiring'),
      h('span', { class: 'panel-note' }, `Expired, or expiring within ${RENEWAL_DAYS} days; soonest first. Renew with fresh evidence before the date.`)),
    h('div', { class: 'scroll scroll-short' }, h('table', { class: 'tbl tbl-fit' },
      thead(['Client', 'Ref', 'Class', 'Evidence', 'Expires (UTC)', 'Days left', 'Status'], [5]),
      renewBody)));
  const auditPanel = h('section', { class: 'panel', id: 'gov-audit-panel', hidden: true },
    h('header', { class: 'panel-head' }, h('h2', {}, 'Audit trail'), chainNote),
    h('div', { class: 'scroll scroll-short' }, h('table', { class: 'tbl tbl-fit' },
      thead(['Seq', 'Time (UTC)', 'Kind', 'Hash'], [0]),
      auditBody)));
  let hooks = { renewals: false, audit: false };
  const setSel = h('select', { id: 'gov-set', class: 'gov-set', onchange: () => { set = setSel.value; poll(); } });

  root.replaceChildren(
    operatorHead(o, state, { name: o.operator || o.keyId, nameId: 'gov-operator', readOnly,
      readOnlyTitle: 'This role decides no parameter domain',
      extra: !o.operator ? h('span', { class: 'badge badge-warn', title: 'Governance actions need a key that names its operator' }, 'No operator id') : null }),
    notice,
    h('section', { class: 'panel' },
      h('header', { class: 'panel-head' }, h('h2', {}, 'Proposals awaiting a checker, and scheduled changes'),
        h('span', { class: 'panel-note' }, 'Maker-checker: a proposal takes effect only if an authorised operator other than its proposer approves it before its effective time.')),
      h('div', { class: 'scroll' }, h('table', { class: 'tbl tbl-fit' },
        thead(['#', 'Set', 'Change', 'Proposer', 'Note', 'Effective (UTC)', 'State', '']), openBody))),
    h('section', { class: 'panel' },
      h('header', { class: 'panel-head' }, h('h2', {}, 'Emergency changes awaiting review')),
      h('div', { class: 'scroll scroll-short' }, h('table', { class: 'tbl tbl-fit' },
        thead(['Set', 'Version', 'Applied (UTC)', 'By', 'Review due (UTC)', 'Status']), emBody))),
    h('section', { class: 'panel' },
      h('header', { class: 'panel-head' }, h('h2', {}, 'Parameter history'), setSel,
        h('span', { class: 'panel-note' }, 'Each version with the instant it took effect; newest first.')),
      h('div', { class: 'scroll scroll-short' }, h('table', { class: 'tbl tbl-fit' },
        thead(['Version', 'Effective (UTC)', 'Origin', 'Proposer', 'Approver / reviewer', 'Change']), histBody))),
    h('div', { class: 'gov-pair' }, renewPanel, auditPanel),
    h('section', { class: 'panel' },
      h('header', { class: 'panel-head' }, h('h2', {}, 'Recently decided')),
      h('div', { class: 'scroll scroll-short' }, h('table', { class: 'tbl tbl-fit' },
        thead(['#', 'Set', 'Change', 'Proposer', 'Decided by', 'Decided (UTC)', 'State']), recentBody))));

  function say(kind, text, code) {
    notice.hidden = false;
    notice.className = `callout callout-${kind}`;
    notice.replaceChildren(h('span', {}, text), ...(code ? [h('span', { class: 'code' }, code)] : [])); // replaceChildren would print a null
  }

  async function act(p, verb) {
    let body;
    if (verb === 'reject') {
      const note = window.prompt(`Reject proposal #${p.id}: why?`);
      if (note === null) return;
      body = { note };
    }
    try {
      const r = await o.request('POST', `/v1/admin/proposals/${p.id}/${verb}`, body);
      say('ok', `Proposal #${p.id} ${verb === 'approve' ? 'approved' : verb + 'ed'}: now ${r.state}${r.state === 'scheduled' ? `, effective ${when(r.effective_at)}` : ''}.`);
      ctx.toast(`Proposal #${p.id}: ${r.state}`, 'ok');
    } catch (e) {
      say('error', `Proposal #${p.id}: ${e.message}`, e.code);
    }
    poll();
  }

  function renderOpen(list, now) {
    if (!list.length) {
      openBody.replaceChildren(h('tr', {}, h('td', { colspan: 8, class: 'muted' }, 'No open proposals.')));
      return;
    }
    openBody.replaceChildren(...list.map((p) => {
      const mine = o.operator && p.proposer === o.operator;
      const buttons = p.state === 'pending' && !readOnly ? [
        h('button', { class: 'btn btn-small btn-primary gov-approve', dataset: { id: String(p.id) }, onclick: () => act(p, 'approve') }, 'Approve'),
        ' ',
        h('button', { class: 'btn btn-small gov-reject', dataset: { id: String(p.id) }, onclick: () => act(p, 'reject') }, 'Reject'),
        mine ? ' ' : null,
        mine ? h('button', { class: 'btn btn-small btn-ghost gov-withdraw', onclick: () => act(p, 'withdraw') }, 'Withdraw') : null,
      ] : [];
      return h('tr', { dataset: { id: String(p.id), state: p.state } },
        h('td', { class: 'num' }, String(p.id)),
        h('td', { class: 'mono' }, p.set),
        h('td', { class: 'mono' }, changesText(p.changes)),
        h('td', {}, p.proposer, mine ? h('span', { class: 'muted' }, ' (you)') : null),
        h('td', { class: 'muted gov-note', title: p.note || null }, p.note || ''),
        h('td', {}, when(p.effective_at), h('div', { class: 'muted' }, inDelta(p.effective_at, now))),
        h('td', {}, h('span', { class: `badge ${p.state === 'scheduled' ? 'badge-ok' : 'badge-warn'}` }, p.state === 'pending' ? 'needs checker' : p.state)),
        h('td', { class: 'gov-actions' }, buttons));
    }));
  }

  function renderRecent(list) {
    const done = list.filter((p) => p.state !== 'pending' && p.state !== 'scheduled').slice(0, RECENT);
    recentBody.replaceChildren(...(done.length ? done.map((p) => h('tr', { dataset: { id: String(p.id), state: p.state } },
      h('td', { class: 'num' }, String(p.id)), h('td', { class: 'mono' }, p.set), h('td', { class: 'mono' }, changesText(p.changes)),
      h('td', {}, p.proposer), h('td', {}, p.decider || '—'), h('td', {}, when(p.decided_at)), h('td', {}, p.state))) : [h('tr', {}, h('td', { colspan: 7, class: 'muted' }, 'Nothing decided yet.'))]));
  }

  function renderEmergencies(list, now) {
    emBody.replaceChildren(...(list.length ? list.map((v) => h('tr', { class: v.overdue ? 'down' : null, dataset: { set: v.set, version: String(v.version) } },
      h('td', { class: 'mono' }, v.set), h('td', { class: 'num' }, String(v.version)), h('td', {}, when(v.effective_at)), h('td', {}, v.proposer),
      h('td', {}, when(v.review_due)),
      h('td', {}, v.overdue ? h('span', { class: 'flag flag-danger' }, 'Review overdue') : `due ${inDelta(v.review_due, now)}`))) :
      [h('tr', {}, h('td', { colspan: 6, class: 'muted' }, 'No emergency change awaits review.'))]));
  }

  function renderHistory(versions) {
    const asc = [...versions].reverse();
    histBody.replaceChildren(...versions.map((v) => {
      const prev = asc[asc.indexOf(v) - 1];
      return h('tr', { dataset: { version: String(v.version) } },
        h('td', { class: 'num' }, String(v.version)), h('td', {}, v.origin === 'genesis' && !v.effective_at ? 'engine start' : when(v.effective_at)), h('td', {}, v.origin),
        h('td', {}, v.proposer || '—'), h('td', {}, v.approver || v.reviewer || '—'),
        h('td', { class: 'mono' }, v.origin === 'genesis' ? 'initial configuration' : changesText(fieldsDiff(prev, v))));
    }));
  }

  function renderRenewals(r) {
    const list = r.clients || [];
    renewBody.replaceChildren(...(list.length ? list.map((c) => {
      const expired = c.status === 'expired';
      const soon = !expired && c.days_left <= 14;
      return h('tr', { dataset: { client: c.client_id, status: c.status } },
        h('td', { class: 'num' }, c.client_id), h('td', {}, c.ref || '—'), h('td', {}, c.class),
        h('td', {}, c.evidence_date), h('td', {}, c.expires_at.replace('T', ' ').replace(/:\d\d(\.\d+)?Z$/, '')),
        h('td', { class: 'num' }, String(c.days_left)),
        h('td', {}, expired ? h('span', { class: 'flag flag-danger' }, 'Expired') :
          h('span', { class: soon ? 'flag flag-watch' : 'muted' }, soon ? 'Expiring soon' : 'Expiring')));
    }) : [h('tr', {}, h('td', { colspan: 7, class: 'muted' }, `No classification expires within ${r.within_days ?? RENEWAL_DAYS} days.`))]));
  }

  function renderAudit(a) {
    const c = a.chain;
    chainNote.className = `panel-note chain ${c.ok ? 'chain-ok' : 'chain-bad'}`;
    chainNote.dataset.ok = String(c.ok);
    chainNote.textContent = c.ok ?
      (c.checked ? `Chain verified: records ${c.from}–${c.head_seq} (${c.checked}), head ${c.head.slice(0, 12)}…` : 'Chain verified: no records yet') :
      `Chain check failed: ${c.error}`;
    chainNote.title = c.ok && c.checked ? `Head ${c.head}\nAnchor ${c.anchor}` : '';
    const rows = a.records.slice(-AUDIT_ROWS).reverse();
    auditBody.replaceChildren(...(rows.length ? rows.map((r) => h('tr', { dataset: { seq: String(r.seq) } },
      h('td', { class: 'num' }, String(r.seq)),
      h('td', {}, `${dateTimeOf(r.time / 1e6).slice(0, 10)} ${timeOf(r.time / 1e6)}`),
      h('td', { class: 'mono' }, r.kind.replace(/^engine\./, '')),
      h('td', { class: 'mono', title: `hash ${r.hash}\nprev ${r.prev}` }, r.hash.slice(0, 16) + '…'))) :
      [h('tr', {}, h('td', { colspan: 4, class: 'muted' }, 'No records yet.'))]));
  }

  // The optional panels: each its own request, so one the role may not
  // read says so in its panel without stopping the others.
  async function pollExtras() {
    const jobs = [];
    if (hooks.renewals) jobs.push(o.request('GET', `${HOOKS.renewals}?within_days=${RENEWAL_DAYS}`).then(renderRenewals, (e) => {
      renewBody.replaceChildren(h('tr', {}, h('td', { colspan: 7, class: 'muted' }, `Not available: ${e.message}`)));
    }));
    if (hooks.audit) jobs.push(o.request('GET', `${HOOKS.audit}?limit=${AUDIT_ROWS}`).then(renderAudit, (e) => {
      chainNote.className = 'panel-note chain chain-bad';
      chainNote.textContent = `Not available: ${e.message}`;
    }));
    await Promise.all(jobs);
  }

  async function poll() {
    clearTimeout(timer);
    try {
      const [open, all, em, params, hist] = await Promise.all([
        o.request('GET', '/v1/admin/proposals'),
        o.request('GET', '/v1/admin/proposals?state=all'),
        o.request('GET', '/v1/admin/emergency/unreviewed'),
        o.request('GET', '/v1/admin/parameters'),
        o.request('GET', `/v1/admin/parameters/${encodeURIComponent(set)}/history`),
      ]);
      if (!alive) return;
      const now = params.engine_time || Date.now();
      if (setSel.options.length !== params.sets.length) {
        setSel.replaceChildren(...params.sets.map((s) => h('option', { value: s.set, selected: s.set === set }, s.set)));
      }
      renderOpen(open.proposals, now);
      renderRecent(all.proposals);
      renderEmergencies(em.emergencies, now);
      renderHistory(hist.versions);
      await pollExtras();
      if (!alive) return;
      state.textContent = `As of ${timeOf(now)} UTC (engine) · refreshed every ${POLL_MS / 1000} s`;
    } catch (e) {
      if (!alive) return;
      state.textContent = `Not updated: ${e.message}`;
    }
    if (alive) timer = setTimeout(poll, POLL_MS);
  }
  get('/v1/openapi.json').then((doc) => {
    const has = (p) => Boolean(doc.paths && doc.paths[p] && doc.paths[p].get);
    hooks = { renewals: has(HOOKS.renewals), audit: has(HOOKS.audit) };
    renewPanel.hidden = !hooks.renewals;
    auditPanel.hidden = !hooks.audit;
  }, () => {}).finally(() => { if (alive) poll(); });
  return () => { alive = false; clearTimeout(timer); };
}
