/*
 * Formatting of the values the API returns: durations, counts, times, ids.
 * Pure functions (no DOM), so Node's test runner can load this module.
 */

export function parseTime(iso) {
  if (iso === null || iso === undefined || iso === '') return null;
  const t = typeof iso === 'number' ? iso : Date.parse(iso);
  return Number.isFinite(t) ? t : null;
}

export function num(v) {
  const n = typeof v === 'string' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) ? n : null;
}

export function fmtMs(ms) {
  const v = num(ms);
  if (v === null) return '—';
  // Node runs often take well under a millisecond: "0 ms" would hide them.
  if (v > 0 && v < 0.1) return '<0.1 ms';
  if (v < 10 && !Number.isInteger(v)) return `${v.toFixed(1)} ms`;
  if (v < 1000) return `${Math.round(v)} ms`;
  if (v < 10000) return `${(v / 1000).toFixed(2)} s`;
  if (v < 60000) return `${(v / 1000).toFixed(1)} s`;
  const m = Math.floor(v / 60000);
  const s = Math.floor((v % 60000) / 1000);
  if (m < 60) return `${m}m ${String(s).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}

export function fmtCount(n) {
  const v = num(n);
  return v === null ? '–' : v.toLocaleString();
}

export function fmtPercent(n) {
  const v = num(n);
  return v === null ? '–' : `${v.toFixed(1)}%`;
}

export function fmtTime(iso, now = new Date()) {
  const t = parseTime(iso);
  if (t === null) return '—';
  const d = new Date(t);
  const time = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  if (d.toDateString() === now.toDateString()) return time;
  return `${d.toLocaleDateString([], { month: 'short', day: 'numeric' })} ${time}`;
}

export function fullTime(iso) {
  const t = parseTime(iso);
  return t === null ? '' : `${new Date(t).toLocaleString()} (${iso})`;
}

export function elapsed(since, now = Date.now()) {
  return `${fmtMs(Math.max(0, now - since))}…`;
}

/**
 * Text on one line, at most `max` characters. Only a bounded head of the text
 * is looked at, so a 1 MB message costs no more than a short one.
 */
export function oneLine(text, max) {
  const head = String(text ?? '').slice(0, max * 2 + 64);
  const s = head.replace(/\s+/g, ' ').trim();
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/** The head of an execution id (random UUIDs differ from the first character). */
export function shortId(id) {
  const s = String(id ?? '');
  return s.length > 10 ? s.slice(0, 8) : s;
}

/**
 * A label for an id whose start is shared (`demo-conv-1`, `demo-conv-2`,
 * `tenant-42-conversation-…`): its end, which is the part that differs. Show
 * the full id in a title beside it.
 */
export function tailLabel(id, keep = 10) {
  const s = String(id ?? '');
  return s.length > keep + 2 ? `…${s.slice(-keep)}` : s;
}

export function cssToken(s) {
  return String(s).toLowerCase().replace(/[^a-z0-9_-]/g, '');
}

/** A query string from the non-empty params ("" when there are none). */
export function qs(params) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v === null || v === undefined) continue;
    const s = String(v).trim();
    if (s !== '') p.set(k, s);
  }
  const out = p.toString();
  return out ? `?${out}` : '';
}
