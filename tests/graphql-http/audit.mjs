#!/usr/bin/env node
// GraphQL-over-HTTP conformance audit of a running Guichet server.
//
// Runs the audit suite of the `graphql-http` package (the reference implementation of the
// GraphQL over HTTP specification) against `${GUICHET_URL}/graphql`, prints every result and
// exits 1 when a MUST-level audit fails. Failed SHOULD audits are printed as warnings and failed
// MAY audits as notices; neither fails the run.
//
// Usage: GUICHET_URL=http://127.0.0.1:8080 node tests/graphql-http/audit.mjs [URL]
//
// The audits are the ones `auditServer` runs; they are taken from `serverAudits` and run one at
// a time so that a fatal error in one (a refused connection, a timeout) is reported as a failure
// of that audit instead of aborting the whole suite as `auditServer`'s Promise.all would.

import { serverAudits } from 'graphql-http';

const REQUEST_TIMEOUT_MS = 15_000;
const TOTAL_TIMEOUT_MS = 180_000;

const base = (process.argv[2] ?? process.env.GUICHET_URL ?? '').replace(/\/+$/, '');
if (!base) {
  console.error('graphql-http audit: set GUICHET_URL (e.g. http://127.0.0.1:8080) or pass a URL');
  process.exit(2);
}
const url = base.endsWith('/graphql') ? base : `${base}/graphql`;

// Every request gets its own deadline so that a hanging server fails the audit, not the run.
const fetchWithTimeout = (input, init = {}) =>
  fetch(input, { ...init, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });

const watchdog = setTimeout(() => {
  console.error(`graphql-http audit: gave up after ${TOTAL_TIMEOUT_MS / 1000} s`);
  process.exit(1);
}, TOTAL_TIMEOUT_MS);
watchdog.unref();

async function bodyExcerpt(response) {
  if (!response || typeof response.text !== 'function' || response.bodyUsed) return '';
  try {
    const text = await response.text();
    return text.length > 300 ? `${text.slice(0, 300)}…` : text;
  } catch {
    return '';
  }
}

console.log(`graphql-http audit of ${url}`);
const counts = { ok: 0, error: 0, warn: 0, notice: 0 };
for (const audit of serverAudits({ url, fetchFn: fetchWithTimeout })) {
  let result;
  try {
    result = await audit.fn();
  } catch (err) {
    // graphql-http treats anything but an assertion failure as fatal; count it against the
    // audit's own level.
    const level = audit.name.split(' ')[0];
    result = {
      id: audit.id,
      name: audit.name,
      status: level === 'MUST' ? 'error' : level === 'SHOULD' ? 'warn' : 'notice',
      reason: `fatal: ${err?.message ?? err}`,
    };
  }
  counts[result.status] += 1;
  const tag = { ok: 'ok     ', error: 'FAIL   ', warn: 'warning', notice: 'notice ' }[result.status];
  console.log(`${tag} [${result.id}] ${result.name}`);
  if (result.status !== 'ok') {
    const status = result.response ? ` (HTTP ${result.response.status})` : '';
    console.log(`        ${result.reason}${status}`);
    if (result.status === 'error') {
      const body = await bodyExcerpt(result.response);
      if (body) console.log(`        body: ${body}`);
    }
  } else if (result.response?.body && typeof result.response.body.cancel === 'function') {
    await result.response.body.cancel().catch(() => {});
  }
}

console.log(
  `graphql-http audit: ${counts.ok} ok, ${counts.error} MUST failed, ` +
    `${counts.warn} SHOULD warnings, ${counts.notice} MAY notices`,
);
clearTimeout(watchdog);
process.exit(counts.error > 0 ? 1 : 0);
