/*
 * What the drawer shows inside a node run: its Send branch or tool call, its
 * tokens and cost, the exception type and traceback of a failure, its LLM
 * calls, and its output (collapsed; pretty JSON drawn only when opened, cut
 * at OUTPUT_CAP with a "Show all"; an output the writer cut shows its preview
 * and its size). Also the run's own input and token/cost summary.
 */

import { data, h } from './dom.js';
import { costOf, entryTokens, fmtCost } from './cost.js';
import { fmtCount, fmtMs, num } from './format.js';
import { describePayload, payloadHint } from './payload.js';
import { branchLabel } from './tree.js';

export const OUTPUT_CAP = 4_000;
const TRACEBACK_CAP = 20_000;

/**
 * Text in a <pre>, cut at `cap` characters with a button that shows all of
 * it (drawing a megabyte of text takes the main thread for a while: only
 * when asked).
 */
export function cappedText(text, cap, attrs) {
  const s = String(text);
  const pre = h('pre', attrs, s.length > cap ? s.slice(0, cap) : s);
  if (s.length <= cap) return pre;
  const more = h('button', {
    type: 'button', class: 'btn btn-small show-all', 'data-testid': 'show-all',
    onclick: () => { pre.textContent = s; more.remove(); },
  }, `Show all ${fmtCount(s.length)} characters`);
  return h('div', { class: 'capped' }, pre, more);
}

/** A stored JSON value's content: pretty JSON (capped), or the writer's preview of it. */
export function payloadBody(value) {
  const d = describePayload(value);
  if (d.kind === 'none') return h('p', { class: 'muted' }, 'Nothing stored.');
  if (d.kind === 'truncated') {
    const size = d.chars === null ? '' : ` of ${fmtCount(d.chars)} characters`;
    return h('div', { class: 'payload-truncated', 'data-testid': 'payload-truncated' },
      h('p', { class: 'muted payload-note' },
        d.reason ? `Not stored in full (${d.reason}).` : `Stored in part: the first ${fmtCount(d.preview.length)}${size}.`),
      cappedText(d.preview, OUTPUT_CAP, { class: 'payload-json' }));
  }
  return cappedText(d.text, OUTPUT_CAP, { class: 'payload-json', 'data-testid': 'payload-json' });
}

/**
 * A collapsed section whose body is only built when first opened: a trace
 * of many nodes with large outputs opens at once.
 */
export function lazyDetails(label, hint, build, attrs = {}) {
  const summary = h('summary', null, h('span', { class: 'details-label' }, label),
    hint ? h('span', { class: 'muted details-hint' }, ` ${hint}`) : null);
  const el = h('details', { class: 'details', ...attrs }, summary);
  let built = false;
  el.addEventListener('toggle', () => {
    if (!el.open || built) return;
    built = true;
    el.append(h('div', { class: 'details-body' }, build()));
  });
  return el;
}

function tokenText(t) {
  return `${fmtCount(t.total)} tok (${fmtCount(t.input)} in · ${fmtCount(t.output)} out)`;
}

/** "$0.0012", or with unpriced calls "$0.0012 + 1 unpriced"; null when nothing is priced. */
function costText(calls, table) {
  const c = costOf(calls, table.prices);
  if (c.cost === null) return null;
  const extra = c.unpriced ? ` + ${c.unpriced} unpriced` : '';
  return { text: `${fmtCost(c.cost, table.currency)}${extra}`, summary: c };
}

/** Tags on a node run's line: branch, cached, tokens, cost. */
export function attemptTags(e, table) {
  const tags = [];
  const label = branchLabel(e);
  if (label !== null) {
    tags.push(h('span', {
      class: `tag ${e.type === 'tool' ? 'tag-call' : 'tag-branch'}`, 'data-testid': 'branch-label',
      title: e.type === 'tool' ? 'Tool call id' : 'Index of this Send branch',
    }, data(label)));
  }
  if (e.cached) tags.push(h('span', { class: 'tag', title: 'Served from the node cache' }, 'cached'));
  const t = entryTokens(e);
  if (t) tags.push(h('span', { class: 'tag tag-tokens', 'data-testid': 'node-tokens' }, tokenText(t)));
  const cost = costText(e.llmCalls, table);
  if (cost) {
    tags.push(h('span', {
      class: 'tag tag-cost', 'data-testid': 'node-cost',
      title: cost.summary.unpriced ? `No price for: ${cost.summary.unpricedModels.join(', ')}` : 'From the price table',
    }, cost.text));
  }
  return tags;
}

