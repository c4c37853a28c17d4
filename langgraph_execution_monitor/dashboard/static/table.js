/*
 * The executions table. Rows are keyed by execution id and reconciled with the
 * listing: a live event patches the one row it changes, inserts one row, or
 * drops one, and every change that arrives between two draws is drawn in a
 * single pass (scheduleRender): at most once per animation frame, and under
 * sustained load at most every LIVE_DRAW_INTERVAL_MS (a lone event is drawn
 * in the next frame). Rows keep their elements across renders, so focus and
 * selection survive live updates.
 *
 * A row opens its execution on click and on Enter; one row at a time is in
 * the tab order (roving tabindex) and j/k move it (keyboard.js).
 */

import { api, describeError } from './api.js';
import { $, byTestId, copyIcon, copyText, data, h, setBanner } from './dom.js';
import {
  cssToken, elapsed, fmtMs, fmtTime, fullTime, num, oneLine, parseTime, tailLabel,
} from './format.js';
import { filterParams } from './filters.js';
import { state } from './state.js';

const COLUMNS = 7;
// Measured with bench/dashboard.py at 400 events/s: drawing at most 10 times a
// second instead of every frame took a third off the main thread's busy time.
const LIVE_DRAW_INTERVAL_MS = 100;
// Rows changed live flash, unless the table is changing all the time (then
// the flashes only cost paint: about 100 ms a second at 400 events/s).
const CALM_MS = 250;
const rowEls = new Map(); // execution id -> { tr, sig }
let openHandler = () => {};
let loadedHandler = () => {};
let logsController = null;
let frame = 0;
let timer = 0;
let lastLiveDraw = -Infinity;
let flashIds = new Set();
let tabbable = null; // the one row in the tab order
let used = null; // the row last opened or moved to: where j/k go on from

/** onOpen(id, { opener }) opens an execution; onLoaded() runs after each successful load. */
export function initTable({ onOpen, onLoaded }) {
  openHandler = onOpen;
  loadedHandler = onLoaded;
  const tbody = $('#log-rows');
  tbody.addEventListener('click', onRowClick);
  tbody.addEventListener('keydown', onRowKeydown);
  // Running rows show a live elapsed time, updated in a frame like the rest.
  setInterval(() => requestAnimationFrame(tickElapsed), 1000);
}

export async function loadLogs() {
  if (logsController) logsController.abort();
  const ctl = new AbortController();
  logsController = ctl;
  const f = state.filters;
  const table = byTestId('logs-table');
  table.setAttribute('aria-busy', 'true');
  try {
    const body = await api('logs', { ...filterParams(f), limit: f.limit, offset: f.offset }, { signal: ctl.signal });
    if (ctl !== logsController) return;
    const listing = state.listing;
    listing.rows = Array.isArray(body.logs) ? body.logs.map((r) => ({ ...r, id: String(r.id) })) : [];
    listing.total = num(body.total) ?? listing.rows.length;
    listing.totalCapped = body.total_capped === true;
    listing.loaded = true;
    listing.pendingNew = 0;
    setBanner('logs', null);
    renderNow(false);
    loadedHandler();
  } catch (err) {
    if (err.name === 'AbortError' || ctl !== logsController) return;
    setBanner('logs', `Executions: ${describeError(err)}`);
    if (!state.listing.loaded) renderNow(false);
  } finally {
    if (ctl === logsController) table.removeAttribute('aria-busy');
  }
}

/** Draw the listing's changes soon (see above); ids changed live may flash once. */
export function scheduleRender(changedId) {
  if (changedId !== undefined) flashIds.add(changedId);
  if (frame || timer) return;
  const wait = lastLiveDraw + LIVE_DRAW_INTERVAL_MS - performance.now();
  if (wait > 0) timer = setTimeout(() => { timer = 0; drawInNextFrame(); }, wait);
  else drawInNextFrame();
}

function drawInNextFrame() {
  frame = requestAnimationFrame(() => {
    frame = 0;
    renderNow(true);
  });
}

/** Reconcile the table body with the listing, touching only rows that changed. */
export function renderNow(live) {
  if (frame) { cancelAnimationFrame(frame); frame = 0; }
  if (timer) { clearTimeout(timer); timer = 0; }
  const tbody = $('#log-rows');
  const { rows } = state.listing;
  let calm = false;
  if (live) {
    const now = performance.now();
    calm = now - lastLiveDraw > CALM_MS;
    lastLiveDraw = now;
  }
  const flash = calm ? flashIds : new Set();
  flashIds = new Set();
  if (rows.length === 0) {
    rowEls.clear();
    tabbable = null;
    const what = state.listing.loaded ? emptyMessage() : 'Loading…';
    tbody.replaceChildren(h('tr', { class: 'empty-row' }, h('td', { colspan: COLUMNS }, what)));
  } else {
    const wanted = new Set(rows.map((r) => r.id));
    for (const [id, rec] of rowEls) {
      if (!wanted.has(id)) { rec.tr.remove(); rowEls.delete(id); }
    }
    for (const el of tbody.querySelectorAll(':scope > tr:not(.log-row)')) el.remove();
    let prev = null;
    for (const r of rows) {
      const sig = signature(r);
      let rec = rowEls.get(r.id);
      if (!rec) {
        rec = { tr: renderRow(r), sig };
        rowEls.set(r.id, rec);
        if (calm) flashRow(rec.tr);
      } else if (rec.sig !== sig) {
        patchRow(rec.tr, r);
        rec.sig = sig;
        if (flash.has(r.id)) flashRow(rec.tr);
      }
      const expected = prev ? prev.nextSibling : tbody.firstChild;
      if (expected !== rec.tr) tbody.insertBefore(rec.tr, expected);
      prev = rec.tr;
    }
  }
  updatePager();
  markSelectedRow();
  syncRoving();
}

