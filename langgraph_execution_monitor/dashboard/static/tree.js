/*
 * From a run's `execution_trace` to the tree the drawer draws: supersteps in
 * order, parallel branches of one superstep side by side, subgraph nodes under
 * the run of their parent (`parent` is a path such as "outer/inner"), and the
 * retry attempts of a node grouped in one card.
 *
 * Pure (no DOM): tests/js/tree.test.mjs runs it under `node --test`.
 */

import { num, parseTime } from './format.js';

/**
 * Give every trace entry a start, an end, a step, a parent and an attempt,
 * whatever the entry lacks: traces written before those fields existed, or by
 * another writer, still draw.
 */
export function normalizeTrace(trace, runStart) {
  let cursor = runStart;
  return (Array.isArray(trace) ? trace : []).map((raw, i) => {
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
    const branch = typeof e.branch === 'string' || Number.isInteger(e.branch) ? e.branch : null;
    return {
      idx: i, node: String(e.node ?? '?'), status: String(e.status || 'unknown'), dur, start, end,
      step, attempt, parent, error: e.error === null || e.error === undefined ? '' : String(e.error),
      type: typeof e.type === 'string' ? e.type : 'node',
      branch,
      taskId: typeof e.task_id === 'string' ? e.task_id : null,
      errorType: typeof e.error_type === 'string' ? e.error_type : '',
      traceback: typeof e.traceback === 'string' ? e.traceback : '',
      output: e.output,
      hasOutput: Object.hasOwn(e, 'output'),
      outputDropped: e.output_dropped === true,
      llmCalls: Array.isArray(e.llm_calls) ? e.llm_calls : [],
      tokens: e.tokens && typeof e.tokens === 'object' ? e.tokens : null,
      cached: e.cached === true,
    };
  });
}

/**
 * Turn the flat entries into nested groups. A group is one node run with all
 * its attempts; subgraph entries (parent "a/b") hang under the run of "b"
 * inside "a" whose time span contains them. A parent that never reported
 * (still running, or missing from the trace) gets a synthetic group.
 */
export function buildTree(entries, execStatus) {
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

  // Deepest paths first, so that a subgraph's groups already hold their own
  // children when they are attached to their parent.
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

/**
 * The run of `name` that a subgraph group belongs to. Parallel runs of the
 * same subgraph (a fan-out) overlap in time, so time alone cannot tell them
 * apart: each branch runs the subgraph once, so a branch that already holds
 * this node at this step is the wrong one, and the next branch gets it.
 */
export function pickParent(groups, name, child) {
  const t = child.start;
  const candidates = groups.filter((g) => g.node === name);
  if (candidates.length === 0) return null;
  // A tool call knows its id; the node run that made it returned a message
  // with that id (ToolNode's branches under Send all overlap in time).
  const callId = toolCallId(child);
  if (callId !== null) {
    const answering = candidates.filter((g) => g.attempts.some((e) => outputMentionsCall(e.output, callId)));
    if (answering.length === 1) return answering[0];
  }
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

function toolCallId(group) {
  const e = group.attempts[0];
  return e && e.type === 'tool' && typeof e.branch === 'string' ? e.branch : null;
}

/** Whether a node's stored output holds a message answering this tool call. */
export function outputMentionsCall(output, callId) {
  const messages = output && typeof output === 'object' && Array.isArray(output.messages) ? output.messages : [];
  return messages.some((m) => m && typeof m === 'object' && m.tool_call_id === callId);
}

/**
 * How a node run is told apart from its siblings: "Send #2" for a Send
 * branch, the tool call's id for a tool, null otherwise.
 */
export function branchLabel(e) {
  if (e.branch === null || e.branch === undefined) return null;
  if (e.type === 'tool') return String(e.branch);
  return Number.isInteger(e.branch) ? `Send #${e.branch}` : String(e.branch);
}

/**
 * Rows of parallel branches, one row per superstep, in order. Synthetic
 * groups (no step of their own) are placed by their start time.
 */
export function stepRows(groups) {
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

/** Entries in the order the tree shows them: by step, parents before their subgraph. */
export function treeOrder(groups, out = []) {
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
export function slowestLeaf(entries) {
  const containers = new Set(entries.filter((e) => e.parent).flatMap((e) => {
    const segs = e.parent.split('/');
    return segs.map((_, i) => segs.slice(0, i + 1).join('/'));
  }));
  const isContainer = (e) => containers.has(e.parent ? `${e.parent}/${e.node}` : e.node);
  const leaves = entries.filter((e) => !isContainer(e));
  const pool = leaves.length ? leaves : entries;
  return pool.reduce((best, e) => (best === null || e.dur > best.dur ? e : best), null);
}

/** A group's status: its last attempt's, or (synthetic) what the run says. */
export function groupStatus(g) {
  if (g.synthetic) return g.status;
  return g.attempts[g.attempts.length - 1].status;
}

/** Everything the drawer draws from one execution document. */
export function executionTree(detail) {
  const d = detail && typeof detail === 'object' ? detail : {};
  const entries = normalizeTrace(d.execution_trace, parseTime(d.started_at));
  const roots = buildTree(entries, d.status);
  return { entries, roots, order: treeOrder(roots), slowest: slowestLeaf(entries) };
}
