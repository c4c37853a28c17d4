/*
 * The listing's filters: their defaults, how they live in the page's URL, the
 * API parameters they make, how they read as a line of text, and whether a
 * row arriving live belongs to the listing they describe.
 * Pure (no DOM): tests/js/listing.test.mjs and filters.test.mjs run it under
 * `node --test`.
 *
 * Time: a preset of the last N hours (`hours`, the API's own, up to 168), a
 * longer preset (`range`: 30d, all), or a custom window (`since` / `until`,
 * ISO-8601 in UTC, either end open). The user: one id (`user_id`), or every
 * id starting with a prefix (`user_id_prefix`, typed as `ali*`).
 */

import { parseTime } from './format.js';

export const STATUSES = Object.freeze(['running', 'completed', 'failed', 'partial', 'interrupted']);
export const HOURS = Object.freeze([1, 6, 24, 72, 168]);
export const RANGES = Object.freeze(['30d', 'all']);
export const MAX_HOURS = 168;
export const MAX_LIMIT = 200;
// "All the data holds": a start before any run (the API's windows have no lower limit).
export const ALL_SINCE = '1970-01-01T00:00:00.000Z';
// What the API's search covers (limits.py SEARCH_PREFIX_CHARS): the page's own
// matching of live rows and its help text say the same.
export const SEARCH_PREFIX_CHARS = 1000;
export const SEARCH_HELP = 'Searches the execution, conversation and user ids and the first '
  + `${SEARCH_PREFIX_CHARS.toLocaleString('en-US')} characters of the request, the response, `
  + "the error summary and the failed nodes' names (case-blind).";
export const TEXT_FILTERS = Object.freeze(['user_id', 'user_id_prefix', 'conversation_id', 'q']);
export const DEFAULTS = Object.freeze({
  status: '', user_id: '', user_id_prefix: '', conversation_id: '', hours: 24, range: '',
  since: '', until: '', q: '', offset: 0, limit: 50,
});
const DAY_MS = 86400 * 1000;

function intParam(p, key, lo, hi, fallback) {
  const v = parseInt(p.get(key) || '', 10);
  return Number.isInteger(v) && v >= lo && v <= hi ? v : fallback;
}

/**
 * An ISO-8601 instant in UTC ("" when the text is not a date and time). Text
 * without a zone is UTC, as the API takes it, or local time with `local` (a
 * datetime-local input's value).
 */
export function isoInstant(text, { local = false } = {}) {
  if (!text || !/^\d{4}-\d\d-\d\d[T ]\d\d:\d\d/.test(text)) return '';
  let s = String(text).replace(' ', 'T');
  if (!local && !/(Z|[+-]\d\d:?\d\d)$/i.test(s)) s += 'Z';
  const t = Date.parse(s);
  return Number.isFinite(t) ? new Date(t).toISOString() : '';
}

/** Filters and the open execution from a query string; bad values fall back to defaults. */
export function parseSearch(search) {
  const p = new URLSearchParams(search);
  const status = p.get('status') || '';
  const range = p.get('range') || '';
  const filters = {
    ...DEFAULTS,
    status: STATUSES.includes(status) ? status : '',
    hours: intParam(p, 'hours', 1, MAX_HOURS, DEFAULTS.hours),
    range: RANGES.includes(range) ? range : '',
    limit: intParam(p, 'limit', 1, MAX_LIMIT, DEFAULTS.limit),
    offset: intParam(p, 'offset', 0, Number.MAX_SAFE_INTEGER, 0),
  };
  for (const k of TEXT_FILTERS) filters[k] = (p.get(k) || '').trim();
  if (filters.user_id) filters.user_id_prefix = '';
  const since = isoInstant(p.get('since'));
  const until = isoInstant(p.get('until'));
  if ((since || until) && !(since && until && since >= until)) {
    Object.assign(filters, { since, until, range: '', hours: DEFAULTS.hours });
  }
  if (filters.range) filters.hours = DEFAULTS.hours;
  return { filters, exec: p.get('exec') || null };
}

/** The query string for filters and an open execution (defaults left out). */
export function toSearch(filters, exec) {
  const p = new URLSearchParams();
  if (filters.status) p.set('status', filters.status);
  for (const k of TEXT_FILTERS) if (filters[k]) p.set(k, filters[k]);
  if (isCustom(filters)) {
    if (filters.since) p.set('since', filters.since);
    if (filters.until) p.set('until', filters.until);
  } else if (filters.range) {
    p.set('range', filters.range);
  } else if (filters.hours !== DEFAULTS.hours) {
    p.set('hours', String(filters.hours));
  }
  if (filters.limit !== DEFAULTS.limit) p.set('limit', String(filters.limit));
  if (filters.offset) p.set('offset', String(filters.offset));
  if (exec) p.set('exec', exec);
  const s = p.toString();
  return s ? `?${s}` : '';
}

