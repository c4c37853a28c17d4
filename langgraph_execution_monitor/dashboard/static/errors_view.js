/*
 * The errors view: failures grouped by fingerprint (GET errors: node,
 * exception type, normalised message), with counts, users, first and last
 * seen, an hourly sparkline, and the newest runs, each opening the drawer.
 */

import { api, describeError } from './api.js';
import { $, data, h } from './dom.js';
import { fmtCount, fmtTime, fullTime } from './format.js';
import { sparkPoints } from './spark.js';
import { windowLabel, windowParams } from './filters.js';
import { state } from './state.js';

const SVG_NS = 'http://www.w3.org/2000/svg';
let controller = null;
let openRun = () => {};

export function initErrorsView({ onOpen }) { openRun = onOpen; }

function sparkline(counts, bucketHours = 1) {
  const svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('viewBox', '0 0 100 20');
  svg.setAttribute('class', 'spark');
  svg.setAttribute('preserveAspectRatio', 'none');
  svg.setAttribute('role', 'img');
  const per = bucketHours > 1 ? `${Math.round(bucketHours * 10) / 10} hours` : 'hour';
  svg.setAttribute('aria-label', `Failures per ${per}, oldest first: ${counts.join(', ')}`);
  svg.setAttribute('data-testid', 'error-spark');
  svg.dataset.counts = counts.join(',');
  const line = document.createElementNS(SVG_NS, 'polyline');
  line.setAttribute('points', sparkPoints(counts, 100, 18));
  line.setAttribute('fill', 'none');
  line.setAttribute('vector-effect', 'non-scaling-stroke');
  svg.append(line);
  return svg;
}

function groupRow(g, bucketHours) {
  const ids = Array.isArray(g.recent_execution_ids) ? g.recent_execution_ids : [];
  const users = Array.isArray(g.affected_users) ? g.affected_users : [];
  const runs = h('td', { 'data-label': 'Runs' }, h('div', { class: 'run-links' }, ids.slice(0, 5).map((id, i) => h('button', {
    type: 'button', class: 'link mono', 'data-testid': 'error-run', 'data-id': String(id),
    title: `Open run ${id}`, onclick: (ev) => openRun(String(id), ev.currentTarget),
  }, i === 0 ? `latest ${String(id).slice(0, 8)}` : String(id).slice(0, 8))),
  ids.length > 5 ? h('span', { class: 'muted' }, ` +${ids.length - 5}`) : null));
  return h('tr', { 'data-testid': 'error-group', 'data-fingerprint': g.fingerprint },
    h('td', { 'data-label': 'Node', class: 'mono' }, g.node === null ? h('span', { class: 'muted' }, '(run)') : data(g.node)),
    h('td', { 'data-label': 'Error', class: 'error-cell' },
      h('div', { class: 'error-head', 'data-testid': 'error-pattern' },
        g.error_type ? h('span', { class: 'error-type' }, data(g.error_type), ': ') : null, data(g.pattern)),
      h('div', { class: 'muted error-last', title: 'The newest failure' }, data(g.last_message))),
    h('td', { 'data-label': 'Failures', class: 'num', 'data-testid': 'error-failures' }, fmtCount(g.failures)),
    h('td', { 'data-label': 'Runs', class: 'num' }, fmtCount(g.runs)),
    h('td', { 'data-label': 'Users', class: 'num', title: users.join(', ') }, fmtCount(g.users)),
    h('td', { 'data-label': 'First seen' }, h('time', { datetime: g.first_seen, title: fullTime(g.first_seen) }, fmtTime(g.first_seen))),
    h('td', { 'data-label': 'Last seen' }, h('time', { datetime: g.last_seen, title: fullTime(g.last_seen) }, fmtTime(g.last_seen))),
    h('td', { 'data-label': 'Per hour' }, sparkline(Array.isArray(g.hourly) ? g.hourly : [], bucketHours)),
    runs);
}

export async function loadErrors() {
  if (controller) controller.abort();
  const ctl = new AbortController();
  controller = ctl;
  const body = $('#error-rows');
  $('#errors-window').textContent = windowLabel(state.filters);
  try {
    const res = await api('errors', windowParams(state.filters), { signal: ctl.signal });
    if (ctl !== controller) return;
    const groups = Array.isArray(res.groups) ? res.groups : [];
    const bucketHours = Number(res.bucket_hours) || 1;
    body.replaceChildren(...(groups.length ? groups.map((g) => groupRow(g, bucketHours))
      : [h('tr', { class: 'empty-row' }, h('td', { colspan: 9 }, 'No failures in this window.'))]));
  } catch (err) {
    if (err.name === 'AbortError' || ctl !== controller) return;
    body.replaceChildren(h('tr', { class: 'empty-row' }, h('td', { colspan: 9, role: 'alert' }, describeError(err))));
  }
}
