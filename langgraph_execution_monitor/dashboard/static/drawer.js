/*
 * The execution drawer ("Generate Tree"): a run's summary, its request and
 * response, the tree of its node runs (tree.js), a waterfall of their timings,
 * and the conversation's other turns.
 *
 * Long texts are cut to a first part with a button that shows the rest: a
 * 1 MB response must not freeze the page when the drawer opens. What a node
 * run shows inside its card (output, error, tokens, cost) is node_details.js.
 */

import { api, describeError } from './api.js';
import { $, byTestId, copyIcon, copyText, data, h } from './dom.js';
import {
  cssToken, fmtCount, fmtMs, fmtTime, fullTime, num, oneLine, parseTime, shortId,
} from './format.js';
import { traceCalls } from './cost.js';
import {
  attemptError, attemptSections, attemptTags, cappedText, inputSection, runUsage,
} from './node_details.js';
import { loadPriceTable } from './prices.js';
import { groupStatus, executionTree, stepRows } from './tree.js';
import { applyFilters, state, writeUrl } from './state.js';
import { focusRow, markSelectedRow, statusBadge } from './table.js';

export const TEXT_CAP = 20_000;
const ERROR_CAP = 4_000;

let detailController = null;
let panelOpener = null;

/**
 * Show an execution in the drawer. history: 'push' adds a history entry,
 * 'replace' updates the URL in place (j/k), 'none' leaves it (Back/Forward).
 */
