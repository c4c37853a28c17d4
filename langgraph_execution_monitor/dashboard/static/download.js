/*
 * Export of the current listing: the server streams CSV or JSON for the same
 * filters (GET logs/export); the page fetches it with the token in a header
 * (a plain link could not carry it) and saves it as a file.
 */

import { apiUrl } from './api.js';
import { getToken } from './auth.js';
import { toast } from './dom.js';
import { filterParams } from './filters.js';
import { state } from './state.js';

export async function exportListing(format) {
  const f = state.filters;
  const url = apiUrl('logs/export', { format, ...filterParams(f) });
  const headers = {};
  const token = getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  try {
    const res = await fetch(url, { headers, cache: 'no-store', credentials: 'same-origin' });
    if (!res.ok) { toast(`Export failed: the API answered ${res.status}`); return; }
    const blob = await res.blob();
    const link = document.createElement('a');
    link.href = URL.createObjectURL(blob);
    link.download = `executions.${format}`;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
  } catch {
    toast('Export failed: could not reach the monitoring API');
  }
}