export function sameFilters(a, b) {
  return Object.keys(DEFAULTS).every((k) => a[k] === b[k]);
}

/** Whether two filters select the same runs (the page and its size aside). */
export function sameSelection(a, b) {
  return Object.keys(DEFAULTS).every((k) => k === 'offset' || k === 'limit' || a[k] === b[k]);
}

export function isCustom(f) {
  return Boolean(f.since || f.until);
}

/** The time window as the API takes it: `hours`, or `since` and/or `until`. */
export function windowParams(f, now = Date.now()) {
  if (isCustom(f)) return { since: f.since || null, until: f.until || null };
  if (f.range === 'all') return { since: ALL_SINCE };
  if (f.range === '30d') return { since: new Date(now - 30 * DAY_MS).toISOString() };
  return { hours: f.hours };
}

/** The user filter as the API takes it (one id, or a prefix). */
export function userParams(f) {
  return f.user_id ? { user_id: f.user_id } : { user_id_prefix: f.user_id_prefix || null };
}

/** Everything the listing filters on (the page aside), as API parameters. */
export function filterParams(f, now = Date.now()) {
  return {
    ...windowParams(f, now), ...userParams(f),
    status: f.status, conversation_id: f.conversation_id, q: f.q,
  };
}

/** The user filter as typed: an id, or `prefix*`. */
export function userText(f) {
  return f.user_id || (f.user_id_prefix ? `${f.user_id_prefix}*` : '');
}

/** The filters for a typed user: a trailing `*` makes it a prefix. */
export function parseUserText(text) {
  const t = String(text || '').trim();
  if (t.endsWith('*')) return { user_id: '', user_id_prefix: t.replace(/\*+$/, '') };
  return { user_id: t, user_id_prefix: '' };
}

function two(n) { return String(n).padStart(2, '0'); }

/** An instant as the page shows a window's end: local date and minute. */
export function localMinute(iso) {
  const t = parseTime(iso);
  if (t === null) return '';
  const d = new Date(t);
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}`;
}

/** The window in words: "last 24 h", "last 30 days", "all time", "from … to …". */
export function windowLabel(f) {
  if (isCustom(f)) {
    if (f.since && f.until) return `${localMinute(f.since)} – ${localMinute(f.until)}`;
    if (f.since) return `since ${localMinute(f.since)}`;
    return `before ${localMinute(f.until)}`;
  }
  if (f.range === 'all') return 'all time';
  if (f.range === '30d') return 'last 30 days';
  if (f.hours === 1) return 'last hour';
  if (f.hours % 24 === 0 && f.hours > 24) return `last ${f.hours / 24} days`;
  return `last ${f.hours} h`;
}

/** The filters in effect, as one line: "failed · user ali* · “NoneType” · last 24 h". */
export function describeFilters(f) {
  const parts = [];
  if (f.status) parts.push(f.status);
  if (f.user_id) parts.push(`user ${f.user_id}`);
  else if (f.user_id_prefix) parts.push(`user ${f.user_id_prefix}*`);
  if (f.conversation_id) parts.push(`conversation ${f.conversation_id}`);
  if (f.q) parts.push(`“${f.q}”`);
  parts.push(windowLabel(f));
  return parts.join(' · ');
}

/** The text the API's search reads (execution_search_text_v2), for a listing row. */
export function searchText(row) {
  const head = (v) => (v === null || v === undefined ? '' : String(v).slice(0, SEARCH_PREFIX_CHARS));
  const nodes = Array.isArray(row.failed_nodes)
    ? `[${row.failed_nodes.map((n) => JSON.stringify(String(n))).join(', ')}]` : '';
  return [row.id, row.conversation_id, row.user_id].map((v) => v ?? '').join('\n')
    + '\n' + [row.request_message, row.response_message, row.error_summary].map(head).join('\n')
    + '\n' + head(nodes);
}

/** Whether a row from the live stream belongs to the listing these filters show. */
export function matchesFilters(row, f, now = Date.now()) {
  if (f.status && row.status !== f.status) return false;
  if (f.user_id && String(row.user_id) !== f.user_id) return false;
  if (!f.user_id && f.user_id_prefix && !String(row.user_id ?? '').startsWith(f.user_id_prefix)) return false;
  if (f.conversation_id && String(row.conversation_id ?? '') !== f.conversation_id) return false;
  const started = parseTime(row.started_at);
  if (started !== null) {
    const w = windowParams(f, now);
    const since = w.hours ? now - w.hours * 3600 * 1000 : parseTime(w.since);
    const until = parseTime(w.until);
    if (since !== null && started < since) return false;
    if (until !== null && started >= until) return false;
  }
  if (f.q && !searchText(row).toLowerCase().includes(f.q.toLowerCase())) return false;
  return true;
}