export async function openExecution(id, { history = 'none', opener = null, focus = true } = {}) {
  const panel = byTestId('tree-panel');
  const changed = state.exec !== id;
  state.exec = id;
  if (opener) panelOpener = opener;
  if (history !== 'none' && changed) writeUrl(history === 'push');
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

export function drawerOpen() {
  return !byTestId('tree-panel').hidden;
}

export async function loadDetail(id) {
  if (detailController) detailController.abort();
  const ctl = new AbortController();
  detailController = ctl;
  try {
    const [detail, table] = await Promise.all([
      api(`logs/${encodeURIComponent(id)}`, null, { signal: ctl.signal }),
      loadPriceTable(),
    ]);
    if (ctl !== detailController || state.exec !== id) return;
    state.detail = detail;
    renderDetail(detail, table);
    loadConversation(detail, ctl.signal);
  } catch (err) {
    if (err.name === 'AbortError' || ctl !== detailController) return;
    const msg = err.status === 404 ? `Execution ${id} was not found.` : describeError(err);
    $('#tree-body').replaceChildren(h('p', { class: 'panel-error', role: 'alert' }, msg));
  }
}

/** A live event for the open execution: reload it when its status changed. */
export function executionChanged(row) {
  if (row.id === state.exec && (!state.detail || state.detail.status !== row.status)) loadDetail(row.id);
}

export function closePanel({ push = true } = {}) {
  const panel = byTestId('tree-panel');
  if (panel.hidden) return;
  if (detailController) detailController.abort();
  const id = state.exec;
  panel.hidden = true;
  document.body.classList.remove('drawer-open');
  state.exec = null;
  state.detail = null;
  if (push) writeUrl(true);
  markSelectedRow();
  const opener = panelOpener;
  panelOpener = null;
  if (opener && opener.isConnected) opener.focus();
  else focusRow(id); // the opener was replaced (a new page): its row, if shown
}

function renderDetail(d, table) {
  const id = String(d.id);
  $('#tree-title').textContent = `Execution ${shortId(id)}`;
  const { entries, roots, order, slowest } = executionTree(d);
  const draw = { slowest, table };

  const summary = h('dl', { class: 'summary' },
    h('div', null, h('dt', null, 'Status'), h('dd', null, statusBadge(d.status))),
    h('div', null, h('dt', null, 'Duration'), h('dd', { class: 'tabular' }, d.status === 'running' && d.total_duration_ms == null ? 'running…' : fmtMs(d.total_duration_ms))),
    h('div', null, h('dt', null, 'Started'), h('dd', null, h('time', { datetime: d.started_at || null, title: fullTime(d.started_at) }, fmtTime(d.started_at)))),
    h('div', null, h('dt', null, 'Completed'), h('dd', null, d.completed_at ? h('time', { datetime: d.completed_at, title: fullTime(d.completed_at) }, fmtTime(d.completed_at)) : '—')),
    h('div', null, h('dt', null, 'User'), h('dd', null, filterLink('user_id', d.user_id))),
    h('div', null, h('dt', null, 'Conversation'), h('dd', null, d.conversation_id ? filterLink('conversation_id', d.conversation_id) : '—')),
    runUsage(d, traceCalls(d.execution_trace), table),
    h('div', { class: 'summary-wide' }, h('dt', null, 'Execution id'), h('dd', null,
      h('span', { class: 'mono selectable' }, data(id)), ' ',
      h('button', { type: 'button', class: 'btn-copy', 'aria-label': 'Copy execution id', title: 'Copy full id', onclick: () => copyText(id) }, copyIcon()))));

  const texts = h('div', { class: 'texts' },
    textBlock('Request', d.request_message, '', 'detail-request'),
    inputSection(d),
    textBlock('Response', d.response_message, '', 'detail-response'),
    d.error_summary ? textBlock('Error summary', d.error_summary, 'text-block-error', 'detail-error') : null);

  const treeSection = h('section', { class: 'detail-section', 'aria-labelledby': 'tree-heading' },
    h('h3', { id: 'tree-heading' }, 'Execution path',
      h('span', { class: 'muted heading-note' }, ` ${entries.length} node run${entries.length === 1 ? '' : 's'}`)));
  if (entries.length === 0) {
    treeSection.append(h('p', { class: 'muted' }, d.status === 'running'
      ? 'No node has finished yet.' : 'This execution recorded no node trace.'));
  } else {
    treeSection.append(h('div', { class: 'tree', role: 'list', 'aria-label': 'Execution path by superstep' },
      renderSteps(roots, draw)));
  }

  const sections = [summary, texts, treeSection];
  if (entries.length) sections.push(renderWaterfall(order, d, slowest));
  sections.push(h('section', { class: 'detail-section', id: 'conversation-section', hidden: true }));
  $('#tree-body').replaceChildren(...sections);
}

/** A run's tree alone (the threads view draws one per turn). */
export function runTree(d, table) {
  const { entries, roots, slowest } = executionTree(d);
  if (entries.length === 0) return h('p', { class: 'muted' }, 'This execution recorded no node trace.');
  return h('div', { class: 'tree', role: 'list', 'aria-label': 'Execution path by superstep' },
    renderSteps(roots, { slowest, table }));
}

function filterLink(key, value) {
  const v = String(value ?? '');
  return h('button', {
    type: 'button', class: 'link mono', title: `Show only executions with this ${key === 'user_id' ? 'user' : 'conversation'}`,
    onclick: () => applyFilters({ [key]: v }),
  }, data(v));
}

function textBlock(label, text, extra, testId) {
  const has = text !== null && text !== undefined && String(text) !== '';
  return h('div', { class: `text-block ${extra}`, 'data-testid': testId },
    h('div', { class: 'text-label' }, label),
    has ? cappedText(text, TEXT_CAP, { class: 'text-body' }) : h('p', { class: 'muted text-body' }, '—'));
}

function renderSteps(groups, draw) {
  const rows = stepRows(groups);
  return h('ol', { class: 'steps' }, rows.map((row) => {
    const parallel = row.groups.length > 1;
    return h('li', { class: 'step', 'data-step': row.step ?? '' },
      h('div', { class: 'step-label' },
        h('span', { class: 'step-num' }, row.step === null ? '?' : String(row.step)),
        parallel ? h('span', { class: 'step-parallel', title: `${row.groups.length} branches ran in parallel in this step` }, `×${row.groups.length}`) : null),
      h('div', { class: `branches${parallel ? ' is-parallel' : ''}` },
        row.groups.map((g) => renderGroup(g, draw))));
  }));
}

function renderGroup(g, draw) {
  const status = groupStatus(g);
  const retried = g.attempts.length > 1;
  const isTool = g.attempts.length > 0 && g.attempts[0].type === 'tool';
  const toolCalls = g.children.filter((c) => c.attempts.length && c.attempts[0].type === 'tool').length;
  const nested = g.children.length - toolCalls;
  const card = h('div', {
    class: `branch status-${cssToken(status)}${retried ? ' retried' : ''}${g.synthetic ? ' synthetic' : ''}${isTool ? ' is-tool' : ''}`,
    role: 'listitem', 'data-testid': 'tree-group', 'data-node': g.node,
  });
  card.append(h('div', { class: 'branch-head' },
    isTool ? h('span', { class: 'tag tag-tool', title: 'A tool call made by the node above' }, 'tool') : null,
    h('span', { class: 'node-name mono' }, data(g.node)),
    retried ? h('span', { class: 'tag tag-retry', title: 'The node was retried' }, `${g.attempts.length} attempts`) : null,
    g.synthetic ? h('span', { class: 'tag', title: 'This node has not reported its own result' }, status === 'running' ? 'running' : 'no record') : null,
    toolCalls ? h('span', { class: 'tag tag-tool', 'data-testid': 'tool-calls-tag' }, `${toolCalls} tool call${toolCalls === 1 ? '' : 's'}`) : null,
    nested ? h('span', { class: 'tag tag-subgraph' }, 'subgraph') : null));

  if (g.synthetic) {
    card.append(h('div', {
      class: 'attempt placeholder', 'data-testid': 'tree-node-placeholder', 'data-node': g.node, 'data-status': status,
    }, h('span', { class: 'muted' }, `${fmtMs(g.end - g.start)} span of its children`)));
  }
  if (g.attempts.length) {
    card.append(h('ol', { class: 'attempts' }, g.attempts.map((e) => renderAttempt(e, retried, draw))));
  }
  if (g.children.length) {
    card.append(h('div', { class: `subgraph${nested ? '' : ' tool-calls'}` }, renderSteps(g.children, draw)));
  }
  return card;
}

function renderAttempt(e, retried, draw) {
  const isSlowest = draw.slowest && draw.slowest === e && e.dur > 0;
  return h('li', {
    class: `attempt status-${cssToken(e.status)}${isSlowest ? ' is-slowest' : ''}`,
    'data-testid': 'tree-node', 'data-node': e.node, 'data-status': e.status,
    'data-attempt': e.attempt, 'data-step': e.step, 'data-parent': e.parent || null,
    'data-type': e.type, 'data-branch': e.branch === null ? null : String(e.branch),
  },
  h('div', { class: 'attempt-line' },
    h('span', { class: 'status-dot', 'aria-hidden': 'true' }),
    retried ? h('span', { class: 'attempt-num' }, `attempt ${e.attempt}`) : null,
    h('span', { class: `attempt-status text-${cssToken(e.status)}` }, data(e.status)),
    h('span', { class: 'attempt-dur num' }, fmtMs(e.dur)),
    isSlowest ? h('span', { class: 'tag tag-slow' }, 'slowest') : null,
    attemptTags(e, draw.table)),
  attemptError(e, ERROR_CAP),
  attemptSections(e, draw.table));
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

  const axis = h('div', { class: 'wf-axis', 'aria-hidden': 'true' },
    h('span', { class: 'wf-label' }),
    h('span', { class: 'wf-ticks' }, [0, 0.25, 0.5, 0.75, 1].map((f) => {
      const tick = h('span', { class: 'wf-tick' }, fmtMs(span * f));
      tick.style.setProperty('left', `${f * 100}%`);
      return tick;
    })),
    h('span', { class: 'wf-dur' }));

  const list = h('ol', { class: 'wf-rows' }, entries.map((e) => {
    const offset = e.start - runStart;
    const bar = h('span', { class: `wf-bar status-${cssToken(e.status)}${slowest === e ? ' is-slowest' : ''}` });
    bar.style.setProperty('left', `${Math.max(0, Math.min(100, (offset / span) * 100))}%`);
    bar.style.setProperty('width', `${Math.max(0, Math.min(100, (e.dur / span) * 100))}%`);
    const depth = e.parent ? e.parent.split('/').length : 0;
    const label = h('span', { class: 'wf-label mono', title: `${e.parent ? `${e.parent}/` : ''}${e.node}` },
      data(e.node), e.attempt > 1 ? h('span', { class: 'muted' }, ` #${e.attempt}`) : null);
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

/** The conversation's other turns, oldest first, numbered; this run's number in the heading. */
async function loadConversation(d, signal) {
  if (!d.conversation_id) return;
  try {
    const body = await api(`conversations/${encodeURIComponent(d.conversation_id)}/logs`,
      { limit: 20, offset: 0 }, { signal });
    const section = $('#conversation-section');
    if (!section || state.exec !== String(d.id)) return;
    const logs = Array.isArray(body.logs) ? body.logs : [];
    const at = logs.findIndex((r) => String(r.id) === String(d.id));
    const others = logs.map((r, i) => ({ r, turn: i + 1 })).filter(({ r }) => String(r.id) !== String(d.id));
    if (others.length === 0) return;
    const total = num(body.total) ?? logs.length;
    const note = at >= 0 ? ` this run is turn ${at + 1} of ${fmtCount(total)}` : ` ${fmtCount(total)} turns`;
    section.hidden = false;
    section.replaceChildren(
      h('h3', null, 'Other turns in this conversation', h('span', { class: 'muted heading-note' }, note)),
      h('ol', { class: 'turns', 'data-testid': 'other-turns' }, others.map(({ r, turn }) => h('li', null,
        h('button', {
          type: 'button', class: 'turn', 'data-testid': 'other-turn', 'data-id': String(r.id),
          onclick: () => openExecution(String(r.id), { history: 'push' }),
        },
        h('span', { class: 'turn-num muted' }, `#${turn}`),
        statusBadge(r.status),
        h('span', { class: 'turn-time' }, fmtTime(r.started_at)),
        h('span', { class: 'turn-text' }, data(oneLine(r.request_message, 80))))))));
  } catch { /* the conversation list is a convenience: ignore failures */ }
}