function updatePager() {
  const f = state.filters;
  const { rows, total, totalCapped } = state.listing;
  const from = total && rows.length ? f.offset + 1 : 0;
  const to = rows.length ? f.offset + rows.length : 0;
  // Past the server's count cap the total is a floor: "of 10000+", and a full page
  // means there may be more.
  setText(byTestId('page-info'), `${from}–${to} of ${total}${totalCapped ? '+' : ''}`);
  byTestId('page-info').title = totalCapped
    ? `At least ${total} match; the server stops counting there (narrow the filters for an exact count)`
    : '';
  byTestId('prev-page').disabled = f.offset <= 0;
  byTestId('next-page').disabled = totalCapped
    ? rows.length < f.limit
    : f.offset + rows.length >= total;
  renderNewRowsNotice();
}

function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

function emptyMessage() {
  const f = state.filters;
  const filtered = f.status || f.user_id || f.conversation_id || f.q;
  if (f.offset > 0 && state.listing.total > 0) return 'No executions on this page.';
  return filtered
    ? 'No executions match these filters in this time window.'
    : 'No executions in this time window yet.';
}

/** What a row shows: equal signatures draw equal rows. */
function signature(r) {
  return JSON.stringify([
    r.status, r.total_duration_ms, r.started_at, r.user_id, r.conversation_id,
    oneLine(r.request_message, 600), oneLine(r.error_summary, 600), r.failed_nodes,
  ]);
}

function rowCells(r) {
  const id = r.id;
  const status = String(r.status || 'unknown');
  const failed = Array.isArray(r.failed_nodes) ? r.failed_nodes : [];

  const idCell = h('td', { class: 'cell-id', 'data-label': 'ID' },
    h('span', { class: 'mono id-text', title: id }, data(id)),
    h('button', {
      type: 'button', class: 'btn-copy', title: 'Copy full id',
      'aria-label': `Copy execution id ${id}`, 'data-action': 'copy',
    }, copyIcon()));

  const conv = r.conversation_id === null || r.conversation_id === undefined ? '' : String(r.conversation_id);
  const request = h('td', { class: 'cell-request', 'data-label': 'Request' },
    h('div', { class: 'request-text', title: oneLine(r.request_message, 600) },
      data(oneLine(r.request_message, 140) || '—')),
    h('div', { class: 'row-meta' },
      h('span', { class: 'mono', title: 'user' }, data(r.user_id)),
      conv ? h('span', { class: 'mono muted conv-label', 'data-testid': 'conversation-label', title: `conversation ${conv}` },
        '· ', data(tailLabel(conv))) : null),
    r.error_summary ? h('div', { class: 'row-error', title: oneLine(r.error_summary, 600) },
      data(oneLine(r.error_summary, 160))) : null);

  const duration = h('td', { class: 'num cell-duration', 'data-label': 'Duration' });
  if (status === 'running' && r.total_duration_ms == null) {
    const since = parseTime(r.started_at);
    if (since !== null) duration.append(h('span', { class: 'elapsed', 'data-since': since }, elapsed(since)));
    else duration.append('running');
  } else {
    duration.append(fmtMs(r.total_duration_ms));
  }

  const started = h('td', { class: 'cell-started', 'data-label': 'Started' },
    h('time', { datetime: r.started_at || null, title: fullTime(r.started_at) }, fmtTime(r.started_at)));

  const nodes = h('td', { class: 'cell-nodes', 'data-label': 'Failed nodes' },
    failed.length ? failed.map((n) => h('span', { class: 'chip chip-failed mono' }, data(n))) : h('span', { class: 'muted' }, '—'));

  const action = h('td', { class: 'cell-action' },
    h('button', {
      type: 'button', class: 'btn btn-small', 'data-testid': 'generate-tree', 'data-action': 'open',
      'aria-label': `Generate tree for execution ${id}`,
    }, 'Generate Tree'));

  return [idCell, request,
    h('td', { 'data-label': 'Status' }, statusBadge(status)),
    started, duration, nodes, action];
}

export function statusBadge(status) {
  const s = String(status || 'unknown');
  return h('span', { class: `badge status-${cssToken(s)}` }, s);
}

function rowClass(status) {
  return `log-row row-${cssToken(status || 'unknown')}`;
}

