/*
 * The page's views: Executions (overview and table), Errors (groups) and
 * Threads (conversations), picked by the tabs and kept in the URL (?view=).
 * A view loads its data when it is shown and when the filters change.
 */

import { $ } from './dom.js';
import { state, VIEWS, writeUrl } from './state.js';

const loaders = {};

/** loaders: { errors: fn, threads: fn } reload a view's data. */
export function initViews(options) {
  Object.assign(loaders, options);
  for (const tab of document.querySelectorAll('[data-view-tab]')) {
    tab.addEventListener('click', () => showView(tab.dataset.viewTab, { push: true }));
  }
  showView(state.view, { push: false });
}

export function showView(view, { push = false } = {}) {
  const next = VIEWS.includes(view) ? view : 'executions';
  const changed = state.view !== next;
  state.view = next;
  for (const tab of document.querySelectorAll('[data-view-tab]')) {
    const on = tab.dataset.viewTab === next;
    tab.setAttribute('aria-selected', on ? 'true' : 'false');
    tab.tabIndex = on ? 0 : -1;
  }
  for (const el of document.querySelectorAll('[data-view]')) {
    el.hidden = !el.dataset.view.split(' ').includes(next);
  }
  if (push && changed) writeUrl(true);
  reloadView();
}

/** Reload the data of the view shown (the executions view reloads itself). */
export function reloadView() {
  const load = loaders[state.view];
  if (load) load();
}

export function viewShown(view) {
  return state.view === view && !$(`[data-view~="${view}"]`).hidden;
}