/** The failure of a node run: "Type: message", and its traceback collapsed. */
export function attemptError(e, errorCap) {
  if (!e.error && !e.errorType) return null;
  const head = e.errorType ? `${e.errorType}: ${e.error}` : e.error;
  return h('div', { class: 'node-failure' },
    cappedText(head, errorCap, { class: 'node-error', 'data-testid': 'tree-error' }),
    e.traceback ? lazyDetails('Traceback', null,
      () => cappedText(e.traceback, TRACEBACK_CAP, { class: 'traceback', 'data-testid': 'traceback' }),
      { 'data-testid': 'traceback-details' }) : null);
}

/** Collapsed sections of a node run: its LLM calls and its output. */
export function attemptSections(e, table) {
  const out = [];
  if (e.llmCalls.length) {
    out.push(lazyDetails(`${e.llmCalls.length} LLM call${e.llmCalls.length === 1 ? '' : 's'}`, null,
      () => llmCallTable(e.llmCalls, table), { 'data-testid': 'llm-calls' }));
  }
  if (e.outputDropped) {
    out.push(h('p', { class: 'muted payload-note', 'data-testid': 'output-dropped' },
      'Output not kept: the trace was over its size limit.'));
  } else if (e.hasOutput && e.output !== null && e.output !== undefined) {
    out.push(lazyDetails('Output', payloadHint(e.output), () => payloadBody(e.output),
      { 'data-testid': 'node-output' }));
  }
  return out;
}

function llmCallTable(calls, table) {
  const anyPriced = costOf(calls, table.prices).priced > 0;
  return h('table', { class: 'llm-table' },
    h('thead', null, h('tr', null,
      h('th', { scope: 'col' }, 'Model'), h('th', { scope: 'col', class: 'num' }, 'In'),
      h('th', { scope: 'col', class: 'num' }, 'Out'), h('th', { scope: 'col', class: 'num' }, 'Total'),
      h('th', { scope: 'col', class: 'num' }, 'Time'),
      anyPriced ? h('th', { scope: 'col', class: 'num' }, 'Cost') : null)),
    h('tbody', null, calls.map((c) => {
      const cost = costOf([c], table.prices).cost;
      return h('tr', { 'data-testid': 'llm-call' },
        h('td', { class: 'mono' }, data(c && c.model !== undefined && c.model !== null ? c.model : '?')),
        h('td', { class: 'num' }, fmtCount(c && c.input_tokens)),
        h('td', { class: 'num' }, fmtCount(c && c.output_tokens)),
        h('td', { class: 'num' }, fmtCount(c && c.total_tokens)),
        h('td', { class: 'num' }, fmtMs(c && c.duration_ms)),
        anyPriced ? h('td', { class: 'num' }, cost === null ? '—' : fmtCost(cost, table.currency)) : null);
    })));
}

/** The run's tokens, LLM calls and cost, as summary rows (nothing when it made no call). */
export function runUsage(d, calls, table) {
  const total = num(d.total_tokens);
  const items = [];
  if (total !== null && (total > 0 || num(d.llm_calls))) {
    items.push(h('div', null, h('dt', null, 'Tokens'), h('dd', { class: 'tabular', 'data-testid': 'run-tokens' },
      tokenText({ total, input: num(d.input_tokens) ?? 0, output: num(d.output_tokens) ?? 0 }))));
  }
  if (num(d.llm_calls)) {
    items.push(h('div', null, h('dt', null, 'LLM calls'), h('dd', { class: 'tabular' }, fmtCount(d.llm_calls))));
  }
  const cost = costText(calls, table);
  if (cost) {
    items.push(h('div', null, h('dt', null, 'Cost'), h('dd', {
      class: 'tabular', 'data-testid': 'run-cost',
      title: cost.summary.unpriced ? `No price for: ${cost.summary.unpricedModels.join(', ')}` : 'From the price table',
    }, cost.text)));
  }
  return items;
}

/** The run's input, collapsed. */
export function inputSection(d) {
  if (!Object.hasOwn(d, 'input') || d.input === null || d.input === undefined) return null;
  const details = lazyDetails('Input', payloadHint(d.input), () => payloadBody(d.input),
    { 'data-testid': 'run-input' });
  return h('div', { class: 'text-block' }, details);
}
