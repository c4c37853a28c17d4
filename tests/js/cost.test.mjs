// Tokens and cost (static/cost.js): prices per 1,000 tokens, exact names and
// "prefix*" entries, costs only from known prices.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  callCost, costOf, entryTokens, fmtCost, priceFor, traceCalls,
} from '../../langgraph_execution_monitor/dashboard/static/cost.js';

const PRICES = {
  'gpt-4o': { input: 2.5, output: 10 },
  'gpt-4o*': { input: 1, output: 1 },
  'gpt-*': { input: 9, output: 9 },
};

test('an exact price wins over a prefix', () => {
  assert.deepEqual(priceFor('gpt-4o', PRICES), { input: 2.5, output: 10 });
});

test('the longest matching prefix prices a dated model name', () => {
  assert.deepEqual(priceFor('gpt-4o-2024-08-06', PRICES), { input: 1, output: 1 });
  assert.deepEqual(priceFor('gpt-3.5', PRICES), { input: 9, output: 9 });
});

test('a model without a price has none', () => {
  assert.equal(priceFor('claude', PRICES), null);
  assert.equal(priceFor(null, PRICES), null);
  assert.equal(priceFor('gpt-4o', null), null);
});

test('a price that is not two numbers is no price', () => {
  assert.equal(priceFor('m', { m: { input: 'x', output: 1 } }), null);
});

test('a call costs its tokens at the price per 1,000', () => {
  const cost = callCost({ model: 'gpt-4o', input_tokens: 1000, output_tokens: 500 }, PRICES);
  assert.equal(cost, 2.5 + 5);
});

test('a call without token counts has no cost', () => {
  assert.equal(callCost({ model: 'gpt-4o', input_tokens: null, output_tokens: null }, PRICES), null);
});

test('a sum counts the calls it could not price and names their models', () => {
  const c = costOf([
    { model: 'gpt-4o', input_tokens: 1000, output_tokens: 0 },
    { model: 'claude', input_tokens: 10, output_tokens: 10 },
  ], PRICES);
  assert.deepEqual(c, { cost: 2.5, priced: 1, unpriced: 1, unpricedModels: ['claude'] });
});

test('no priced call means no cost, not zero', () => {
  assert.equal(costOf([{ model: 'claude', input_tokens: 1, output_tokens: 1 }], PRICES).cost, null);
  assert.equal(costOf([], PRICES).cost, null);
});

test('every entry of a trace gives its calls, nested ones included', () => {
  const calls = traceCalls([
    { node: 'a', llm_calls: [{ model: 'x' }] },
    { node: 'tool' },
    { node: 'inner', parent: 'tools/research', llm_calls: [{ model: 'y' }, { model: 'z' }] },
  ]);
  assert.deepEqual(calls.map((c) => c.model), ['x', 'y', 'z']);
});

test('an entry with zero tokens shows none', () => {
  assert.equal(entryTokens({ tokens: { input: 0, output: 0, total: 0 } }), null);
  assert.equal(entryTokens({}), null);
  assert.deepEqual(entryTokens({ tokens: { input: 3, output: 2, total: 5 } }), { input: 3, output: 2, total: 5 });
});

test('costs under a unit show three significant digits, larger ones cents', () => {
  assert.equal(fmtCost(0.0395), '$0.0395');
  assert.equal(fmtCost(0.000012345), '$0.0000123');
  assert.equal(fmtCost(12.345), '$12.35');
  assert.equal(fmtCost(1, 'EUR'), '€1.00');
});
