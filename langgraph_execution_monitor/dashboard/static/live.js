/*
 * The live stream (Server-Sent Events): every `execution` event is applied to
 * the listing at once (cheap, no DOM) and the table is drawn at most once per
 * animation frame, however many events arrived since the last one. The
 * indicator says whether the page is live, and why not.
 *
 * With a token, the stream is opened with a single-use ticket
 * (POST stream/ticket, then ?ticket=): the token never goes in a URL. A
 * ticket is spent once used, so after an error the page takes a new one
 * rather than letting EventSource retry with the old, and reloads the
 * listing on reconnect (a new EventSource has no Last-Event-ID). A `reset`
 * event (the server could not replay what this page missed) reloads it too.
 */

import { api, apiUrl } from './api.js';
import { getToken, onTokenDeclined } from './auth.js';
import { $, byTestId } from './dom.js';
import { applyEvent } from './listing.js';
import { state } from './state.js';
import { scheduleRender } from './table.js';

const stream = { es: null, retry: 0, timer: null, reloadOnOpen: false, opening: 0, generation: 0 };
let handlers = { onReconnected: () => {}, onEvent: () => {}, onReset: () => {} };

/**
 * onReconnected() reloads what the gap may have missed; onEvent(row) runs per
 * event; onReset() reloads after a `reset` event.
 */
export function initLive(options) {
  handlers = { ...handlers, ...options };
  onTokenDeclined(() => setLive(false, 'Not connected — token needed'));
}

export function setLive(live, text) {
  const el = byTestId('live-indicator');
  el.dataset.state = live ? 'live' : 'disconnected';
  $('.live-text', el).textContent = text || (live ? 'Live' : 'Disconnected — reconnecting');
}

function setListenerState(s) {
  const el = $('#listener-state');
  el.dataset.state = s;
  if (s === 'connected') {
    el.hidden = true;
    el.textContent = '';
  } else {
    el.hidden = false;
    el.textContent = 'Database listener reconnecting — updates may lag';
  }
}

function wanted() {
  return Boolean(stream.es || stream.timer || stream.opening);
}

export function ensureStream() {
  if (!wanted() && typeof EventSource === 'function') startStream();
}

/** (Re)open the stream, for the current filters and token, if it is open or wanted. */
export function restartStream() {
  if (wanted()) startStream();
}

export function startStream() {
  if (stream.es) stream.es.close();
  stream.es = null;
  clearTimeout(stream.timer);
  stream.timer = null;
  const generation = ++stream.generation;
  setLive(false, 'Connecting…');
  if (!getToken()) {
    stream.opening = 0;
    openStream({});
    return;
  }
  stream.opening = generation;
  api('stream/ticket', null, { method: 'POST' }).then((body) => {
    if (stream.generation !== generation) return; // superseded meanwhile
    stream.opening = 0;
    const ticket = body && typeof body.ticket === 'string' ? body.ticket : '';
    openStream({ ticket });
  }, (err) => {
    if (stream.generation !== generation) return;
    stream.opening = 0;
    if (err.status === 401) { setLive(false, 'Not connected — token needed'); return; }
    setLive(false);
    scheduleReconnect();
  });
}

function openStream(auth) {
  const f = state.filters;
  // Status is filtered here, not on the server: a row shown as running must
  // still receive its final event when the table is filtered to "running".
  const url = apiUrl('stream', { user_id: f.user_id, conversation_id: f.conversation_id, ...auth });
  const es = new EventSource(url);
  stream.es = es;
  const withTicket = Boolean(auth.ticket);
  es.addEventListener('open', () => {
    if (stream.es !== es) return;
    stream.retry = 0;
    setLive(true);
    if (stream.reloadOnOpen) {
      stream.reloadOnOpen = false;
      handlers.onReconnected();
    }
  });
  es.addEventListener('error', () => {
    if (stream.es !== es) return;
    setLive(false);
    // A spent ticket cannot reopen the stream: take a new one instead.
    if (es.readyState === EventSource.CLOSED || withTicket) {
      // The browser gave up (server down, or 401): retry ourselves, and
      // reload the table on reconnect since we lose Last-Event-ID replay.
      es.close();
      stream.es = null;
      scheduleReconnect();
    }
  });
  es.addEventListener('execution', (ev) => {
    let row;
    try { row = JSON.parse(ev.data); } catch { return; }
    if (row && typeof row === 'object' && row.id !== undefined && row.id !== null) onExecutionEvent(row);
  });
  es.addEventListener('reset', () => {
    if (stream.es !== es) return;
    handlers.onReset();
  });
  es.addEventListener('listener', (ev) => {
    try {
      const body = JSON.parse(ev.data);
      if (body && typeof body.state === 'string') setListenerState(body.state);
    } catch { /* ignore malformed */ }
  });
}

function scheduleReconnect() {
  clearTimeout(stream.timer);
  const base = Math.min(30000, 1000 * 2 ** stream.retry);
  const delay = base / 2 + Math.random() * (base / 2);
  stream.retry = Math.min(stream.retry + 1, 10);
  stream.reloadOnOpen = true;
  stream.timer = setTimeout(async () => {
    stream.timer = null;
    // With a token, the ticket request is the authenticated check.
    if (getToken()) { startStream(); return; }
    try {
      // A cheap authenticated call: asks for the token on 401 before reopening.
      await api('stats', { hours: 1 });
      startStream();
    } catch (err) {
      if (err.status === 401) { setLive(false, 'Disconnected — token needed'); return; }
      scheduleReconnect();
    }
  }, delay);
}

function onExecutionEvent(incoming) {
  const id = String(incoming.id);
  const what = applyEvent(state.listing, incoming, state.filters);
  if (what === 'updated' || what === 'inserted') scheduleRender(id);
  else if (what === 'counted' || what === 'pending') scheduleRender();
  if (what !== 'stale') handlers.onEvent({ ...incoming, id });
}
