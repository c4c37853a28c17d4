/*
 * The price table the server was configured with (MODEL_PRICES in the app,
 * create_dashboard_router(prices=...) in the library), read once from
 * dashboard-config.json beside the page. No table, or a failed read, means
 * no costs are shown: never a guessed price.
 */

let loading = null;

/** { prices: {model: {input, output}}, currency } (per 1,000 tokens). */
export function loadPriceTable() {
  if (!loading) {
    loading = fetch('dashboard-config.json', { cache: 'no-cache', credentials: 'same-origin' })
      .then((res) => (res.ok ? res.json() : {}))
      .catch(() => ({}))
      .then((body) => ({
        prices: body && body.prices && typeof body.prices === 'object' ? body.prices : {},
        currency: body && typeof body.currency === 'string' ? body.currency : 'USD',
      }));
  }
  return loading;
}
