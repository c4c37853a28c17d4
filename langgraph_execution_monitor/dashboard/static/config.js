/*
 * Where the page finds the monitoring API. Every URL the page uses is
 * relative to the page itself, so the dashboard works wherever it is mounted
 * (`/`, `/monitoring/`, ...). The API base is read once from
 * <html data-api-base="...">; without it, the API sits at
 * api/v1/monitoring beside the page.
 */

const DEFAULT_API_BASE = 'api/v1/monitoring';

export const API_BASE = (document.documentElement.dataset.apiBase || DEFAULT_API_BASE)
  .replace(/\/+$/, '');

/** How often, at most, live events refresh the stats panel. */
export const STATS_REFRESH_MS = 4000;
