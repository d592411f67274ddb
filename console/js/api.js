// api.js -- the console's only way to the server: the API under /v1 with
// the key signed in with (kept for this tab only), errors as thrown
// ApiError with the server's code, and a 401 signing out.

const KEY = 'tailor.key';

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.code = (body && body.code) || 'http';
    this.body = body || {};
  }
}

export const session = {
  get key() { return sessionStorage.getItem(KEY); },
  set(key, me) { sessionStorage.setItem(KEY, key); sessionStorage.setItem(KEY + '.me', JSON.stringify(me)); },
  get me() { try { return JSON.parse(sessionStorage.getItem(KEY + '.me')); } catch { return null; } },
  clear() { sessionStorage.removeItem(KEY); sessionStorage.removeItem(KEY + '.me'); },
};

let onUnauthorized = () => {};
export function whenUnauthorized(fn) { onUnauthorized = fn; }

export async function api(method, path, body, key = session.key) {
  const headers = { Authorization: `Bearer ${key}` };
  const init = { method, headers };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
  }
  const r = await fetch(path, init);
  const text = await r.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = { message: text }; }
  if (!r.ok) {
    if (r.status === 401 && key === session.key) onUnauthorized();
    throw new ApiError(r.status, data);
  }
  return data;
}

export const get = (path) => api('GET', path);
export const post = (path, body) => api('POST', path, body === undefined ? {} : body);
