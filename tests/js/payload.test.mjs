// Stored JSON values as the drawer shows them (static/payload.js).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { describePayload, isTruncated, payloadHint } from '../../langgraph_execution_monitor/dashboard/static/payload.js';

test('a value is shown as pretty JSON', () => {
  assert.deepEqual(describePayload({ a: [1] }), { kind: 'json', text: '{\n  "a": [\n    1\n  ]\n}' });
});

test('a string is shown as it is', () => {
  assert.deepEqual(describePayload('plain <b>'), { kind: 'json', text: 'plain <b>' });
});

test("the writer's marker of a cut value gives its preview and size", () => {
  const cut = { truncated: true, chars: 100000, preview: '{"messages":' };
  assert.ok(isTruncated(cut));
  assert.deepEqual(describePayload(cut), { kind: 'truncated', preview: '{"messages":', chars: 100000, reason: null });
});

test('a value cut for depth says why', () => {
  assert.equal(describePayload({ truncated: true, reason: 'nested too deep' }).reason, 'nested too deep');
});

test('an object with a truncated key that is not true is an ordinary value', () => {
  assert.equal(describePayload({ truncated: 'no' }).kind, 'json');
});

test('nothing stored is none', () => {
  assert.equal(describePayload(null).kind, 'none');
  assert.equal(describePayload(undefined).kind, 'none');
});

test('the hint gives the size', () => {
  assert.equal(payloadHint({ a: 1 }), '12 chars');
  assert.equal(payloadHint('x'.repeat(4096)), '4.0 KB');
  assert.equal(payloadHint({ truncated: true, chars: 20000, preview: '' }), 'cut, 20,000 chars');
});
