/*
 * Execution monitor dashboard: the entry module. It reads the page's URL,
 * wires the modules together and starts loading.
 *
 *   config.js   where the API is (relative to the page)
 *   api.js      the API client; auth.js the token dialog
 *   filters.js  filters and URL (pure); state.js the page's state
 *   listing.js  a live event applied to the listing (pure)
 *   table.js    the executions table, drawn once per frame
 *   live.js     the SSE stream
 *   stats.js    the overview panel
 *   tree.js     execution_trace -> tree (pure); drawer.js draws it
 *   controls.js the filter form and pager (user_suggestions.js the user
 *               filter's suggestions); keyboard.js the keys
 *   views.js    the tabs: executions, errors (errors_view.js), threads
 *               (threads_view.js); download.js the listing's export
 *   node_details.js, cost.js, payload.js, prices.js  what a node run shows
 *
 * No build step and no network beyond the monitoring API.
 */

import { askForToken, onTokenChanged } from './auth.js';
import { $ } from './dom.js';
import { initControls, syncControls } from './controls.js';
import { closePanel, executionChanged, loadDetail, openExecution } from './drawer.js';
import { initKeyboard } from './keyboard.js';
import { ensureStream, initLive, restartStream } from './live.js';
import { initStats, loadStats, scheduleStatsRefresh } from './stats.js';
import { followUrl, onFiltersChanged, readUrl, state } from './state.js';
import { initTable, loadLogs, renderNow, statusBadge } from './table.js';
import { exportListing } from './download.js';
import { sameSelection } from './filters.js';
import { initErrorsView, loadErrors } from './errors_view.js';
import { initThreadsView, loadThreads } from './threads_view.js';
import { initViews, reloadView, showView } from './views.js';
import { runTree } from './drawer.js';

function reloadAll() {
  loadLogs();
  loadStats();
  reloadView();
  if (state.exec) loadDetail(state.exec);
}

function start() {
  readUrl();
  syncControls();
  initTable({
    onOpen: (id, { opener }) => openExecution(id, { history: 'push', opener }),
    onLoaded: ensureStream,
  });
  initStats();
  initLive({
    onReconnected: () => { loadLogs(); loadStats(); },
    onReset: () => { loadLogs(); loadStats(); },
    onEvent: (row) => { executionChanged(row); scheduleStatsRefresh(); },
  });
  initControls({ onShowLatest: () => $('#logs').focus() });
  initKeyboard();
  const openFromView = (id, opener) => openExecution(id, { history: 'push', opener });
  initErrorsView({ onOpen: openFromView });
  initThreadsView({ runTree, statusBadge, onOpen: openFromView });
  for (const button of document.querySelectorAll('[data-export]')) {
    button.addEventListener('click', () => exportListing(button.dataset.export));
  }

  onFiltersChanged((before, after) => {
    syncControls();
    loadLogs();
    // The overview and the other views follow every filter but the page.
    if (!sameSelection(before, after)) { loadStats(); reloadView(); }
    if (after.user_id !== before.user_id || after.conversation_id !== before.conversation_id) restartStream();
  });
  // A new token: reload with it (the stream reopens with it, or opens once the
  // listing has loaded).
  onTokenChanged(() => { reloadAll(); restartStream(); });

  $('#refresh').addEventListener('click', reloadAll);
  $('#sign-in').addEventListener('click', () => askForToken({ explicit: true }));
  $('#tree-close').addEventListener('click', () => closePanel());
  window.addEventListener('popstate', () => {
    followUrl();
    showView(state.view);
    if (state.exec) openExecution(state.exec, { focus: false });
    else closePanel({ push: false });
  });

  renderNow(false);
  initViews({ errors: loadErrors, threads: loadThreads });
  // Logs first: when a token is needed, one request asks for it and the
  // others follow with it instead of each failing with a 401.
  loadLogs().finally(() => {
    loadStats();
    if (state.exec) openExecution(state.exec, { focus: false });
  });
}

start();
