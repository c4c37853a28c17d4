/*
 * The executions listing as the page holds it (the rows of the current page,
 * the total for the filters, runs that arrived for an earlier page), and how
 * one live event changes it. Pure (no DOM), so that many events can be applied
 * between two frames and drawn once; tests/js/listing.test.mjs runs it.
 */

import { parseTime } from './format.js';
import { matchesFilters } from './filters.js';

export function emptyListing() {
  // totalCapped: the server counted up to its cap and stopped (`total_capped`).
  return { rows: [], total: 0, totalCapped: false, loaded: false, pendingNew: 0 };
}

/**
 * Apply one `execution` event to the listing. Returns what it did:
 * 'updated' (a shown row changed), 'inserted' (a new row on this page),
 * 'counted' (a new run that belongs further down: only the total changes),
 * 'pending' (a new run while a later page is shown), 'stale' (a replayed
 * start of a run already final), or 'ignored'.
 */
export function applyEvent(listing, incoming, filters, now = Date.now()) {
  const row = { ...incoming, id: String(incoming.id) };
  const i = listing.rows.findIndex((r) => String(r.id) === row.id);
  if (i >= 0) {
    const old = listing.rows[i];
    if (old.status !== 'running' && row.status === 'running') return 'stale';
    // A row stays when its new status leaves the status filter: a run shown
    // as running must be seen to finish.
    listing.rows[i] = { ...old, ...row };
    return 'updated';
  }
  if (!listing.loaded || !matchesFilters(row, filters, now)) return 'ignored';
  if (filters.offset > 0) {
    listing.pendingNew += 1;
    return 'pending';
  }
  const started = parseTime(row.started_at) ?? now;
  let at = listing.rows.findIndex((r) => (parseTime(r.started_at) ?? 0) < started);
  if (at === -1) at = listing.rows.length;
  if (!listing.totalCapped) listing.total += 1; // a capped total stays "N+"
  if (at >= filters.limit) return 'counted';
  listing.rows.splice(at, 0, row);
  if (listing.rows.length > filters.limit) listing.rows.length = filters.limit;
  return 'inserted';
}
