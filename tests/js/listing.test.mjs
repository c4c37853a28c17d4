// Live events applied to the listing (static/listing.js) and the filters they
// are checked against (static/filters.js).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { applyEvent, emptyListing } from '../../langgraph_execution_monitor/dashboard/static/listing.js';
import {
  DEFAULTS, matchesFilters, parseSearch, toSearch,
} from '../../langgraph_execution_monitor/dashboard/static/filters.js';

const NOW = Date.parse('2026-02-13T14:30:00.000Z');
const at = (s) => new Date(NOW - s * 1000).toISOString();

function loaded(rows, total = rows.length) {
  return { ...emptyListing(), rows: rows.map((r) => ({ ...r })), total, loaded: true };
}

const run = (id, agoS, extra = {}) => ({ id, status: 'running', user_id: 'u', started_at: at(agoS), ...extra });

test('a new run goes on top and the total grows', () => {
  const l = loaded([run('b', 10), run('c', 20)], 2);
  assert.equal(applyEvent(l, run('a', 1), DEFAULTS, NOW), 'inserted');
  assert.deepEqual(l.rows.map((r) => r.id), ['a', 'b', 'c']);
  assert.equal(l.total, 3);
});

test('a new run leaves a capped total as it is (the server stopped counting)', () => {
  const l = { ...loaded([run('b', 10)], 10000), totalCapped: true };
  assert.equal(applyEvent(l, run('a', 1), DEFAULTS, NOW), 'inserted');
  assert.equal(l.total, 10000);
});

test('a finish updates its row in place', () => {
  const l = loaded([run('a', 1), run('b', 10)]);
  assert.equal(applyEvent(l, { id: 'b', status: 'failed', failed_nodes: ['x'] }, DEFAULTS, NOW), 'updated');
  assert.deepEqual(l.rows.map((r) => [r.id, r.status]), [['a', 'running'], ['b', 'failed']]);
  assert.equal(l.rows[1].user_id, 'u', 'fields the event lacks are kept');
  assert.equal(l.total, 2);
});

test('a replayed start does not undo a finish', () => {
  const l = loaded([run('a', 1, { status: 'completed' })]);
  assert.equal(applyEvent(l, run('a', 1), DEFAULTS, NOW), 'stale');
  assert.equal(l.rows[0].status, 'completed');
});

test('the page keeps its size: the oldest row drops off', () => {
  const filters = { ...DEFAULTS, limit: 2 };
  const l = loaded([run('b', 10), run('c', 20)], 2);
  applyEvent(l, run('a', 1), filters, NOW);
  assert.deepEqual(l.rows.map((r) => r.id), ['a', 'b']);
  assert.equal(l.total, 3);
});

test('an old run that belongs further down only counts', () => {
  const filters = { ...DEFAULTS, limit: 2 };
  const l = loaded([run('a', 1), run('b', 10)], 2);
  assert.equal(applyEvent(l, run('z', 100), filters, NOW), 'counted');
  assert.deepEqual(l.rows.map((r) => r.id), ['a', 'b']);
  assert.equal(l.total, 3);
});

test('on a later page, new runs are announced, not inserted', () => {
  const l = loaded([run('m', 50)]);
  assert.equal(applyEvent(l, run('a', 1), { ...DEFAULTS, offset: 50 }, NOW), 'pending');
  assert.equal(l.pendingNew, 1);
  assert.deepEqual(l.rows.map((r) => r.id), ['m']);
});

test('runs outside the filters, or before the first load, are ignored', () => {
  const l = loaded([]);
  assert.equal(applyEvent(l, run('a', 1, { user_id: 'other' }), { ...DEFAULTS, user_id: 'u' }, NOW), 'ignored');
  assert.equal(applyEvent(emptyListing(), run('a', 1), DEFAULTS, NOW), 'ignored');
});

test('a row shown as running stays when it finishes outside the status filter', () => {
  const l = loaded([run('a', 1)]);
  assert.equal(applyEvent(l, { id: 'a', status: 'completed' }, { ...DEFAULTS, status: 'running' }, NOW), 'updated');
  assert.equal(l.rows[0].status, 'completed');
});

test('filters match status, user, conversation, window and text', () => {
  const row = run('a', 3600 * 2, {
    status: 'failed', user_id: 'alice', conversation_id: 'c1',
    request_message: 'Create a post', response_message: 'Sorry, NoneType',
  });
  const f = { ...DEFAULTS, hours: 24 };
  assert.ok(matchesFilters(row, f, NOW));
  assert.ok(!matchesFilters(row, { ...f, status: 'completed' }, NOW));
  assert.ok(!matchesFilters(row, { ...f, user_id: 'bob' }, NOW));
  assert.ok(!matchesFilters(row, { ...f, conversation_id: 'c2' }, NOW));
  assert.ok(!matchesFilters(row, { ...f, hours: 1 }, NOW));
  assert.ok(matchesFilters(row, { ...f, q: 'nonetype' }, NOW), 'search is case-blind and covers the response');
  assert.ok(!matchesFilters(row, { ...f, q: 'haiku' }, NOW));
});

test('filters survive a round trip through the URL; bad values fall back to defaults', () => {
  const filters = { ...DEFAULTS, status: 'failed', user_id: 'alice', hours: 72, limit: 100, offset: 100, q: 'a b' };
  const back = parseSearch(toSearch(filters, 'exec-1'));
  assert.deepEqual(back, { filters, exec: 'exec-1' });
  assert.equal(toSearch(DEFAULTS, null), '');
  const bad = parseSearch('?status=nope&hours=999&limit=0&offset=-3');
  assert.deepEqual(bad, { filters: { ...DEFAULTS }, exec: null });
});
