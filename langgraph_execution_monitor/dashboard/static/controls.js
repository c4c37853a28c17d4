/*
 * The filter form, the pager and the page size: they edit the filters in
 * state.js and show them back after every change (also after Back/Forward).
 * The window select offers presets and a custom range (two datetime-local
 * inputs, in the browser's time zone; the URL holds them in UTC).
 */

import { $, byTestId, debounce, h } from './dom.js';
import {
  DEFAULTS, HOURS, SEARCH_HELP, isCustom, isoInstant, localMinute, parseUserText, userText,
} from './filters.js';
import { applyFilters, state } from './state.js';
import { initUserSuggestions } from './user_suggestions.js';

const HOUR_MS = 3600 * 1000;

function readTextFilters() {
  const form = $('#filters');
  return {
    ...parseUserText(form.elements.user.value),
    conversation_id: form.elements.conversation_id.value.trim(),
    q: form.elements.q.value.trim(),
  };
}

/** A datetime-local input's value for an ISO instant (local time, to the minute). */
function inputValue(iso) {
  return iso ? localMinute(iso).replace(' ', 'T') : '';
}

function windowChoice(f) {
  if (isCustom(f)) return 'custom';
  return f.range || String(f.hours);
}

/** Show the filters in the form (leaving alone the field being typed in). */
export function syncControls() {
  const f = state.filters;
  const form = $('#filters');
  const set = (el, value) => {
    if (el !== document.activeElement && el.value !== value) el.value = value;
  };
  set(form.elements.status, f.status);
  set(form.elements.user, userText(f));
  set(form.elements.conversation_id, f.conversation_id);
  set(form.elements.q, f.q);
  const hoursSel = form.elements.hours;
  if (!isCustom(f) && !f.range && !HOURS.includes(f.hours)
      && !hoursSel.querySelector(`option[value="${f.hours}"]`)) {
    hoursSel.querySelector('option[value="30d"]').before(h('option', { value: f.hours }, `Last ${f.hours} hours`));
  }
  set(hoursSel, windowChoice(f));
  showCustom(isCustom(f));
  set(form.elements.since, inputValue(f.since));
  set(form.elements.until, inputValue(f.until));
  const sizeSel = $('#page-size');
  if (!sizeSel.querySelector(`option[value="${f.limit}"]`)) {
    sizeSel.append(h('option', { value: f.limit }, String(f.limit)));
  }
  set(sizeSel, String(f.limit));
}

function showCustom(on) {
  byTestId('custom-range').hidden = !on;
}

/** The window select: a preset, or the custom range starting where the window did. */
function onWindowChosen(value) {
  if (value === 'custom') {
    const f = state.filters;
    const start = f.range === '30d' ? Date.now() - 720 * HOUR_MS
      : f.range === 'all' ? Date.now() - 24 * HOUR_MS : Date.now() - f.hours * HOUR_MS;
    // To the minute, as the inputs show it.
    const since = new Date(Math.floor(start / 60000) * 60000).toISOString();
    showCustom(true);
    applyFilters({ since, until: '', range: '', hours: DEFAULTS.hours });
    $('#filters').elements.since.focus();
    return;
  }
  const preset = value === '30d' || value === 'all'
    ? { range: value, hours: DEFAULTS.hours } : { range: '', hours: parseInt(value, 10) };
  applyFilters({ ...preset, since: '', until: '' });
}

/** The custom inputs: both empty go back to the default window; an end before the start is refused. */
function onRangeEdited() {
  const form = $('#filters');
  const { since: sinceEl, until: untilEl } = form.elements;
  const since = isoInstant(sinceEl.value, { local: true });
  const until = isoInstant(untilEl.value, { local: true });
  untilEl.setCustomValidity(since && until && since >= until ? 'The end must be after the start.' : '');
  if (!untilEl.checkValidity()) { untilEl.reportValidity(); return; }
  if (!since && !until) {
    applyFilters({ since: '', until: '', range: '', hours: DEFAULTS.hours });
    return;
  }
  applyFilters({ since, until, range: '', hours: DEFAULTS.hours });
}

export function initControls({ onShowLatest }) {
  const form = $('#filters');
  byTestId('search-help').textContent = SEARCH_HELP;
  form.elements.q.title = SEARCH_HELP;
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    applyFilters(readTextFilters());
  });
  form.elements.status.addEventListener('change', (ev) => applyFilters({ status: ev.target.value }));
  form.elements.hours.addEventListener('change', (ev) => onWindowChosen(ev.target.value));
  form.elements.since.addEventListener('change', onRangeEdited);
  form.elements.until.addEventListener('change', onRangeEdited);
  const typed = debounce(() => applyFilters(readTextFilters()), 350);
  for (const name of ['user', 'conversation_id', 'q']) {
    form.elements[name].addEventListener('input', typed);
    form.elements[name].addEventListener('change', () => applyFilters(readTextFilters()));
  }
  initUserSuggestions(form.elements.user, $('#user-suggestions'));
  $('#clear-filters').addEventListener('click', () => {
    const { offset, limit, ...cleared } = DEFAULTS;
    applyFilters(cleared);
  });

  byTestId('prev-page').addEventListener('click', () => {
    const f = state.filters;
    applyFilters({ offset: Math.max(0, f.offset - f.limit) });
  });
  byTestId('next-page').addEventListener('click', () => {
    const f = state.filters;
    if (!byTestId('next-page').disabled) applyFilters({ offset: f.offset + f.limit });
  });
  $('#page-size').addEventListener('change', (ev) => applyFilters({ limit: parseInt(ev.target.value, 10), offset: 0 }));
  $('#new-rows').addEventListener('click', () => {
    applyFilters({ offset: 0 });
    onShowLatest();
  });
}
