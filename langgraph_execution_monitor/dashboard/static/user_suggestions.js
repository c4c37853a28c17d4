/*
 * The user filter's suggestions: as a user id is typed, the ids starting with
 * it (GET users?prefix=, distinct, at most SUGGESTIONS) fill the field's
 * <datalist>, led by "prefix*" (every user starting with it). Text only.
 */

import { api } from './api.js';
import { debounce, h } from './dom.js';

const SUGGESTIONS = 20;
let controller = null;

export function initUserSuggestions(input, list) {
  let asked = null;
  const suggest = debounce(async () => {
    const prefix = input.value.trim().replace(/\*+$/, '');
    if (prefix === asked) return;
    asked = prefix;
    if (controller) controller.abort();
    const ctl = new AbortController();
    controller = ctl;
    try {
      const body = await api('users', { prefix, limit: SUGGESTIONS }, { signal: ctl.signal });
      if (ctl !== controller) return;
      const users = Array.isArray(body.users) ? body.users.map(String) : [];
      const options = users.map((id) => h('option', { value: id }));
      if (prefix && users.length > 1) {
        options.unshift(h('option', { value: `${prefix}*`, label: `every user starting with ${prefix}` }));
      }
      list.replaceChildren(...options);
    } catch {
      if (ctl === controller) asked = null; // try again on the next keystroke
    }
  }, 150);
  input.addEventListener('input', suggest);
  input.addEventListener('focus', suggest);
}
