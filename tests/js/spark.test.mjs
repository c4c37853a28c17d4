// The errors view's sparkline points (static/spark.js).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { sparkPoints } from '../../langgraph_execution_monitor/dashboard/static/spark.js';

test('hours run left to right and the highest count touches the top', () => {
  assert.equal(sparkPoints([0, 2, 1], 100, 18), '0,18 50,0 100,9');
});

test('no failures is a flat line at the bottom', () => {
  assert.equal(sparkPoints([0, 0], 10, 5), '0,5 10,5');
});

test('bad counts are zero and no counts is no line', () => {
  assert.equal(sparkPoints([NaN, -3, 4], 2, 4), '0,4 1,4 2,0');
  assert.equal(sparkPoints([], 10, 5), '');
});
