// Formatting helpers (static/format.js).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  fmtMs, oneLine, qs, shortId, tailLabel,
} from '../../langgraph_execution_monitor/dashboard/static/format.js';

test('conversation labels keep the part that differs between demo conversations', () => {
  const labels = ['demo-conv-1', 'demo-conv-2', 'demo-conversation-000017', 'demo-conversation-000018']
    .map((id) => tailLabel(id));
  assert.equal(new Set(labels).size, 4, labels.join(', '));
  assert.equal(tailLabel('demo-conv-1'), 'demo-conv-1', 'short ids are shown whole');
  assert.equal(tailLabel('3f1e2d4c-0000-4000-8000-00000000abcd'), '…000000abcd');
});

test('sub-millisecond durations are not shown as 0 ms', () => {
  assert.equal(fmtMs(0.04), '<0.1 ms');
  assert.equal(fmtMs(0.4), '0.4 ms');
  assert.equal(fmtMs(1234), '1.23 s');
  assert.equal(fmtMs(null), '—');
  assert.equal(fmtMs(3_723_000), '1h 02m');
});

test('oneLine collapses whitespace, cuts long text, and reads only the head of huge text', () => {
  assert.equal(oneLine('a\n\n b\t c', 80), 'a b c');
  assert.equal(oneLine('abcdef', 4), 'abc…');
  const huge = `${'x'.repeat(10)} ${'y'.repeat(1_000_000)}`;
  assert.equal(oneLine(huge, 20).length, 20);
});

test('query strings leave out empty parameters', () => {
  assert.equal(qs({ a: '', b: null, c: ' x ', d: 0 }), '?c=x&d=0');
  assert.equal(qs({}), '');
  assert.equal(shortId('1234567890abc'), '12345678');
});
