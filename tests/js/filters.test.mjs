// The filters' time window, user prefix, search and their one-line description
// (static/filters.js): what the page sends the API and keeps in its URL.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  ALL_SINCE, DEFAULTS, describeFilters, filterParams, isoInstant, matchesFilters, parseSearch,
  parseUserText, searchText, toSearch, userText, windowParams,
} from '../../langgraph_execution_monitor/dashboard/static/filters.js';

const NOW = Date.parse('2026-02-13T14:30:00.000Z');
const at = (s) => new Date(NOW - s * 1000).toISOString();
const row = (over = {}) => ({
  id: 'exec-1', conversation_id: 'conv-1', user_id: 'alice', status: 'failed', started_at: at(60),
  request_message: 'Create a post', response_message: null, error_summary: "'NoneType' object",
  failed_nodes: ['data_checker'], ...over,
});

test('an hours preset is sent as hours, a longer one as a start', () => {
  assert.deepEqual(windowParams({ ...DEFAULTS, hours: 72 }, NOW), { hours: 72 });
  assert.deepEqual(windowParams({ ...DEFAULTS, range: '30d' }, NOW), { since: '2026-01-14T14:30:00.000Z' });
  assert.deepEqual(windowParams({ ...DEFAULTS, range: 'all' }, NOW), { since: ALL_SINCE });
});

test('a custom range is sent as since and until, either end open', () => {
  const f = { ...DEFAULTS, since: '2026-01-01T00:00:00.000Z', until: '' };
  assert.deepEqual(windowParams(f, NOW), { since: '2026-01-01T00:00:00.000Z', until: null });
});

test('a custom range survives a round trip through the URL', () => {
  const f = { ...DEFAULTS, since: '2026-01-01T00:00:00.000Z', until: '2026-01-02T12:00:00.000Z' };
  assert.equal(toSearch(f, null), '?since=2026-01-01T00%3A00%3A00.000Z&until=2026-01-02T12%3A00%3A00.000Z');
  assert.deepEqual(parseSearch(toSearch(f, null)).filters, f);
});

test('a range preset survives a round trip through the URL', () => {
  const f = { ...DEFAULTS, range: 'all' };
  assert.equal(toSearch(f, null), '?range=all');
  assert.deepEqual(parseSearch('?range=all').filters, f);
});

test('a deep link with the old hours parameter still opens its window', () => {
  assert.deepEqual(parseSearch('?hours=168').filters, { ...DEFAULTS, hours: 168 });
});

test('a URL time without a zone is UTC, as the API takes it; an input value is local', () => {
  assert.equal(isoInstant('2026-01-01T10:00'), '2026-01-01T10:00:00.000Z');
  assert.equal(isoInstant('2026-01-01T10:00', { local: true }), new Date(2026, 0, 1, 10, 0).toISOString());
  assert.equal(isoInstant('yesterday'), '');
});

test('a range whose end is not after its start is dropped from the URL', () => {
  const back = parseSearch('?since=2026-01-02T00:00Z&until=2026-01-01T00:00Z').filters;
  assert.deepEqual(back, { ...DEFAULTS });
});

test('a user typed with a trailing star is a prefix', () => {
  assert.deepEqual(parseUserText('ali*'), { user_id: '', user_id_prefix: 'ali' });
  assert.deepEqual(parseUserText(' alice '), { user_id: 'alice', user_id_prefix: '' });
  assert.equal(userText({ ...DEFAULTS, user_id_prefix: 'ali' }), 'ali*');
});

test('the API parameters carry every filter', () => {
  const f = { ...DEFAULTS, status: 'failed', user_id_prefix: 'ali', q: 'NoneType', hours: 6 };
  assert.deepEqual(filterParams(f, NOW), {
    hours: 6, user_id_prefix: 'ali', status: 'failed', conversation_id: '', q: 'NoneType',
  });
});

test('the description names each filter in effect and the window', () => {
  const f = { ...DEFAULTS, status: 'failed', user_id_prefix: 'ali', q: 'NoneType' };
  assert.equal(describeFilters(f), 'failed · user ali* · “NoneType” · last 24 h');
  assert.equal(describeFilters({ ...DEFAULTS, range: 'all' }), 'all time');
  assert.equal(describeFilters({ ...DEFAULTS, hours: 168 }), 'last 7 days');
});

test('a live row matches a user prefix', () => {
  assert.ok(matchesFilters(row(), { ...DEFAULTS, user_id_prefix: 'ali' }, NOW));
  assert.ok(!matchesFilters(row(), { ...DEFAULTS, user_id_prefix: 'bob' }, NOW));
});

test('a live row matches a search in what the API searches', () => {
  for (const q of ['nonetype', 'data_check', 'exec-1', 'conv-1', 'ALICE']) {
    assert.ok(matchesFilters(row(), { ...DEFAULTS, q }, NOW), q);
  }
  assert.ok(!matchesFilters(row(), { ...DEFAULTS, q: 'haiku' }, NOW));
});

test('the search text reads only the first 1,000 characters of a message', () => {
  const long = row({ request_message: `${'x'.repeat(1000)}needle` });
  assert.ok(!searchText(long).includes('needle'));
});

test('a live row outside a custom range is not shown', () => {
  const past = { ...DEFAULTS, since: at(7200), until: at(3600) };
  assert.ok(!matchesFilters(row(), past, NOW), 'after the end');
  assert.ok(matchesFilters(row({ started_at: at(5000) }), past, NOW));
  assert.ok(!matchesFilters(row(), { ...DEFAULTS, since: at(30) }, NOW), 'before the start');
});
