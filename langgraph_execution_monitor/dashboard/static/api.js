/*
 * The monitoring API client: relative URLs under API_BASE, the token in an
 * Authorization header, a 401 answered by asking for the token once.
 */

import { API_BASE } from './config.js';
import { askForToken, getToken, pendingPrompt, setToken, tokenDeclined } from './auth.js';
import { setBanner } from './dom.js';
import { qs } from './format.js';

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
  }
}

/** The URL of an API path ("logs", "stream", ...), relative to the page. */
export function apiUrl(path, params) {
  return `${API_BASE}/${path}${qs(params)}`;
}

/** GET (or POST) a JSON document from the API; on 401 ask for the token and retry. */
export async function api(path, params, { signal, method = 'GET' } = {}) {
  const url = apiUrl(path, params);
  for (;;) {
    // While the token dialog is up, don't send requests that are bound to fail.
    const waiting = pendingPrompt();
    if (waiting && !(await waiting)) throw new ApiError(401, 'authentication required');
    const token = getToken();
    const headers = { Accept: 'application/json' };
    if (token) headers.Authorization = `Bearer ${token}`;
    const res = await fetch(url, { method, headers, signal, cache: 'no-store', credentials: 'same-origin' });
    if (res.status === 401) {
      if (getToken() !== token) continue; // someone entered a new token meanwhile
      if (token) setToken('');
      // Cancelled once: fail quietly instead of reopening the dialog.
      if (!token && tokenDeclined()) throw new ApiError(401, 'authentication required');
      const ok = await askForToken({ refused: Boolean(token) });
      if (!ok) throw new ApiError(401, 'authentication required');
      continue;
    }
    if (!res.ok) {
      let message = res.statusText || 'error';
      try {
        const body = await res.json();
        if (body && body.detail !== undefined) {
          message = typeof body.detail === 'string' ? body.detail : JSON.stringify(body.detail);
        }
      } catch { /* not JSON */ }
      throw new ApiError(res.status, message);
    }
    setBanner('auth', null);
    return res.json();
  }
}

export function describeError(err) {
  if (err && err.status === 401) return 'Authentication required — enter the access token.';
  if (err && err.status) return `The API answered ${err.status}: ${err.message}`;
  return 'Could not reach the monitoring API. Is the server running?';
}
