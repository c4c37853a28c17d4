/*
 * Tokens and cost of a run's LLM calls. The price table comes from the
 * server (dashboard-config.json: model -> price per 1,000 input and output
 * tokens); a cost is only ever computed from a known price, and a sum says how
 * many calls it could not price. Pure (no DOM): tests/js/cost.test.mjs.
 */

import { num } from './format.js';

/**
 * The price of a model: its exact entry, else the longest entry ending in "*"
 * whose stem starts the model's name ("gpt-4o*" prices "gpt-4o-2024-08-06").
 */
export function priceFor(model, prices) {
  if (!prices || model === null || model === undefined) return null;
  const name = String(model);
  if (Object.hasOwn(prices, name)) return validPrice(prices[name]);
  let best = null;
  let bestLen = -1;
  for (const key of Object.keys(prices)) {
    if (!key.endsWith('*')) continue;
    const stem = key.slice(0, -1);
    if (name.startsWith(stem) && stem.length > bestLen) {
      best = prices[key];
      bestLen = stem.length;
    }
  }
  return best === null ? null : validPrice(best);
}

function validPrice(p) {
  if (!p || typeof p !== 'object') return null;
  const input = num(p.input);
  const output = num(p.output);
  return input === null || output === null ? null : { input, output };
}

/** The cost of one call, or null (no price for its model, or no token counts). */
export function callCost(call, prices) {
  const c = call && typeof call === 'object' ? call : {};
  const price = priceFor(c.model, prices);
  if (!price) return null;
  const input = num(c.input_tokens);
  const output = num(c.output_tokens);
  if (input === null && output === null) return null;
  return ((input ?? 0) * price.input + (output ?? 0) * price.output) / 1000;
}

/**
 * What a list of calls cost: { cost, priced, unpriced, unpricedModels }.
 * `cost` is null when no call could be priced.
 */
export function costOf(calls, prices) {
  let cost = null;
  let priced = 0;
  let unpriced = 0;
  const unpricedModels = new Set();
  for (const call of Array.isArray(calls) ? calls : []) {
    const c = callCost(call, prices);
    if (c === null) {
      unpriced += 1;
      unpricedModels.add(String(call && call.model !== undefined && call.model !== null ? call.model : 'unknown model'));
    } else {
      priced += 1;
      cost = (cost ?? 0) + c;
    }
  }
  return { cost, priced, unpriced, unpricedModels: [...unpricedModels] };
}

/** Every LLM call of a trace (all entries, nested ones included). */
export function traceCalls(trace) {
  const out = [];
  for (const e of Array.isArray(trace) ? trace : []) {
    if (e && Array.isArray(e.llm_calls)) out.push(...e.llm_calls);
  }
  return out;
}

/** Token counts {input, output, total} of an entry, or null when it has none. */
export function entryTokens(e) {
  const t = e && e.tokens && typeof e.tokens === 'object' ? e.tokens : null;
  if (!t) return null;
  const input = num(t.input) ?? 0;
  const output = num(t.output) ?? 0;
  const total = num(t.total) ?? input + output;
  return input || output || total ? { input, output, total } : null;
}

/** A cost as money: cents for sums over a cent, three significant digits below. */
export function fmtCost(value, currency = 'USD') {
  const v = num(value);
  if (v === null) return '—';
  const opts = { style: 'currency', currency };
  if (v !== 0 && Math.abs(v) < 1) opts.maximumSignificantDigits = 3;
  else opts.maximumFractionDigits = 2;
  try {
    return new Intl.NumberFormat('en-US', opts).format(v);
  } catch {
    return `${v.toPrecision(3)} ${currency}`;
  }
}
