// The tree algorithm (static/tree.js): execution_trace -> supersteps,
// parallel branches, subgraphs under their parent run, retry attempts.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  branchLabel, buildTree, executionTree, groupStatus, normalizeTrace, slowestLeaf, stepRows, treeOrder,
} from '../../langgraph_execution_monitor/dashboard/static/tree.js';

const T0 = Date.parse('2026-02-13T14:30:00.000Z');
const iso = (ms) => new Date(T0 + ms).toISOString();

/** A trace entry that started `at` ms after T0 and took `ms`. */
function entry(node, step, at, ms, extra = {}) {
  return {
    node, status: 'completed', execution_time_ms: ms, error: null,
    started_at: iso(at), timestamp: iso(at + ms), step, parent: null, attempt: 1, ...extra,
  };
}

const names = (groups) => groups.map((g) => g.node);

test('supersteps come out in step order, whatever the trace order', () => {
  const { roots } = executionTree({
    started_at: iso(0),
    execution_trace: [entry('c', 3, 40, 5), entry('a', 1, 0, 10), entry('b', 2, 20, 10)],
  });
  const rows = stepRows(roots);
  assert.deepEqual(rows.map((r) => r.step), [1, 2, 3]);
  assert.deepEqual(rows.map((r) => names(r.groups)), [['a'], ['b'], ['c']]);
});

test('nodes of one superstep are parallel branches of one row, by start time', () => {
  const { roots } = executionTree({
    execution_trace: [
      entry('fan', 1, 0, 5),
      entry('writer_b', 2, 8, 30), entry('writer_a', 2, 6, 50),
      entry('join', 3, 60, 5),
    ],
  });
  const rows = stepRows(roots);
  assert.equal(rows.length, 3);
  assert.deepEqual(names(rows[1].groups), ['writer_a', 'writer_b']);
});

test('retry attempts of a node form one group, in attempt order', () => {
  const { roots } = executionTree({
    execution_trace: [
      entry('data_checker', 3, 60, 30, { status: 'failed', error: 'timed out' }),
      entry('data_checker', 3, 95, 25, { attempt: 2 }),
    ],
  });
  assert.equal(roots.length, 1);
  const [g] = roots;
  assert.deepEqual(g.attempts.map((e) => [e.attempt, e.status]), [[1, 'failed'], [2, 'completed']]);
  assert.equal(g.attempts[0].error, 'timed out');
  assert.equal(groupStatus(g), 'completed', 'the last attempt decides');
});

test('two runs of one node in different steps are two groups, not retries', () => {
  const { roots } = executionTree({
    execution_trace: [entry('tool', 1, 0, 5), entry('agent', 2, 6, 5), entry('tool', 3, 12, 5)],
  });
  assert.deepEqual(names(roots), ['tool', 'agent', 'tool']);
  assert.ok(roots.every((g) => g.attempts.length === 1));
});

test('subgraph nodes hang under their parent run, nested by path', () => {
  const { roots, entries } = executionTree({
    execution_trace: [
      entry('outer', 1, 0, 100),
      entry('inner', 1, 10, 60, { parent: 'outer' }),
      entry('leaf', 1, 20, 30, { parent: 'outer/inner' }),
      entry('after', 2, 105, 5),
    ],
  });
  assert.deepEqual(names(roots), ['outer', 'after']);
  const [outer] = roots;
  assert.deepEqual(names(outer.children), ['inner']);
  assert.deepEqual(names(outer.children[0].children), ['leaf']);
  assert.equal(entries.find((e) => e.node === 'leaf').parent, 'outer/inner');
});

test('a fan-out of one subgraph gives each branch its own subgraph run', () => {
  // Two platform_writer branches overlap in time; each ran draft then polish.
  const { roots } = executionTree({
    execution_trace: [
      entry('platform_writer', 2, 0, 100),
      entry('platform_writer', 2, 0, 90),
      entry('draft_post', 1, 1, 20, { parent: 'platform_writer' }),
      entry('draft_post', 1, 1, 25, { parent: 'platform_writer' }),
      entry('polish_post', 2, 30, 20, { parent: 'platform_writer' }),
      entry('polish_post', 2, 30, 25, { parent: 'platform_writer' }),
    ],
  });
  assert.equal(roots.length, 2);
  for (const branch of roots) {
    assert.deepEqual(names(branch.children).sort(), ['draft_post', 'polish_post']);
  }
});

