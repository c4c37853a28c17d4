/*
 * Execution monitor dashboard.
 *
 * Plain DOM, no build step, no network beyond the same-origin monitoring API.
 * Every piece of data reaches the page through textContent or attributes (never
 * innerHTML), and every handler is attached with addEventListener, so the page
 * runs under a strict Content-Security-Policy.
 */
'use strict';

(() => {
  const API = '/api/v1/monitoring';
  const TOKEN_KEY = 'execution-monitor.token';
  const STATUSES = ['running', 'completed', 'failed', 'partial'];
  const HOURS = [1, 6, 24, 72, 168];
  const DEFAULTS = Object.freeze({
    status: '', user_id: '', conversation_id: '', hours: 24, q: '', offset: 0, limit: 50,
  });
  const TEXT_FILTERS = ['user_id', 'conversation_id', 'q'];
  const STATS_REFRESH_MS = 4000;

  const $ = (sel, root = document) => root.querySelector(sel);
  const byTestId = (id) => document.querySelector(`[data-testid="${id}"]`);

  const state = {
    filters: { ...DEFAULTS },
    rows: [],
    total: 0,
    loaded: false,
    pendingNew: 0,
    exec: null, // id of the execution shown in the tree panel
    detail: null,
    stats: null,
    nodes: [],
    perfSort: { key: 'p95_ms', dir: -1 },
  };

  // ---------------------------------------------------------------- helpers

  /** Build an element. Children that are strings become text nodes. */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    if (attrs) {
      for (const [k, v] of Object.entries(attrs)) {
        if (v === null || v === undefined || v === false) continue;
        if (k === 'class') el.className = v;
        else if (k === 'text') el.textContent = String(v);
        else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
        else el.setAttribute(k, v === true ? '' : String(v));
      }
    }
    for (const c of children.flat(Infinity)) {
      if (c === null || c === undefined || c === false) continue;
      el.append(c instanceof Node ? c : String(c));
    }
    return el;
  }

  function parseTime(iso) {
    if (iso === null || iso === undefined || iso === '') return null;
    const t = typeof iso === 'number' ? iso : Date.parse(iso);
    return Number.isFinite(t) ? t : null;
  }

  function num(v) {
    const n = typeof v === 'string' ? Number(v) : v;
    return typeof n === 'number' && Number.isFinite(n) ? n : null;
  }

  function fmtMs(ms) {
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

  function fmtCount(n) {
    const v = num(n);
    return v === null ? '–' : v.toLocaleString();
  }

  function fmtPercent(n) {
    const v = num(n);
    return v === null ? '–' : `${v.toFixed(1)}%`;
  }

  function fmtTime(iso) {
    const t = parseTime(iso);
    if (t === null) return '—';
    const d = new Date(t);
    const now = new Date();
    const sameDay = d.toDateString() === now.toDateString();
    const time = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
    if (sameDay) return time;
    return `${d.toLocaleDateString([], { month: 'short', day: 'numeric' })} ${time}`;
  }

  function fullTime(iso) {
    const t = parseTime(iso);
    return t === null ? '' : `${new Date(t).toLocaleString()} (${iso})`;
  }

  function oneLine(text, max) {
    const s = String(text ?? '').replace(/\s+/g, ' ').trim();
    return s.length > max ? `${s.slice(0, max - 1)}…` : s;
  }

  function shortId(id) {
    const s = String(id);
    return s.length > 10 ? s.slice(0, 8) : s;
  }

  function statusBadge(status, extraClass) {
    const s = String(status || 'unknown');
    return h('span', { class: `badge status-${cssToken(s)}${extraClass ? ` ${extraClass}` : ''}` }, s);
  }

  function cssToken(s) {
    return String(s).toLowerCase().replace(/[^a-z0-9_-]/g, '');
  }

  function qs(params) {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(params || {})) {
      if (v === null || v === undefined) continue;
      const s = String(v).trim();
      if (s !== '') p.set(k, s);
    }
    const out = p.toString();
    return out ? `?${out}` : '';
  }

  let toastTimer = null;
  function toast(message) {
    const el = $('#toast');
    el.textContent = message;
    el.classList.add('show');
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => el.classList.remove('show'), 1800);
  }

  const SVG_NS = 'http://www.w3.org/2000/svg';

  function copyIcon() {
    const svg = document.createElementNS(SVG_NS, 'svg');
    svg.setAttribute('viewBox', '0 0 16 16');
    svg.setAttribute('class', 'icon');
    svg.setAttribute('aria-hidden', 'true');
    svg.setAttribute('focusable', 'false');
    const front = document.createElementNS(SVG_NS, 'rect');
    for (const [k, v] of [['x', 5], ['y', 5], ['width', 9], ['height', 9], ['rx', 1.5]]) front.setAttribute(k, v);
    const back = document.createElementNS(SVG_NS, 'path');
    back.setAttribute('d', 'M11 2.5V2H3.5A1.5 1.5 0 0 0 2 3.5V11h.5');
    svg.append(back, front);
    return svg;
  }

  async function copyText(text) {
    try {
      if (navigator.clipboard && window.isSecureContext) {
        await navigator.clipboard.writeText(text);
        toast('Copied');
        return;
      }
    } catch { /* fall through to the selection fallback */ }
    const ta = h('textarea', { class: 'visually-hidden', readonly: true });
    ta.value = text;
    document.body.append(ta);
    ta.select();
    let ok = false;
    try { ok = document.execCommand('copy'); } catch { ok = false; }
    ta.remove();
    toast(ok ? 'Copied' : `Copy failed — id: ${text}`);
  }

  // ------------------------------------------------------------ banner/errors

  const bannerMessages = new Map();
  function setBanner(key, message) {
    if (message) bannerMessages.set(key, message);
    else bannerMessages.delete(key);
    const el = $('#banner');
    el.replaceChildren(...[...bannerMessages.values()].map((m) => h('div', null, m)));
    el.hidden = bannerMessages.size === 0;
  }

  function describeError(err) {
    if (err && err.status === 401) return 'Authentication required — enter the access token.';
    if (err && err.status) return `The API answered ${err.status}: ${err.message}`;
    return 'Could not reach the monitoring API. Is the server running?';
  }

  // ------------------------------------------------------------------- auth

  function getToken() {
    try { return sessionStorage.getItem(TOKEN_KEY) || ''; } catch { return ''; }
  }

  function setToken(token) {
    try {
      if (token) sessionStorage.setItem(TOKEN_KEY, token);
      else sessionStorage.removeItem(TOKEN_KEY);
    } catch { /* storage unavailable: the token lives for this page only */ }
  }

  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.name = 'ApiError';
      this.status = status;
    }
  }

  let tokenPrompt = null; // one dialog shared by every request that got a 401

  function askForToken(refused) {
    const dialog = $('#token-dialog');
    const error = byTestId('token-error');
    if (refused) error.hidden = false;
    if (tokenPrompt) return tokenPrompt;
    const input = $('#token-input');
    input.value = '';
    error.hidden = !refused;
    tokenPrompt = new Promise((resolve) => {
      const form = $('#token-form');
      const finish = (ok) => {
        form.removeEventListener('submit', onSubmit);
        $('#token-cancel').removeEventListener('click', onCancel);
        dialog.removeEventListener('cancel', onCancel);
        if (dialog.open) dialog.close();
        tokenPrompt = null;
        resolve(ok);
      };
      const onSubmit = (ev) => {
        ev.preventDefault();
        const token = input.value.trim();
        if (!token) { input.focus(); return; }
        setToken(token);
        $('#sign-in').hidden = true;
        finish(true);
        tokenChanged();
      };
      const onCancel = (ev) => {
        ev.preventDefault();
        $('#sign-in').hidden = false;
        finish(false);
      };
      form.addEventListener('submit', onSubmit);
      $('#token-cancel').addEventListener('click', onCancel);
      dialog.addEventListener('cancel', onCancel);
    });
    if (!dialog.open) dialog.showModal();
    input.focus();
    return tokenPrompt;
  }

  /** GET a JSON document from the API; on 401 ask for the token and retry. */
  async function api(path, params, { signal } = {}) {
    const url = path + qs(params);
    for (;;) {
      // While the token dialog is up, don't send requests that are bound to fail.
      if (tokenPrompt && !(await tokenPrompt)) throw new ApiError(401, 'authentication required');
      const token = getToken();
      const headers = { Accept: 'application/json' };
      if (token) headers.Authorization = `Bearer ${token}`;
      const res = await fetch(url, { headers, signal, cache: 'no-store', credentials: 'same-origin' });
      if (res.status === 401) {
        if (getToken() !== token) continue; // someone entered a new token meanwhile
        if (token) setToken('');
        const ok = await askForToken(Boolean(token));
        if (!ok) throw new ApiError(401, 'authentication required');
        continue;
      }
      if (!res.ok) {
        let message = res.statusText || 'error';
        try {
          const body = await res.json();
          if (body && body.detail !== undefined) {
            message = typeof body.detail === 'string' ? body.detail : JSON.stringify(body.detail);
          }
        } catch { /* not JSON */ }
        throw new ApiError(res.status, message);
      }
      setBanner('auth', null);
      return res.json();
    }
  }

  function tokenChanged() {
    // The stream carries the token in its URL: reopen it with the new one.
    if (stream.es) startStream();
  }

  // -------------------------------------------------------------- URL state

  function readUrl() {
    const p = new URLSearchParams(location.search);
    const f = { ...DEFAULTS };
    const status = p.get('status') || '';
    f.status = STATUSES.includes(status) ? status : '';
    for (const k of TEXT_FILTERS) f[k] = (p.get(k) || '').trim();
    const hours = parseInt(p.get('hours') || '', 10);
    f.hours = Number.isInteger(hours) && hours >= 1 && hours <= 168 ? hours : DEFAULTS.hours;
    const limit = parseInt(p.get('limit') || '', 10);
    f.limit = Number.isInteger(limit) && limit >= 1 && limit <= 200 ? limit : DEFAULTS.limit;
    const offset = parseInt(p.get('offset') || '', 10);
    f.offset = Number.isInteger(offset) && offset >= 0 ? offset : 0;
    state.filters = f;
    state.exec = p.get('exec') || null;
  }

  function writeUrl(push) {
    const f = state.filters;
    const p = new URLSearchParams();
    if (f.status) p.set('status', f.status);
    for (const k of TEXT_FILTERS) if (f[k]) p.set(k, f[k]);
    if (f.hours !== DEFAULTS.hours) p.set('hours', String(f.hours));
    if (f.limit !== DEFAULTS.limit) p.set('limit', String(f.limit));
    if (f.offset) p.set('offset', String(f.offset));
    if (state.exec) p.set('exec', state.exec);
    const search = p.toString();
    const url = location.pathname + (search ? `?${search}` : '');
    if (url === location.pathname + location.search) return;
    if (push) history.pushState(null, '', url);
    else history.replaceState(null, '', url);
  }

  function syncControls() {
    const f = state.filters;
    const form = $('#filters');
    form.elements.status.value = f.status;
    form.elements.user_id.value = f.user_id;
    form.elements.conversation_id.value = f.conversation_id;
    form.elements.q.value = f.q;
    const hoursSel = form.elements.hours;
    if (!HOURS.includes(f.hours) && !hoursSel.querySelector(`option[value="${f.hours}"]`)) {
      hoursSel.append(h('option', { value: f.hours }, `Last ${f.hours} hours`));
    }
    hoursSel.value = String(f.hours);
    const sizeSel = $('#page-size');
    if (!sizeSel.querySelector(`option[value="${f.limit}"]`)) {
      sizeSel.append(h('option', { value: f.limit }, String(f.limit)));
    }
    sizeSel.value = String(f.limit);
  }

  /** Apply a filter change: back to page 1, record it in the URL, reload. */
  function applyFilters(changes) {
    const before = state.filters;
    const next = { ...before, ...changes };
    if (!('offset' in changes)) next.offset = 0;
    const same = Object.keys(next).every((k) => next[k] === before[k]);
    if (same) return;
    state.filters = next;
    writeUrl(true);
    const streamChanged = next.user_id !== before.user_id
      || next.conversation_id !== before.conversation_id;
    const hoursChanged = next.hours !== before.hours;
    loadLogs();
    if (hoursChanged) loadStats();
    if (streamChanged && stream.es) startStream();
  }

  // ---------------------------------------------------------------- logs table

  let logsController = null;

  async function loadLogs() {
    if (logsController) logsController.abort();
    const ctl = new AbortController();
    logsController = ctl;
    const f = state.filters;
    const table = byTestId('logs-table');
    table.setAttribute('aria-busy', 'true');
    try {
      const data = await api(`${API}/logs`, {
        limit: f.limit, offset: f.offset, status: f.status, user_id: f.user_id,
        conversation_id: f.conversation_id, hours: f.hours, q: f.q,
      }, { signal: ctl.signal });
      if (ctl !== logsController) return;
      state.rows = Array.isArray(data.logs) ? data.logs : [];
      state.total = num(data.total) ?? state.rows.length;
      state.loaded = true;
      state.pendingNew = 0;
      setBanner('logs', null);
      renderTable();
      ensureStream();
    } catch (err) {
      if (err.name === 'AbortError' || ctl !== logsController) return;
      setBanner('logs', `Executions: ${describeError(err)}`);
      if (!state.loaded) renderTable();
    } finally {
      if (ctl === logsController) table.removeAttribute('aria-busy');
    }
  }

  function renderTable() {
    const tbody = $('#log-rows');
    const f = state.filters;
    if (state.rows.length === 0) {
      const what = state.loaded ? emptyMessage() : 'Loading…';
      tbody.replaceChildren(h('tr', { class: 'empty-row' }, h('td', { colspan: 7 }, what)));
    } else {
      tbody.replaceChildren(...state.rows.map(renderRow));
    }
    const from = state.total && state.rows.length ? f.offset + 1 : 0;
    const to = state.rows.length ? f.offset + state.rows.length : 0;
    byTestId('page-info').textContent = `${from}–${to} of ${state.total}`;
    byTestId('prev-page').disabled = f.offset <= 0;
    byTestId('next-page').disabled = f.offset + state.rows.length >= state.total;
    renderNewRowsNotice();
    markSelectedRow();
  }

  function emptyMessage() {
    const f = state.filters;
    const filtered = f.status || f.user_id || f.conversation_id || f.q;
    if (f.offset > 0 && state.total > 0) return 'No executions on this page.';
    return filtered
      ? 'No executions match these filters in this time window.'
      : 'No executions in this time window yet.';
  }

  function renderRow(r) {
    const id = String(r.id);
    const status = String(r.status || 'unknown');
    const failed = Array.isArray(r.failed_nodes) ? r.failed_nodes : [];

    const idCell = h('td', { class: 'cell-id', 'data-label': 'ID' },
      h('span', { class: 'mono id-text', title: id }, id),
      h('button', {
        type: 'button', class: 'btn-copy', title: 'Copy full id',
        'aria-label': `Copy execution id ${id}`,
        onclick: () => copyText(id),
      }, copyIcon()));

    const request = h('td', { class: 'cell-request', 'data-label': 'Request' },
      h('div', { class: 'request-text', title: oneLine(r.request_message, 600) },
        oneLine(r.request_message, 140) || '—'),
      h('div', { class: 'row-meta' },
        h('span', { class: 'mono', title: 'user' }, String(r.user_id ?? '')),
        r.conversation_id ? h('span', { class: 'mono muted', title: `conversation ${r.conversation_id}` },
          `· ${shortId(r.conversation_id)}`) : null),
      r.error_summary ? h('div', { class: 'row-error', title: oneLine(r.error_summary, 600) },
        oneLine(r.error_summary, 160)) : null);

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
      failed.length ? failed.map((n) => h('span', { class: 'chip chip-failed mono' }, String(n))) : h('span', { class: 'muted' }, '—'));

    const action = h('td', { class: 'cell-action' },
      h('button', {
        type: 'button', class: 'btn btn-small', 'data-testid': 'generate-tree',
        'aria-label': `Generate tree for execution ${id}`,
        onclick: (ev) => openExecution(id, { push: true, opener: ev.currentTarget }),
      }, 'Generate Tree'));

    return h('tr', {
      'data-testid': 'log-row', 'data-id': id, 'data-status': status,
      class: `log-row row-${cssToken(status)}`,
    }, idCell, request,
    h('td', { 'data-label': 'Status' }, statusBadge(status)),
    started, duration, nodes, action);
  }

  function elapsed(since) {
    return `${fmtMs(Math.max(0, Date.now() - since))}…`;
  }

  function markSelectedRow() {
    for (const tr of document.querySelectorAll('#log-rows tr.log-row')) {
      tr.classList.toggle('selected', tr.dataset.id === state.exec);
    }
  }

  function renderNewRowsNotice() {
    const btn = $('#new-rows');
    btn.hidden = state.pendingNew === 0;
    btn.textContent = `${state.pendingNew} new — show latest`;
  }

  // ----------------------------------------------------------------- stats

  let statsController = null;

  async function loadStats() {
    if (statsController) statsController.abort();
    const ctl = new AbortController();
    statsController = ctl;
    const hours = state.filters.hours;
    $('#stats-window').textContent = `Last ${hours === 1 ? 'hour' : `${hours} hours`}`;
    const [stats, nodes] = await Promise.allSettled([
      api(`${API}/stats`, { hours }, { signal: ctl.signal }),
      api(`${API}/nodes`, { hours }, { signal: ctl.signal }),
    ]);
    if (ctl !== statsController) return;
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

  let statsTimer = null;
  function scheduleStatsRefresh() {
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
    setStat('stat-avg-duration', fmtMs(s.avg_duration_ms), num(s.avg_duration_ms));
    setStat('stat-p95-duration', fmtMs(s.p95_duration_ms), num(s.p95_duration_ms));

    const breakdown = Object.entries(s.failed_nodes_breakdown || {})
      .map(([node, count]) => [node, num(count) ?? 0])
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
    const box = $('#failed-bars');
    if (breakdown.length === 0) {
      box.replaceChildren(h('p', { class: 'muted empty-note' }, 'No failed nodes in this window.'));
      return;
    }
    const max = Math.max(...breakdown.map(([, c]) => c), 1);
    box.replaceChildren(...breakdown.map(([node, count]) => {
      const fill = h('span', { class: 'bar-fill' });
      fill.style.setProperty('width', `${Math.max(2, (count / max) * 100)}%`);
      return h('div', {
        class: 'bar-row', 'data-testid': 'failed-node-bar', 'data-node': node, 'data-count': count,
        title: `${node}: ${count} failure${count === 1 ? '' : 's'}`,
      },
      h('span', { class: 'bar-label mono' }, node),
      h('span', { class: 'bar-track', 'aria-hidden': 'true' }, fill),
      h('span', { class: 'bar-count num' }, fmtCount(count)));
    }));
  }

  function renderPerf() {
    const { key, dir } = state.perfSort;
    const rows = [...state.nodes].sort((a, b) => {
      const av = a[key];
      const bv = b[key];
      if (typeof av === 'string' || typeof bv === 'string') return dir * String(av ?? '').localeCompare(String(bv ?? ''));
      return dir * ((num(av) ?? -Infinity) - (num(bv) ?? -Infinity));
    });
    for (const th of byTestId('node-perf-table').querySelectorAll('th[data-key]')) {
      if (th.dataset.key === key) th.setAttribute('aria-sort', dir > 0 ? 'ascending' : 'descending');
      else th.removeAttribute('aria-sort');
    }
    const tbody = $('#perf-rows');
    if (rows.length === 0) {
      tbody.replaceChildren(h('tr', { class: 'empty-row' }, h('td', { colspan: 8 }, 'No node runs in this window.')));
      return;
    }
    const slowest = Math.max(...rows.map((r) => num(r.p95_ms) ?? 0));
    tbody.replaceChildren(...rows.map((r) => {
      const rate = num(r.failure_rate) ?? 0;
      return h('tr', { 'data-node': String(r.node), class: rate > 0 ? 'has-failures' : null },
        h('th', { scope: 'row', class: 'mono' }, String(r.node)),
        h('td', { class: 'num' }, fmtCount(r.runs)),
        h('td', { class: `num${num(r.failures) ? ' text-failed' : ''}` }, fmtCount(r.failures)),
        h('td', { class: `num${rate > 0 ? ' text-failed' : ''}` }, fmtPercent(r.failure_rate)),
        h('td', { class: 'num' }, fmtMs(r.p50_ms)),
        h('td', { class: `num${slowest > 0 && num(r.p95_ms) === slowest ? ' slowest' : ''}` }, fmtMs(r.p95_ms)),
        h('td', { class: 'num' }, fmtMs(r.p99_ms)),
        h('td', { class: 'num' }, fmtMs(r.avg_ms)));
    }));
  }

  // ------------------------------------------------------------- tree panel

  let detailController = null;
  let panelOpener = null;

  async function openExecution(id, { push = false, opener = null, focus = true } = {}) {
    const panel = byTestId('tree-panel');
    const changed = state.exec !== id;
    state.exec = id;
    if (opener) panelOpener = opener;
    if (push && changed) writeUrl(true);
    markSelectedRow();
    panel.hidden = false;
    document.body.classList.add('drawer-open');
    $('#tree-title').textContent = `Execution ${shortId(id)}`;
    if (changed || !state.detail || state.detail.id !== id) {
      $('#tree-body').replaceChildren(h('p', { class: 'muted' }, 'Loading execution…'));
    }
    if (focus) $('#tree-title').focus();
    await loadDetail(id);
  }

  async function loadDetail(id) {
    if (detailController) detailController.abort();
    const ctl = new AbortController();
    detailController = ctl;
    try {
      const detail = await api(`${API}/logs/${encodeURIComponent(id)}`, null, { signal: ctl.signal });
      if (ctl !== detailController || state.exec !== id) return;
      state.detail = detail;
      renderDetail(detail);
      loadConversation(detail, ctl.signal);
    } catch (err) {
      if (err.name === 'AbortError' || ctl !== detailController) return;
      const msg = err.status === 404
        ? `Execution ${id} was not found.`
        : describeError(err);
      $('#tree-body').replaceChildren(h('p', { class: 'panel-error', role: 'alert' }, msg));
    }
  }

  function closePanel({ push = true } = {}) {
    const panel = byTestId('tree-panel');
    if (panel.hidden) return;
    if (detailController) detailController.abort();
    panel.hidden = true;
    document.body.classList.remove('drawer-open');
    state.exec = null;
    state.detail = null;
    if (push) writeUrl(true);
    markSelectedRow();
    const opener = panelOpener;
    panelOpener = null;
    if (opener && opener.isConnected) opener.focus();
    else {
      // The row may have been re-rendered: focus its new button instead.
      const btn = document.querySelector('#log-rows tr.selected [data-testid="generate-tree"]');
      if (btn) btn.focus();
    }
  }

  function renderDetail(d) {
    const id = String(d.id);
    $('#tree-title').textContent = `Execution ${shortId(id)}`;
    const trace = Array.isArray(d.execution_trace) ? d.execution_trace : [];
    const entries = normalizeTrace(trace, parseTime(d.started_at));
    const roots = buildTree(entries, d.status);
    const slowest = slowestLeaf(entries);

    const summary = h('dl', { class: 'summary' },
      h('div', null, h('dt', null, 'Status'), h('dd', null, statusBadge(d.status))),
      h('div', null, h('dt', null, 'Duration'), h('dd', { class: 'tabular' }, d.status === 'running' && d.total_duration_ms == null ? 'running…' : fmtMs(d.total_duration_ms))),
      h('div', null, h('dt', null, 'Started'), h('dd', null, h('time', { datetime: d.started_at || null, title: fullTime(d.started_at) }, fmtTime(d.started_at)))),
      h('div', null, h('dt', null, 'Completed'), h('dd', null, d.completed_at ? h('time', { datetime: d.completed_at, title: fullTime(d.completed_at) }, fmtTime(d.completed_at)) : '—')),
      h('div', null, h('dt', null, 'User'), h('dd', null, filterLink('user_id', d.user_id))),
      h('div', null, h('dt', null, 'Conversation'), h('dd', null, d.conversation_id ? filterLink('conversation_id', d.conversation_id) : '—')),
      h('div', { class: 'summary-wide' }, h('dt', null, 'Execution id'), h('dd', null,
        h('span', { class: 'mono selectable' }, id), ' ',
        h('button', { type: 'button', class: 'btn-copy', 'aria-label': 'Copy execution id', title: 'Copy full id', onclick: () => copyText(id) }, copyIcon()))));

    const texts = h('div', { class: 'texts' },
      textBlock('Request', d.request_message, ''),
      textBlock('Response', d.response_message, ''),
      d.error_summary ? textBlock('Error summary', d.error_summary, 'text-block-error') : null);

    const treeSection = h('section', { class: 'detail-section', 'aria-labelledby': 'tree-heading' },
      h('h3', { id: 'tree-heading' }, 'Execution path',
        h('span', { class: 'muted heading-note' }, ` ${entries.length} node run${entries.length === 1 ? '' : 's'}`)));
    if (entries.length === 0) {
      treeSection.append(h('p', { class: 'muted' }, d.status === 'running'
        ? 'No node has finished yet.' : 'This execution recorded no node trace.'));
    } else {
      treeSection.append(h('div', { class: 'tree', role: 'list', 'aria-label': 'Execution path by superstep' },
        renderSteps(roots, slowest)));
    }

    const sections = [summary, texts, treeSection];
    if (entries.length) sections.push(renderWaterfall(treeOrder(roots), d, slowest));
    sections.push(h('section', { class: 'detail-section', id: 'conversation-section', hidden: true }));
    $('#tree-body').replaceChildren(...sections);
  }

  function filterLink(key, value) {
    const v = String(value ?? '');
    return h('button', {
      type: 'button', class: 'link mono', title: `Show only executions with this ${key === 'user_id' ? 'user' : 'conversation'}`,
      onclick: () => { applyFilters({ [key]: v }); syncControls(); },
    }, v);
  }

  function textBlock(label, text, extra) {
    const has = text !== null && text !== undefined && String(text) !== '';
    return h('div', { class: `text-block ${extra}` },
      h('div', { class: 'text-label' }, label),
      has ? h('pre', { class: 'text-body' }, String(text)) : h('p', { class: 'muted text-body' }, '—'));
  }

  /** Give every trace entry a start, an end, a step, a parent and an attempt. */
  function normalizeTrace(trace, runStart) {
    let cursor = runStart;
    return trace.map((raw, i) => {
      const e = raw && typeof raw === 'object' ? raw : {};
      const dur = Math.max(0, num(e.execution_time_ms) ?? 0);
      const endAt = parseTime(e.timestamp);
      let start = parseTime(e.started_at);
      if (start === null && endAt !== null) start = endAt - dur;
      if (start === null) start = cursor ?? 0;
      const end = endAt ?? start + dur;
      cursor = Math.max(cursor ?? end, end);
      const step = Number.isInteger(e.step) ? e.step : i;
      const attempt = Number.isInteger(e.attempt) && e.attempt > 0 ? e.attempt : 1;
      const parent = typeof e.parent === 'string' ? e.parent.replace(/^\/+|\/+$/g, '') : '';
      return {
        idx: i, node: String(e.node ?? '?'), status: String(e.status || 'unknown'), dur, start, end,
        step, attempt, parent, error: e.error === null || e.error === undefined ? '' : String(e.error),
      };
    });
  }

  /**
   * Turn the flat trace into nested groups. A group is one node run with all its
   * attempts; subgraph entries (parent "a/b") hang under the run of "b" inside "a"
   * whose time span contains them. A parent that never reported (still running,
   * or missing from the trace) gets a placeholder group.
   */
  function buildTree(entries, execStatus) {
    const lists = new Map();
    const listFor = (path) => {
      if (!lists.has(path)) lists.set(path, []);
      return lists.get(path);
    };
    const ordered = [...entries].sort((a, b) => a.start - b.start || a.idx - b.idx);
    for (const e of ordered) {
      const list = listFor(e.parent);
      let group = null;
      if (e.attempt > 1) {
        for (let j = list.length - 1; j >= 0; j -= 1) {
          const g = list[j];
          if (!g.synthetic && g.node === e.node && g.attempts[g.attempts.length - 1].attempt < e.attempt) {
            group = g;
            break;
          }
        }
      }
      if (!group) {
        group = { node: e.node, step: e.step, attempts: [], children: [], synthetic: false, start: e.start, end: e.end };
        list.push(group);
      }
      group.attempts.push(e);
      group.start = Math.min(group.start, e.start);
      group.end = Math.max(group.end, e.end);
    }
    for (const list of lists.values()) {
      for (const g of list) g.attempts.sort((a, b) => a.attempt - b.attempt || a.start - b.start);
    }

    const depth = (p) => (p ? p.split('/').length : 0);
    const done = new Set();
    for (;;) {
      let path = null;
      for (const p of lists.keys()) {
        if (p && !done.has(p) && (path === null || depth(p) > depth(path))) path = p;
      }
      if (path === null) break;
      done.add(path);
      const segments = path.split('/');
      const name = segments.pop();
      const ancestors = listFor(segments.join('/'));
      for (const g of lists.get(path)) {
        let target = pickParent(ancestors, name, g);
        if (!target) {
          target = {
            node: name, step: null, attempts: [], children: [], synthetic: true,
            start: g.start, end: g.end, status: execStatus === 'running' ? 'running' : 'unknown',
          };
          ancestors.push(target);
        }
        target.children.push(g);
        if (target.synthetic) {
          target.start = Math.min(target.start, g.start);
          target.end = Math.max(target.end, g.end);
        }
      }
    }
    return lists.get('') || [];
  }

  /** Entries in the order the tree shows them: by step, parents before their subgraph. */
  function treeOrder(groups, out = []) {
    for (const row of stepRows(groups)) {
      for (const g of row.groups) {
        out.push(...g.attempts);
        treeOrder(g.children, out);
      }
    }
    return out;
  }

  /**
   * The longest node run that is not a subgraph container (a container's time
   * includes its children's, so it would hide the node that is actually slow).
   */
  function slowestLeaf(entries) {
    const containers = new Set(entries.filter((e) => e.parent).flatMap((e) => {
      const segs = e.parent.split('/');
      return segs.map((_, i) => segs.slice(0, i + 1).join('/'));
    }));
    const isContainer = (e) => containers.has(e.parent ? `${e.parent}/${e.node}` : e.node);
    const leaves = entries.filter((e) => !isContainer(e));
    const pool = leaves.length ? leaves : entries;
    return pool.reduce((best, e) => (best === null || e.dur > best.dur ? e : best), null);
  }

  /**
   * The run of `name` that a subgraph group belongs to. Parallel runs of the
   * same subgraph (a fan-out) overlap in time, so time alone cannot tell them
   * apart: each branch runs the subgraph once, so a branch that already holds
   * this node at this step is the wrong one, and the next branch gets it.
   */
  function pickParent(groups, name, child) {
    const t = child.start;
    const candidates = groups.filter((g) => g.node === name);
    if (candidates.length === 0) return null;
    const tolerance = 5;
    const containing = candidates.filter((g) => g.start - tolerance <= t && t <= g.end + tolerance);
    if (containing.length) {
      const taken = (g) => g.children.filter((c) => c.node === child.node && c.step === child.step).length;
      const fewest = Math.min(...containing.map(taken));
      const free = containing.filter((g) => taken(g) === fewest);
      return free[free.length - 1];
    }
    const before = candidates.filter((g) => g.start <= t);
    if (before.length) return before[before.length - 1];
    return candidates[0];
  }

  /** Rows of parallel branches, one row per superstep, in order. */
  function stepRows(groups) {
    const byStep = new Map();
    const floating = [];
    for (const g of groups) {
      if (g.step === null) { floating.push(g); continue; }
      if (!byStep.has(g.step)) byStep.set(g.step, []);
      byStep.get(g.step).push(g);
    }
    const rows = [...byStep.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([step, gs]) => ({ step, groups: gs.sort((a, b) => a.start - b.start) }));
    for (const g of floating.sort((a, b) => a.start - b.start)) {
      const at = rows.findIndex((r) => Math.min(...r.groups.map((x) => x.start)) > g.start);
      const row = { step: null, groups: [g] };
      if (at === -1) rows.push(row);
      else rows.splice(at, 0, row);
    }
    return rows;
  }

  function renderSteps(groups, slowest) {
    const rows = stepRows(groups);
    return h('ol', { class: 'steps' }, rows.map((row) => {
      const parallel = row.groups.length > 1;
      return h('li', { class: 'step', 'data-step': row.step ?? '' },
        h('div', { class: 'step-label' },
          h('span', { class: 'step-num' }, row.step === null ? '?' : String(row.step)),
          parallel ? h('span', { class: 'step-parallel', title: `${row.groups.length} branches ran in parallel in this step` }, `×${row.groups.length}`) : null),
        h('div', { class: `branches${parallel ? ' is-parallel' : ''}` },
          row.groups.map((g) => renderGroup(g, slowest))));
    }));
  }

  function groupStatus(g) {
    if (g.synthetic) return g.status;
    return g.attempts[g.attempts.length - 1].status;
  }

  function renderGroup(g, slowest) {
    const status = groupStatus(g);
    const retried = g.attempts.length > 1;
    const card = h('div', {
      class: `branch status-${cssToken(status)}${retried ? ' retried' : ''}${g.synthetic ? ' synthetic' : ''}`,
      role: 'listitem',
    });
    const head = h('div', { class: 'branch-head' },
      h('span', { class: 'node-name mono' }, g.node),
      retried ? h('span', { class: 'tag tag-retry', title: 'The node was retried' }, `${g.attempts.length} attempts`) : null,
      g.synthetic ? h('span', { class: 'tag', title: 'This node has not reported its own result' }, status === 'running' ? 'running' : 'no record') : null,
      g.children.length ? h('span', { class: 'tag tag-subgraph' }, 'subgraph') : null);
    card.append(head);

    if (g.synthetic) {
      card.append(h('div', {
        class: 'attempt placeholder', 'data-testid': 'tree-node-placeholder', 'data-node': g.node, 'data-status': status,
      }, h('span', { class: 'muted' }, `${fmtMs(g.end - g.start)} span of its children`)));
    }

    if (g.attempts.length) {
      card.append(h('ol', { class: 'attempts' }, g.attempts.map((e) => renderAttempt(e, retried, slowest))));
    }

    if (g.children.length) {
      card.append(h('div', { class: 'subgraph' }, renderSteps(g.children, slowest)));
    }
    return card;
  }

  function renderAttempt(e, retried, slowest) {
    const isSlowest = slowest && slowest === e && e.dur > 0;
    return h('li', {
      class: `attempt status-${cssToken(e.status)}${isSlowest ? ' is-slowest' : ''}`,
      'data-testid': 'tree-node', 'data-node': e.node, 'data-status': e.status,
      'data-attempt': e.attempt, 'data-step': e.step, 'data-parent': e.parent || null,
    },
    h('div', { class: 'attempt-line' },
      h('span', { class: 'status-dot', 'aria-hidden': 'true' }),
      retried ? h('span', { class: 'attempt-num' }, `attempt ${e.attempt}`) : null,
      h('span', { class: `attempt-status text-${cssToken(e.status)}` }, e.status),
      h('span', { class: 'attempt-dur num' }, fmtMs(e.dur)),
      isSlowest ? h('span', { class: 'tag tag-slow' }, 'slowest') : null),
    e.error ? h('pre', { class: 'node-error', 'data-testid': 'tree-error' }, e.error) : null);
  }

  function renderWaterfall(entries, d, slowest) {
    const runStartRaw = parseTime(d.started_at);
    const minStart = Math.min(...entries.map((e) => e.start));
    const runStart = runStartRaw !== null && runStartRaw <= minStart ? runStartRaw : minStart;
    const total = num(d.total_duration_ms);
    const runEnd = Math.max(
      ...entries.map((e) => e.end),
      parseTime(d.completed_at) ?? -Infinity,
      total !== null ? runStart + total : -Infinity,
    );
    const span = Math.max(1, runEnd - runStart);
    const rows = entries;

    const axis = h('div', { class: 'wf-axis', 'aria-hidden': 'true' },
      h('span', { class: 'wf-label' }),
      h('span', { class: 'wf-ticks' }, [0, 0.25, 0.5, 0.75, 1].map((f) => {
        const tick = h('span', { class: 'wf-tick' }, fmtMs(span * f));
        tick.style.setProperty('left', `${f * 100}%`);
        return tick;
      })),
      h('span', { class: 'wf-dur' }));

    const list = h('ol', { class: 'wf-rows' }, rows.map((e) => {
      const offset = e.start - runStart;
      const bar = h('span', { class: `wf-bar status-${cssToken(e.status)}${slowest === e ? ' is-slowest' : ''}` });
      bar.style.setProperty('left', `${Math.max(0, Math.min(100, (offset / span) * 100))}%`);
      bar.style.setProperty('width', `${Math.max(0, Math.min(100, (e.dur / span) * 100))}%`);
      const depth = e.parent ? e.parent.split('/').length : 0;
      const label = h('span', { class: 'wf-label mono', title: `${e.parent ? `${e.parent}/` : ''}${e.node}` },
        e.node, e.attempt > 1 ? h('span', { class: 'muted' }, ` #${e.attempt}`) : null);
      label.style.setProperty('padding-left', `${depth * 0.9}rem`);
      return h('li', {
        class: `wf-row${slowest === e ? ' is-slowest' : ''}`, 'data-testid': 'waterfall-row', 'data-node': e.node,
        title: `${e.node}: starts +${fmtMs(offset)}, takes ${fmtMs(e.dur)} (${e.status})`,
      }, label,
      h('span', { class: 'wf-track' }, bar),
      h('span', { class: 'wf-dur num' }, fmtMs(e.dur)));
    }));

    return h('section', { class: 'detail-section', 'aria-labelledby': 'wf-heading' },
      h('h3', { id: 'wf-heading' }, 'Timeline',
        h('span', { class: 'muted heading-note' }, ` offset from run start, total ${fmtMs(span)}`)),
      h('div', { class: 'waterfall' }, axis, list));
  }

  async function loadConversation(d, signal) {
    if (!d.conversation_id) return;
    try {
      const data = await api(`${API}/conversations/${encodeURIComponent(d.conversation_id)}/logs`,
        { limit: 20, offset: 0 }, { signal });
      const section = $('#conversation-section');
      if (!section || state.exec !== String(d.id)) return;
      const logs = Array.isArray(data.logs) ? data.logs : [];
      if (logs.length <= 1) return;
      section.hidden = false;
      section.replaceChildren(
        h('h3', null, 'Other turns in this conversation',
          h('span', { class: 'muted heading-note' }, ` ${fmtCount(data.total)} in total`)),
        h('ol', { class: 'turns' }, logs.map((r) => {
          const current = String(r.id) === String(d.id);
          return h('li', { class: current ? 'current' : null },
            h('button', {
              type: 'button', class: 'turn', disabled: current,
              'aria-current': current ? 'true' : null,
              onclick: () => openExecution(String(r.id), { push: true }),
            },
            statusBadge(r.status),
            h('span', { class: 'turn-time' }, fmtTime(r.started_at)),
            h('span', { class: 'turn-text' }, oneLine(r.request_message, 80))));
        })));
    } catch { /* the conversation list is a convenience: ignore failures */ }
  }

  // -------------------------------------------------------------- live stream

  const stream = { es: null, retry: 0, timer: null, reloadOnOpen: false };

  function setLive(live, text) {
    const el = byTestId('live-indicator');
    el.dataset.state = live ? 'live' : 'disconnected';
    $('.live-text', el).textContent = text || (live ? 'Live' : 'Disconnected — reconnecting');
  }

  function setListenerState(s) {
    const el = $('#listener-state');
    el.dataset.state = s;
    if (s === 'connected') {
      el.hidden = true;
      el.textContent = '';
    } else {
      el.hidden = false;
      el.textContent = 'Database listener reconnecting — updates may lag';
    }
  }

  function ensureStream() {
    if (!stream.es && !stream.timer && typeof EventSource === 'function') startStream();
  }

  function startStream() {
    if (stream.es) stream.es.close();
    clearTimeout(stream.timer);
    stream.timer = null;
    const f = state.filters;
    // Status is filtered here, not on the server: a row shown as running must
    // still receive its final event when the table is filtered to "running".
    const url = `${API}/stream${qs({ user_id: f.user_id, conversation_id: f.conversation_id, access_token: getToken() })}`;
    const es = new EventSource(url);
    stream.es = es;
    setLive(false, 'Connecting…');
    es.addEventListener('open', () => {
      if (stream.es !== es) return;
      stream.retry = 0;
      setLive(true);
      if (stream.reloadOnOpen) {
        stream.reloadOnOpen = false;
        loadLogs();
        loadStats();
      }
    });
    es.addEventListener('error', () => {
      if (stream.es !== es) return;
      setLive(false);
      if (es.readyState === EventSource.CLOSED) {
        // The browser gave up (server down, or 401): retry ourselves, and
        // reload the table on reconnect since we lose Last-Event-ID replay.
        es.close();
        stream.es = null;
        scheduleReconnect();
      }
    });
    es.addEventListener('execution', (ev) => {
      let row;
      try { row = JSON.parse(ev.data); } catch { return; }
      if (row && typeof row === 'object' && row.id !== undefined && row.id !== null) onExecutionEvent(row);
    });
    es.addEventListener('listener', (ev) => {
      try {
        const data = JSON.parse(ev.data);
        if (data && typeof data.state === 'string') setListenerState(data.state);
      } catch { /* ignore malformed */ }
    });
  }

  function scheduleReconnect() {
    clearTimeout(stream.timer);
    const base = Math.min(30000, 1000 * 2 ** stream.retry);
    const delay = base / 2 + Math.random() * (base / 2);
    stream.retry = Math.min(stream.retry + 1, 10);
    stream.reloadOnOpen = true;
    stream.timer = setTimeout(async () => {
      stream.timer = null;
      try {
        // A cheap authenticated call: asks for the token on 401 before reopening.
        await api(`${API}/stats`, { hours: 1 });
        startStream();
      } catch (err) {
        if (err.status === 401) { setLive(false, 'Disconnected — token needed'); return; }
        scheduleReconnect();
      }
    }, delay);
  }

  function matchesFilters(row) {
    const f = state.filters;
    if (f.status && row.status !== f.status) return false;
    if (f.user_id && String(row.user_id) !== f.user_id) return false;
    if (f.conversation_id && String(row.conversation_id ?? '') !== f.conversation_id) return false;
    const started = parseTime(row.started_at);
    if (started !== null && started < Date.now() - f.hours * 3600 * 1000) return false;
    if (f.q) {
      const needle = f.q.toLowerCase();
      const hay = `${row.request_message ?? ''}\n${row.response_message ?? ''}`.toLowerCase();
      if (!hay.includes(needle)) return false;
    }
    return true;
  }

  function onExecutionEvent(incoming) {
    const row = { ...incoming, id: String(incoming.id) };
    const i = state.rows.findIndex((r) => String(r.id) === row.id);
    if (i >= 0) {
      const old = state.rows[i];
      if (old.status !== 'running' && row.status === 'running') return; // stale replay
      state.rows[i] = { ...old, ...row };
      replaceRow(row.id, state.rows[i]);
    } else if (state.loaded && matchesFilters(row)) {
      if (state.filters.offset === 0) {
        insertRow(row);
      } else {
        state.pendingNew += 1;
        renderNewRowsNotice();
      }
    }
    if (row.id === state.exec && (!state.detail || state.detail.status !== row.status)) loadDetail(row.id);
    scheduleStatsRefresh();
  }

  function replaceRow(id, row) {
    const old = document.querySelector(`#log-rows tr[data-id="${CSS.escape(id)}"]`);
    if (!old) return;
    const focused = old.contains(document.activeElement) ? document.activeElement.getAttribute('data-testid') : null;
    const fresh = renderRow(row);
    fresh.classList.toggle('selected', id === state.exec);
    fresh.classList.add('flash');
    old.replaceWith(fresh);
    if (focused) {
      const target = fresh.querySelector(`[data-testid="${focused}"]`);
      if (target) target.focus();
    }
    if (panelOpener && !panelOpener.isConnected && id === state.exec) {
      panelOpener = fresh.querySelector('[data-testid="generate-tree"]');
    }
  }

  function insertRow(row) {
    const started = parseTime(row.started_at) ?? Date.now();
    let at = state.rows.findIndex((r) => (parseTime(r.started_at) ?? 0) < started);
    if (at === -1) at = state.rows.length;
    state.total += 1;
    if (at >= state.filters.limit) { renderTable(); return; } // belongs to a later page
    state.rows.splice(at, 0, row);
    if (state.rows.length > state.filters.limit) state.rows.length = state.filters.limit;
    renderTable();
    const tr = document.querySelector(`#log-rows tr[data-id="${CSS.escape(row.id)}"]`);
    if (tr) tr.classList.add('flash');
  }

  // Running rows show a live elapsed time.
  setInterval(() => {
    for (const el of document.querySelectorAll('.elapsed[data-since]')) {
      el.textContent = elapsed(Number(el.dataset.since));
    }
  }, 1000);

  // ------------------------------------------------------------------ wiring

  function debounce(fn, ms) {
    let t = null;
    return (...args) => { clearTimeout(t); t = setTimeout(() => fn(...args), ms); };
  }

  function wire() {
    const form = $('#filters');
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      applyFilters(readTextFilters());
    });
    form.elements.status.addEventListener('change', (ev) => applyFilters({ status: ev.target.value }));
    form.elements.hours.addEventListener('change', (ev) => applyFilters({ hours: parseInt(ev.target.value, 10) }));
    const typed = debounce(() => applyFilters(readTextFilters()), 350);
    for (const name of TEXT_FILTERS) {
      form.elements[name].addEventListener('input', typed);
      form.elements[name].addEventListener('change', () => applyFilters(readTextFilters()));
    }
    $('#clear-filters').addEventListener('click', () => {
      applyFilters({ status: '', user_id: '', conversation_id: '', q: '', hours: DEFAULTS.hours });
      syncControls();
    });

    byTestId('prev-page').addEventListener('click', () => {
      const f = state.filters;
      applyFilters({ offset: Math.max(0, f.offset - f.limit) });
    });
    byTestId('next-page').addEventListener('click', () => {
      const f = state.filters;
      if (f.offset + state.rows.length < state.total) applyFilters({ offset: f.offset + f.limit });
    });
    $('#page-size').addEventListener('change', (ev) => applyFilters({ limit: parseInt(ev.target.value, 10), offset: 0 }));
    $('#new-rows').addEventListener('click', () => {
      applyFilters({ offset: 0 });
      $('#logs').focus();
    });

    $('#refresh').addEventListener('click', () => { loadLogs(); loadStats(); if (state.exec) loadDetail(state.exec); });
    $('#sign-in').addEventListener('click', async () => {
      const ok = await askForToken(false);
      if (ok) { loadLogs(); loadStats(); if (state.exec) loadDetail(state.exec); }
    });

    for (const th of byTestId('node-perf-table').querySelectorAll('th[data-key]')) {
      $('button', th).addEventListener('click', () => {
        const key = th.dataset.key;
        const s = state.perfSort;
        state.perfSort = { key, dir: s.key === key ? -s.dir : (key === 'node' ? 1 : -1) };
        renderPerf();
      });
    }

    $('#tree-close').addEventListener('click', () => closePanel());
    document.addEventListener('keydown', (ev) => {
      if (ev.key !== 'Escape' || ev.defaultPrevented) return;
      if ($('#token-dialog').open) return;
      if (!byTestId('tree-panel').hidden) {
        ev.preventDefault();
        closePanel();
      }
    });

    window.addEventListener('popstate', () => {
      const before = state.filters;
      readUrl();
      syncControls();
      const f = state.filters;
      if (Object.keys(f).some((k) => f[k] !== before[k])) loadLogs();
      if (f.hours !== before.hours) loadStats();
      if ((f.user_id !== before.user_id || f.conversation_id !== before.conversation_id) && stream.es) startStream();
      if (state.exec) openExecution(state.exec, { focus: false });
      else closePanel({ push: false });
    });
  }

  function readTextFilters() {
    const form = $('#filters');
    const out = {};
    for (const name of TEXT_FILTERS) out[name] = form.elements[name].value.trim();
    return out;
  }

  function start() {
    readUrl();
    syncControls();
    wire();
    renderTable();
    // Logs first: when a token is needed, one request asks for it and the
    // others follow with it instead of each failing with a 401.
    loadLogs().finally(() => {
      loadStats();
      if (state.exec) openExecution(state.exec, { focus: false });
    });
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
