/*
 * The overview panel: totals by status, durations, failed runs by node (from
 * /stats) and per-node performance (from /nodes), for the listing's filters
 * (status, user or prefix, conversation, search, window), named on the panel.
 *
 * The two failure counts differ on purpose and are labelled so: /stats counts
 * the runs in which a node failed (once per run), /nodes counts failed node
 * executions (every failed attempt, including retries that later succeeded).
 */

import { api, describeError } from './api.js';
import { STATS_REFRESH_MS } from './config.js';
import { $, byTestId, data, h, setBanner } from './dom.js';
import { fmtCount, fmtMs, fmtPercent, num } from './format.js';
import { STATUSES, describeFilters, filterParams } from './filters.js';
import { state } from './state.js';

let statsController = null;
let statsTimer = null;

export function initStats() {
  for (const th of byTestId('node-perf-table').querySelectorAll('th[data-key]')) {
    $('button', th).addEventListener('click', () => {
      const key = th.dataset.key;
      const s = state.perfSort;
      state.perfSort = { key, dir: s.key === key ? -s.dir : (key === 'node' ? 1 : -1) };
      renderPerf();
      // A new order starts at its top, like the default (failing nodes first).
      th.closest('.scroll-box').scrollTop = 0;
    });
  }
}

export async function loadStats() {
  if (statsController) statsController.abort();
  const ctl = new AbortController();
  statsController = ctl;
  const f = state.filters;
  // The cards, the failed-node bars and the node table follow every filter
  // of the listing (its page aside), and say which.
  const params = filterParams(f);
  const line = `for: ${describeFilters(f)}`;
  const [stats, nodes] = await Promise.allSettled([
    api('stats', params, { signal: ctl.signal }),
    api('nodes', params, { signal: ctl.signal }),
  ]);
  if (ctl !== statsController) return;
  for (const id of ['stats-filters', 'node-filters']) {
    const el = byTestId(id);
    if (el.textContent !== line) el.textContent = line; // live refreshes leave it alone
  }
  if (stats.status === 'fulfilled') {
    state.stats = stats.value;
    renderStats();
  }
  if (nodes.status === 'fulfilled') {
    state.nodes = Array.isArray(nodes.value.nodes) ? nodes.value.nodes : [];
    renderPerf();
  }
  const failure = [stats, nodes].find((r) => r.status === 'rejected' && r.reason.name !== 'AbortError');
  setBanner('stats', failure ? `Statistics: ${describeError(failure.reason)}` : null);
}

/** Live events refresh the panel at most every STATS_REFRESH_MS. */
export function scheduleStatsRefresh() {
  if (statsTimer) return;
  statsTimer = setTimeout(() => { statsTimer = null; loadStats(); }, STATS_REFRESH_MS);
}

function setStat(testId, text, value) {
  const el = byTestId(testId);
  el.textContent = text;
  if (value === null || value === undefined) el.removeAttribute('data-value');
  else el.setAttribute('data-value', String(value));
}

function renderStats() {
  const s = state.stats || {};
  const by = s.by_status || {};
  setStat('stat-total', fmtCount(s.total_executions), num(s.total_executions));
  setStat('stat-success-rate', fmtPercent(s.success_rate), num(s.success_rate));
  for (const st of STATUSES) setStat(`stat-${st}`, fmtCount(by[st] ?? 0), num(by[st]) ?? 0);
  // Runs waiting on interrupt(): a card only when there are some.
  byTestId('stat-interrupted-card').hidden = !(num(by.interrupted) > 0);
  setStat('stat-avg-duration', fmtMs(s.avg_duration_ms), num(s.avg_duration_ms));
  setStat('stat-p95-duration', fmtMs(s.p95_duration_ms), num(s.p95_duration_ms));

  const breakdown = Object.entries(s.failed_nodes_breakdown || {})
    .map(([node, count]) => [node, num(count) ?? 0])
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const box = $('#failed-bars');
  if (breakdown.length === 0) {
    box.replaceChildren(h('p', { class: 'muted empty-note' }, 'No failed runs for these filters.'));
    return;
  }
  const max = Math.max(...breakdown.map(([, c]) => c), 1);
  box.replaceChildren(...breakdown.map(([node, count]) => {
    const fill = h('span', { class: 'bar-fill' });
    fill.style.setProperty('width', `${Math.max(2, (count / max) * 100)}%`);
    return h('div', {
      class: 'bar-row', 'data-testid': 'failed-node-bar', 'data-node': node, 'data-count': count,
      title: `${node} failed in ${count} run${count === 1 ? '' : 's'}`,
    },
    h('span', { class: 'bar-label mono' }, data(node)),
    h('span', { class: 'bar-track', 'aria-hidden': 'true' }, fill),
    h('span', { class: 'bar-count num' }, fmtCount(count)));
  }));
}

/** Sort by the chosen column; ties go to the node that fails most, then the slowest. */
function comparePerf(key, dir) {
  const value = (r, k) => num(r[k]) ?? -Infinity;
  return (a, b) => {
    let c;
    if (key === 'node') c = dir * String(a.node ?? '').localeCompare(String(b.node ?? ''));
    else c = dir * (value(a, key) - value(b, key));
    return c
      || value(b, 'failures') - value(a, 'failures')
      || value(b, 'p95_ms') - value(a, 'p95_ms')
      || String(a.node ?? '').localeCompare(String(b.node ?? ''));
  };
}

export function renderPerf() {
  const { key, dir } = state.perfSort;
  const rows = [...state.nodes].sort(comparePerf(key, dir));
  for (const th of byTestId('node-perf-table').querySelectorAll('th[data-key]')) {
    if (th.dataset.key === key) th.setAttribute('aria-sort', dir > 0 ? 'ascending' : 'descending');
    else th.removeAttribute('aria-sort');
  }
  const tbody = $('#perf-rows');
  if (rows.length === 0) {
    tbody.replaceChildren(h('tr', { class: 'empty-row' }, h('td', { colspan: 8 }, 'No node runs for these filters.')));
    return;
  }
  const slowest = Math.max(...rows.map((r) => num(r.p95_ms) ?? 0));
  tbody.replaceChildren(...rows.map((r) => {
    const rate = num(r.failure_rate) ?? 0;
    return h('tr', { 'data-node': String(r.node), class: rate > 0 ? 'has-failures' : null },
      h('th', { scope: 'row', class: 'mono' }, data(r.node)),
      h('td', { class: 'num' }, fmtCount(r.runs)),
      h('td', { class: `num${num(r.failures) ? ' text-failed' : ''}` }, fmtCount(r.failures)),
      h('td', { class: `num${rate > 0 ? ' text-failed' : ''}` }, fmtPercent(r.failure_rate)),
      h('td', { class: 'num' }, fmtMs(r.p50_ms)),
      h('td', { class: `num${slowest > 0 && num(r.p95_ms) === slowest ? ' slowest' : ''}` }, fmtMs(r.p95_ms)),
      h('td', { class: 'num' }, fmtMs(r.p99_ms)),
      h('td', { class: 'num' }, fmtMs(r.avg_ms)));
  }));
}
