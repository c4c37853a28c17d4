/*
 * The page's state: the filters (mirrored in the URL, so a view can be shared
 * and the Back button works), the listing, the open execution, the stats.
 * Filter changes are announced to subscribers, which reload what depends on
 * them.
 */

import { DEFAULTS, parseSearch, sameFilters, toSearch } from './filters.js';
import { emptyListing } from './listing.js';

export const state = {
  filters: { ...DEFAULTS },
  listing: emptyListing(),
  exec: null, // id of the execution shown in the drawer
  view: 'executions', // or 'errors', 'threads'
  detail: null,
  stats: null,
  nodes: [],
  // Failing nodes first: the node that fails most must be in view.
  perfSort: { key: 'failures', dir: -1 },
};

const filterListeners = [];

/** fn(before, after) runs after every change of the filters. */
export function onFiltersChanged(fn) {
  filterListeners.push(fn);
}

export const VIEWS = Object.freeze(['executions', 'errors', 'threads']);

export function readUrl() {
  const { filters, exec } = parseSearch(location.search);
  state.filters = filters;
  state.exec = exec;
  const view = new URLSearchParams(location.search).get('view');
  state.view = VIEWS.includes(view) ? view : 'executions';
}

function currentSearch() {
  const search = toSearch(state.filters, state.exec);
  if (state.view === 'executions') return search;
  return `${search}${search ? '&' : '?'}view=${state.view}`;
}

/** Record the state in the URL: a new history entry (push) or in place. */
export function writeUrl(push) {
  const url = location.pathname + currentSearch();
  if (url === location.pathname + location.search) return;
  if (push) history.pushState(null, '', url);
  else history.replaceState(null, '', url);
}

/** Apply a filter change: back to page 1 unless it sets the offset, record it, announce it. */
export function applyFilters(changes) {
  const before = state.filters;
  const next = { ...before, ...changes };
  if (!('offset' in changes)) next.offset = 0;
  if (sameFilters(next, before)) return;
  state.filters = next;
  writeUrl(true);
  for (const fn of filterListeners) fn(before, next);
}

/** After Back/Forward: take the URL's filters and announce what changed. */
export function followUrl() {
  const before = state.filters;
  readUrl();
  if (!sameFilters(before, state.filters)) {
    for (const fn of filterListeners) fn(before, state.filters);
  }
}