test('a parent that never reported becomes a synthetic group spanning its children', () => {
  const running = executionTree({
    status: 'running',
    execution_trace: [
      entry('a', 1, 0, 5),
      entry('child1', 1, 10, 10, { parent: 'sub' }),
      entry('child2', 2, 25, 10, { parent: 'sub' }),
    ],
  });
  const sub = running.roots.find((g) => g.node === 'sub');
  assert.ok(sub && sub.synthetic);
  assert.equal(groupStatus(sub), 'running');
  assert.equal(sub.end - sub.start, 25);
  assert.deepEqual(names(sub.children), ['child1', 'child2']);
  // Synthetic groups have no step: they are placed by time, after "a".
  assert.deepEqual(stepRows(running.roots).map((r) => names(r.groups)), [['a'], ['sub']]);

  const finished = executionTree({ status: 'failed', execution_trace: [entry('x', 1, 0, 5, { parent: 'gone' })] });
  assert.equal(groupStatus(finished.roots[0]), 'unknown');
});

test('treeOrder lists parents before their subgraph, steps in order', () => {
  const { order } = executionTree({
    execution_trace: [
      entry('after', 2, 105, 5),
      entry('leaf', 1, 20, 30, { parent: 'outer' }),
      entry('outer', 1, 0, 100),
    ],
  });
  assert.deepEqual(order.map((e) => e.node), ['outer', 'leaf', 'after']);
});

test('the slowest node is a leaf, not the subgraph container that holds it', () => {
  const entries = normalizeTrace([
    entry('outer', 1, 0, 100),
    entry('slow_leaf', 1, 5, 80, { parent: 'outer' }),
    entry('fast', 2, 101, 10),
  ], T0);
  assert.equal(slowestLeaf(entries).node, 'slow_leaf');
  assert.equal(slowestLeaf([]), null);
});

test('entries lacking fields still get a start, an end, a step and an attempt', () => {
  const entries = normalizeTrace([
    { node: 'only_end', execution_time_ms: 10, timestamp: iso(30) },
    { node: 'nothing' },
    null,
    'not an object',
    { node: 'bad_values', step: 'x', attempt: 0, execution_time_ms: -5, parent: '/a/b/' },
  ], T0);
  assert.equal(entries.length, 5);
  assert.deepEqual([entries[0].start - T0, entries[0].end - T0], [20, 30]);
  assert.equal(entries[1].start, T0 + 30, 'no times: starts where the previous one ended');
  assert.deepEqual(entries.map((e) => e.step), [0, 1, 2, 3, 4], 'no step: its index');
  assert.ok(entries.every((e) => e.attempt >= 1));
  assert.equal(entries[2].node, '?');
  assert.equal(entries[4].dur, 0);
  assert.equal(entries[4].parent, 'a/b');
  // And the tree of such a trace still builds.
  assert.equal(treeOrder(buildTree(entries, 'completed')).length, 5);
});

test('a missing or malformed trace draws as an empty tree', () => {
  for (const trace of [undefined, null, {}, 'x']) {
    const tree = executionTree({ execution_trace: trace });
    assert.deepEqual([tree.entries, tree.roots, tree.order, tree.slowest], [[], [], [], null]);
  }
});

test('a tool call hangs under the Send branch whose output answers it', () => {
  const tools = (callId, at) => entry('tools', 2, at, 10, {
    branch: callId === 'call-a' ? 0 : 1,
    output: { messages: [{ type: 'tool', tool_call_id: callId }] },
  });
  const call = (callId, at) => entry('weather', 2, at, 2, { parent: 'tools', type: 'tool', branch: callId });
  const { roots } = executionTree({
    execution_trace: [call('call-a', 1), call('call-b', 1), tools('call-a', 0), tools('call-b', 0)],
  });
  const byBranch = Object.fromEntries(roots.map((g) => [g.attempts[0].branch, g.children.map((c) => c.attempts[0].branch)]));
  assert.deepEqual(byBranch, { 0: ['call-a'], 1: ['call-b'] });
});

test('a Send branch is labelled by its index, a tool call by its id', () => {
  const [send, tool, plain] = normalizeTrace([
    entry('work', 2, 0, 1, { branch: 2 }),
    entry('weather', 2, 0, 1, { type: 'tool', branch: 'call-x', parent: 'tools' }),
    entry('agent', 1, 0, 1),
  ]);
  assert.equal(branchLabel(send), 'Send #2');
  assert.equal(branchLabel(tool), 'call-x');
  assert.equal(branchLabel(plain), null);
});

test('a normalised entry keeps the failure type, traceback, tokens and output', () => {
  const [e] = normalizeTrace([entry('a', 1, 0, 1, {
    status: 'failed', error: 'boom', error_type: 'ValueError', traceback: 'tb',
    tokens: { input: 1, output: 2, total: 3 }, llm_calls: [{ model: 'm' }], output: { x: 1 }, cached: true,
  })]);
  assert.deepEqual(
    [e.errorType, e.traceback, e.tokens.total, e.llmCalls.length, e.output, e.hasOutput, e.cached],
    ['ValueError', 'tb', 3, 1, { x: 1 }, true, true],
  );
});
