/*
 * The filter form, the pager and the page size: they edit the filters in
 * state.js and show them back after every change (also after Back/Forward).
 */

import { $, byTestId, debounce, h } from './dom.js';
import { DEFAULTS, HOURS, TEXT_FILTERS } from './filters.js';
import { applyFilters, state } from './state.js';

function readTextFilters() {
  const form = $('#filters');
  const out = {};
  for (const name of TEXT_FILTERS) out[name] = form.elements[name].value.trim();
  return out;
}

/** Show the filters in the form (leaving alone the field being typed in). */
export function syncControls() {
  const f = state.filters;
  const form = $('#filters');
  const set = (el, value) => {
    if (el !== document.activeElement && el.value !== value) el.value = value;
  };
  set(form.elements.status, f.status);
  for (const name of TEXT_FILTERS) set(form.elements[name], f[name]);
  const hoursSel = form.elements.hours;
  if (!HOURS.includes(f.hours) && !hoursSel.querySelector(`option[value="${f.hours}"]`)) {
    hoursSel.append(h('option', { value: f.hours }, `Last ${f.hours} hours`));
  }
  set(hoursSel, String(f.hours));
  const sizeSel = $('#page-size');
  if (!sizeSel.querySelector(`option[value="${f.limit}"]`)) {
    sizeSel.append(h('option', { value: f.limit }, String(f.limit)));
  }
  set(sizeSel, String(f.limit));
}

export function initControls({ onShowLatest }) {
  const form = $('#filters');
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    applyFilters(readTextFilters());
  });
  form.elements.status.addEventListener('change', (ev) => applyFilters({ status: ev.target.value }));
  form.elements.hours.addEventListener('change', (ev) => applyFilters({ hours: parseInt(ev.target.value, 10) }));
  const typed = debounce(() => applyFilters(readTextFilters()), 350);
  for (const name of TEXT_FILTERS) {
    form.elements[name].addEventListener('input', typed);
    form.elements[name].addEventListener('change', () => applyFilters(readTextFilters()));
  }
  $('#clear-filters').addEventListener('click', () => {
    applyFilters({ status: '', user_id: '', conversation_id: '', q: '', hours: DEFAULTS.hours });
  });

  byTestId('prev-page').addEventListener('click', () => {
    const f = state.filters;
    applyFilters({ offset: Math.max(0, f.offset - f.limit) });
  });
  byTestId('next-page').addEventListener('click', () => {
    const f = state.filters;
    if (f.offset + state.listing.rows.length < state.listing.total) applyFilters({ offset: f.offset + f.limit });
  });
  $('#page-size').addEventListener('change', (ev) => applyFilters({ limit: parseInt(ev.target.value, 10), offset: 0 }));
  $('#new-rows').addEventListener('click', () => {
    applyFilters({ offset: 0 });
    onShowLatest();
  });
}
