/*
 * The listing's filters: their defaults, how they live in the page's URL, and
 * whether a row arriving live belongs to the listing they describe.
 * Pure (no DOM): tests/js/filters.test.mjs runs it under `node --test`.
 */

import { parseTime } from './format.js';

export const STATUSES = Object.freeze(['running', 'completed', 'failed', 'partial', 'interrupted']);
export const HOURS = Object.freeze([1, 6, 24, 72, 168]);
export const MAX_HOURS = 168;
export const MAX_LIMIT = 200;
export const TEXT_FILTERS = Object.freeze(['user_id', 'conversation_id', 'q']);
export const DEFAULTS = Object.freeze({
  status: '', user_id: '', conversation_id: '', hours: 24, q: '', offset: 0, limit: 50,
});

function intParam(p, key, lo, hi, fallback) {
  const v = parseInt(p.get(key) || '', 10);
  return Number.isInteger(v) && v >= lo && v <= hi ? v : fallback;
}

/** Filters and the open execution from a query string; bad values fall back to defaults. */
export function parseSearch(search) {
  const p = new URLSearchParams(search);
  const status = p.get('status') || '';
  const filters = {
    ...DEFAULTS,
    status: STATUSES.includes(status) ? status : '',
    hours: intParam(p, 'hours', 1, MAX_HOURS, DEFAULTS.hours),
    limit: intParam(p, 'limit', 1, MAX_LIMIT, DEFAULTS.limit),
    offset: intParam(p, 'offset', 0, Number.MAX_SAFE_INTEGER, 0),
  };
  for (const k of TEXT_FILTERS) filters[k] = (p.get(k) || '').trim();
  return { filters, exec: p.get('exec') || null };
}

/** The query string for filters and an open execution (defaults left out). */
export function toSearch(filters, exec) {
  const p = new URLSearchParams();
  if (filters.status) p.set('status', filters.status);
  for (const k of TEXT_FILTERS) if (filters[k]) p.set(k, filters[k]);
  if (filters.hours !== DEFAULTS.hours) p.set('hours', String(filters.hours));
  if (filters.limit !== DEFAULTS.limit) p.set('limit', String(filters.limit));
  if (filters.offset) p.set('offset', String(filters.offset));
  if (exec) p.set('exec', exec);
  const s = p.toString();
  return s ? `?${s}` : '';
}

export function sameFilters(a, b) {
  return Object.keys(DEFAULTS).every((k) => a[k] === b[k]);
}

/** Whether a row from the live stream belongs to the listing these filters show. */
export function matchesFilters(row, f, now = Date.now()) {
  if (f.status && row.status !== f.status) return false;
  if (f.user_id && String(row.user_id) !== f.user_id) return false;
  if (f.conversation_id && String(row.conversation_id ?? '') !== f.conversation_id) return false;
  const started = parseTime(row.started_at);
  if (started !== null && started < now - f.hours * 3600 * 1000) return false;
  if (f.q) {
    const needle = f.q.toLowerCase();
    const hay = `${row.request_message ?? ''}\n${row.response_message ?? ''}`.toLowerCase();
    if (!hay.includes(needle)) return false;
  }
  return true;
}
