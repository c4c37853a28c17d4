/*
 * A sparkline of hourly counts: the points of an SVG polyline in a w x h box,
 * oldest hour on the left, the highest count touching the top. Pure (no DOM):
 * tests/js/spark.test.mjs.
 */

export function sparkPoints(counts, w, h) {
  const values = (Array.isArray(counts) ? counts : []).map((v) => (Number.isFinite(v) && v > 0 ? v : 0));
  if (values.length === 0) return '';
  const max = Math.max(1, ...values);
  const step = values.length > 1 ? w / (values.length - 1) : 0;
  const round = (v) => Math.round(v * 10) / 10;
  return values.map((v, i) => `${round(i * step)},${round(h - (v / max) * h)}`).join(' ');
}
