// The API client: the token of this tab, JSON calls in the envelope, errors in words.

const TOKEN_KEY = 'inboxd.token';

export const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY),
  set: (value) => sessionStorage.setItem(TOKEN_KEY, value),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

/** An answer that was not a success: the status, the envelope's one-line message and its list of problems. */
export class ApiError extends Error {
  constructor(status, message, problems) {
    super(message);
    this.status = status;
    this.problems = problems;
  }

  /** What to tell the person, in words. */
  get explanation() {
    switch (this.status) {
      case 401: return 'The token was not accepted (missing, unknown or revoked). Sign in again.';
      case 403: return 'This needs an admin token; yours is an agent’s.';
      case 404: return 'Not found: it may have been deleted.';
      case 413: return 'That is too much to send at once.';
      case 429: return 'Too many requests: wait a moment and try again.';
      case 0: return 'The server could not be reached.';
      default: return this.status >= 500 ? 'The server failed; its log says why.' : `The server refused: ${this.message}.`;
    }
  }
}

let onUnauthorized = () => {};
export const whenUnauthorized = (fn) => { onUnauthorized = fn; };

async function send(method, path, body) {
  const headers = { Authorization: `Bearer ${token.get() ?? ''}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    throw new ApiError(0, 'network error', [String(e.message ?? e)]);
  }
  if (!response.ok) {
    let envelope = null;
    try { envelope = await response.json(); } catch { /* not JSON: keep the status alone */ }
    const problems = Array.isArray(envelope?.data) ? envelope.data.map(String) : [];
    const error = new ApiError(response.status, envelope?.message ?? response.statusText, problems);
    if (response.status === 401) onUnauthorized(error);
    throw error;
  }
  return response;
}

/** A JSON call: resolves to the envelope ({data, meta}). */
export async function call(method, path, body) {
  const response = await send(method, path, body);
  return response.json();
}

export const api = {
  query: (body) => call('POST', '/inbox/users', body),
  user: (id) => call('GET', `/inbox/users/${id}`),
  updateUser: (id, change) => call('PUT', `/inbox/users/${id}`, change),
  setStatus: (ids, status) => call('PUT', '/inbox/users/status-update', { ids, status }),
  bots: () => call('GET', '/inbox/bots'),
  agents: () => call('GET', '/inbox/agents'),
  segments: () => call('GET', '/inbox/segments'),
  createSegment: (definition) => call('POST', '/inbox/segments', definition),
  deleteSegment: (id) => call('DELETE', `/inbox/segments/${id}`),

  /** The CSV of everything the query matches (admin), as a Blob. */
  async exportCsv(body) {
    const response = await send('POST', '/inbox/users', { ...body, isExport: 'csv' });
    return response.blob();
  },

  /** 'admin' or 'agent': what the token may do (GET /inbox/me). */
  async role() {
    const me = await call('GET', '/inbox/me');
    return me.data.role;
  },
};

/** Every id the query matches, read 500 at a time (the largest page), for actions on "all matching". */
export async function allMatchingUsers(body, onProgress = () => {}) {
  const users = [];
  const { page: _page, limit: _limit, ...filter } = body;
  for (let page = 1; ; page += 1) {
    const { data, meta } = await api.query({ ...filter, page, limit: 500 });
    users.push(...data);
    onProgress(users.length, meta.total);
    if (data.length === 0 || users.length >= meta.total) break;
  }
  return users;
}

/** Runs fn over items, a few at a time; resolves to the errors by item (an empty list when all worked). */
export async function eachInParallel(items, fn, onProgress = () => {}, width = 6) {
  const failures = [];
  let next = 0;
  let done = 0;
  async function worker() {
    while (next < items.length) {
      const item = items[next++];
      try {
        await fn(item);
      } catch (e) {
        failures.push({ item, error: e });
      }
      onProgress(++done, items.length);
    }
  }
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
  return failures;
}