function renderRow(r) {
  const status = String(r.status || 'unknown');
  return h('tr', {
    'data-testid': 'log-row', 'data-id': r.id, 'data-status': status,
    class: rowClass(status), tabindex: '-1',
  }, rowCells(r));
}

/** Redraw a row's cells in place: the row element (and its focus) stays. */
function patchRow(tr, r) {
  const status = String(r.status || 'unknown');
  const active = document.activeElement;
  const focusedAction = active && active !== tr && tr.contains(active)
    ? active.getAttribute('data-action') : null;
  const keep = ['selected', 'flash-a', 'flash-b'].filter((c) => tr.classList.contains(c));
  tr.className = rowClass(status);
  tr.classList.add(...keep);
  tr.dataset.status = status;
  tr.replaceChildren(...rowCells(r));
  if (focusedAction) {
    const target = tr.querySelector(`[data-action="${focusedAction}"]`);
    if (target) target.focus();
  }
}

/** Restart the highlight without a forced layout: two identical animations, alternated. */
function flashRow(tr) {
  const next = tr.classList.contains('flash-a') ? 'flash-b' : 'flash-a';
  tr.classList.remove('flash-a', 'flash-b');
  tr.classList.add(next);
}

function tickElapsed() {
  const now = Date.now();
  for (const el of document.querySelectorAll('#log-rows .elapsed[data-since]')) {
    setText(el, elapsed(Number(el.dataset.since), now));
  }
}

function onRowClick(ev) {
  const tr = ev.target.closest('tr.log-row');
  if (!tr) return;
  const action = ev.target.closest('[data-action]');
  if (action && action.dataset.action === 'copy') { copyText(tr.dataset.id); return; }
  if (action && action.dataset.action === 'open') { open(tr, action); return; }
  // Clicks on the row's own controls, and text being selected, are not "open".
  if (ev.target.closest('button, a, input, select, textarea')) return;
  const sel = window.getSelection();
  if (sel && !sel.isCollapsed && tr.contains(sel.anchorNode)) return;
  open(tr, tr);
}

function onRowKeydown(ev) {
  if (ev.key !== 'Enter' || ev.altKey || ev.ctrlKey || ev.metaKey || ev.shiftKey) return;
  const tr = ev.target;
  if (!(tr instanceof HTMLTableRowElement) || !tr.classList.contains('log-row')) return;
  ev.preventDefault();
  open(tr, tr);
}

function open(tr, opener) {
  setTabbable(tr);
  used = tr;
  openHandler(tr.dataset.id, { opener });
}

export function rowElement(id) {
  const rec = id === null || id === undefined ? null : rowEls.get(String(id));
  return rec ? rec.tr : null;
}

export function markSelectedRow() {
  for (const [id, rec] of rowEls) {
    const selected = id === state.exec;
    if (rec.tr.classList.contains('selected') !== selected) rec.tr.classList.toggle('selected', selected);
    if (selected) rec.tr.setAttribute('aria-current', 'true');
    else if (rec.tr.hasAttribute('aria-current')) rec.tr.removeAttribute('aria-current');
  }
}

function setTabbable(tr) {
  if (tabbable === tr) return;
  if (tabbable) tabbable.tabIndex = -1;
  tabbable = tr;
  if (tr) tr.tabIndex = 0;
}

/** Keep exactly one row in the tab order: the last one used, or the first. */
function syncRoving() {
  if (tabbable && tabbable.isConnected) return;
  const tbody = $('#log-rows');
  const pick = rowElement(state.exec) || tbody.querySelector('tr.log-row');
  tabbable = null;
  setTabbable(pick);
}

/** The row j/k start from: the focused one, else the last used, else none. */
function currentRow() {
  const active = document.activeElement;
  const inRow = active && active.closest ? active.closest('#log-rows tr.log-row') : null;
  if (inRow) return inRow;
  if (used && used.isConnected) return used;
  return rowElement(state.exec); // the run opened from the URL, if shown
}

/** Move the focus `delta` rows down (j: +1, k: -1); returns the row's id. */
export function moveRowFocus(delta) {
  const rows = [...document.querySelectorAll('#log-rows tr.log-row')];
  if (rows.length === 0) return null;
  const from = currentRow();
  const at = from ? rows.indexOf(from) : -1;
  const next = at === -1 ? (delta > 0 ? 0 : rows.length - 1)
    : Math.max(0, Math.min(rows.length - 1, at + delta));
  const tr = rows[next];
  setTabbable(tr);
  used = tr;
  tr.focus({ preventScroll: true });
  tr.scrollIntoView({ block: 'nearest' });
  return tr.dataset.id;
}

/** Focus the row of an execution (after the drawer closes). */
export function focusRow(id) {
  const tr = rowElement(id);
  if (!tr) return false;
  setTabbable(tr);
  used = tr;
  tr.focus({ preventScroll: true });
  tr.scrollIntoView({ block: 'nearest' });
  return true;
}

export function renderNewRowsNotice() {
  const btn = $('#new-rows');
  const n = state.listing.pendingNew;
  btn.hidden = n === 0;
  setText(btn, `${n} new — show latest`);
}
