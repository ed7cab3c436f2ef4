// GraphQL over HTTP (same origin, session cookie). Every failure becomes an `ApiError`
// with a `code` (the server's `extensions.code`, or NETWORK / HTTP for transport trouble),
// an optional `field` and a French `message` fit to show to the user.

export const UNAVAILABLE = 'Le service est momentanément indisponible. Réessayez.';
export const RATE_LIMITED = 'Trop de demandes. Patientez quelques minutes avant de réessayer.';

// Codes whose server message is meant for the user as it is.
const SHOWN_AS_IS = new Set(['VALIDATION', 'NOT_FOUND', 'UNAUTHENTICATED', 'FORBIDDEN', 'CONFLICT']);

export class ApiError extends Error {
  constructor(message, { code = 'INTERNAL', field = null, status = 0, errors = [], data = null } = {}) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.field = field;
    this.status = status;
    this.errors = errors;
    this.data = data;
  }
}

function fromGraphqlError(e, status, data, all) {
  const ext = (e && e.extensions) || {};
  const code = typeof ext.code === 'string' ? ext.code : 'GRAPHQL';
  let message;
  if (code === 'RATE_LIMITED') message = RATE_LIMITED;
  else if (SHOWN_AS_IS.has(code) && e.message) message = e.message;
  else message = UNAVAILABLE;
  return new ApiError(message, { code, field: ext.field ?? null, status, errors: all, data });
}

/**
 * Runs one GraphQL operation and resolves with its `data`.
 * Rejects with an ApiError (or an AbortError when `signal` aborts).
 */
export async function graphql(query, variables = {}, { signal } = {}) {
  let response;
  try {
    response = await fetch('/graphql', {
      method: 'POST',
      credentials: 'same-origin',
      headers: {
        'Content-Type': 'application/json',
        Accept: 'application/graphql-response+json, application/json',
      },
      body: JSON.stringify({ query, variables }),
      signal,
    });
  } catch (err) {
    if (err && err.name === 'AbortError') throw err;
    throw new ApiError(UNAVAILABLE, { code: 'NETWORK' });
  }

  let body = null;
  try {
    body = await response.json();
  } catch (err) {
    if (err && err.name === 'AbortError') throw err;
  }

  const errors = body && Array.isArray(body.errors) ? body.errors : [];
  if (errors.length > 0) {
    const unexpected = errors.filter((e) => !SHOWN_AS_IS.has(e?.extensions?.code) && e?.extensions?.code !== 'RATE_LIMITED');
    if (unexpected.length) console.error('GraphQL errors', unexpected);
    throw fromGraphqlError(errors[0], response.status, body.data ?? null, errors);
  }
  if (response.status === 429) {
    throw new ApiError(RATE_LIMITED, { code: 'RATE_LIMITED', status: 429 });
  }
  if (!response.ok || !body || typeof body.data !== 'object' || body.data === null) {
    throw new ApiError(UNAVAILABLE, { code: 'HTTP', status: response.status });
  }
  return body.data;
}

/** True for an error caused by aborting a request on purpose. */
export function isAbort(err) {
  return !!err && err.name === 'AbortError';
}
