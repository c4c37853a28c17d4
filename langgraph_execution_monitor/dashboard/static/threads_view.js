/*
 * The threads view: one row per conversation (GET threads) with its turns,
 * failed turns, last activity, p50/p99 duration and tokens. Opening one lists
 * its turns in order (GET conversations/{id}/logs), each with its tree drawn
 * when the turn is opened.
 */

import { api, describeError } from './api.js';
import { $, data, h } from './dom.js';
import { fmtCount, fmtMs, fmtTime, fullTime, oneLine } from './format.js';
import { loadPriceTable } from './prices.js';
import { describeFilters, userParams, windowParams } from './filters.js';
import { state } from './state.js';

let controller = null;
let deps = { runTree: () => null, statusBadge: () => null, onOpen: () => {} };

export function initThreadsView(options) { deps = { ...deps, ...options }; }

function threadRow(t) {
  const tr = h('tr', { class: 'thread-row', 'data-testid': 'thread-row', 'data-id': t.conversation_id, tabindex: '0' },
    h('td', { 'data-label': 'Conversation', class: 'mono' }, data(t.conversation_id)),
    h('td', { 'data-label': 'User', class: 'mono' }, data(t.user_id)),
    h('td', { 'data-label': 'Turns', class: 'num', 'data-testid': 'thread-turns' }, fmtCount(t.turns)),
    h('td', { 'data-label': 'Failed', class: `num${t.failed_turns ? ' text-failed' : ''}`, 'data-testid': 'thread-failed' },
      fmtCount(t.failed_turns),
      t.partial_turns ? h('span', { class: 'muted', title: 'Turns that answered with a failed node' }, ` +${fmtCount(t.partial_turns)} partial`) : null),
    h('td', { 'data-label': 'Last activity' }, h('time', { datetime: t.last_activity, title: fullTime(t.last_activity) }, fmtTime(t.last_activity))),
    h('td', { 'data-label': 'p50', class: 'num' }, fmtMs(t.p50_duration_ms)),
    h('td', { 'data-label': 'p99', class: 'num' }, fmtMs(t.p99_duration_ms)),
    h('td', { 'data-label': 'Tokens', class: 'num', 'data-testid': 'thread-tokens' }, fmtCount(t.total_tokens)),
    h('td', { 'data-label': 'Last request', class: 'turn-text' }, data(oneLine(t.last_request, 80))));
  const toggle = () => toggleThread(tr, t.conversation_id);
  tr.addEventListener('click', toggle);
  tr.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') { ev.preventDefault(); toggle(); } });
  return tr;
}

async function toggleThread(tr, conversationId) {
  const next = tr.nextElementSibling;
  if (next && next.classList.contains('thread-turns-row')) {
    next.remove();
    tr.removeAttribute('aria-expanded');
    return;
  }
  tr.setAttribute('aria-expanded', 'true');
  const cell = h('td', { colspan: 9 }, h('p', { class: 'muted' }, 'Loading turns…'));
  tr.after(h('tr', { class: 'thread-turns-row', 'data-testid': 'thread-turns-list' }, cell));
  try {
    const body = await api(`conversations/${encodeURIComponent(conversationId)}/logs`, { limit: 200, offset: 0 });
    const logs = Array.isArray(body.logs) ? body.logs : [];
    cell.replaceChildren(h('ol', { class: 'thread-turns' }, logs.map((r, i) => turnItem(r, i + 1))));
  } catch (err) {
    cell.replaceChildren(h('p', { class: 'panel-error', role: 'alert' }, describeError(err)));
  }
}

function turnItem(r, n) {
  const details = h('details', { class: 'thread-turn', 'data-testid': 'thread-turn', 'data-id': String(r.id) },
    h('summary', null,
      h('span', { class: 'turn-num muted' }, `#${n}`), ' ', deps.statusBadge(r.status), ' ',
      h('span', { class: 'turn-time' }, fmtTime(r.started_at)), ' ',
      h('span', { class: 'turn-text' }, data(oneLine(r.request_message, 100))), ' ',
      h('button', {
        type: 'button', class: 'btn btn-small', onclick: (ev) => { ev.preventDefault(); deps.onOpen(String(r.id), ev.currentTarget); },
      }, 'Open')));
  let built = false;
  details.addEventListener('toggle', async () => {
    if (!details.open || built) return;
    built = true;
    const holder = h('div', { class: 'thread-tree', 'data-testid': 'thread-tree' }, h('p', { class: 'muted' }, 'Loading tree…'));
    details.append(holder);
    try {
      const [detail, table] = await Promise.all([api(`logs/${encodeURIComponent(r.id)}`), loadPriceTable()]);
      holder.replaceChildren(deps.runTree(detail, table));
    } catch (err) {
      holder.replaceChildren(h('p', { class: 'panel-error', role: 'alert' }, describeError(err)));
    }
  });
  return h('li', null, details);
}

export async function loadThreads() {
  if (controller) controller.abort();
  const ctl = new AbortController();
  controller = ctl;
  const rows = $('#thread-rows');
  const f = state.filters;
  $('#threads-window').textContent = describeFilters({ ...f, status: '', conversation_id: '', q: '' });
  try {
    const body = await api('threads', { ...windowParams(f), ...userParams(f), limit: 100 }, { signal: ctl.signal });
    if (ctl !== controller) return;
    const threads = Array.isArray(body.threads) ? body.threads : [];
    rows.replaceChildren(...(threads.length ? threads.map(threadRow)
      : [h('tr', { class: 'empty-row' }, h('td', { colspan: 9 }, 'No conversations in this window.'))]));
  } catch (err) {
    if (err.name === 'AbortError' || ctl !== controller) return;
    rows.replaceChildren(h('tr', { class: 'empty-row' }, h('td', { colspan: 9, role: 'alert' }, describeError(err))));
  }
}
