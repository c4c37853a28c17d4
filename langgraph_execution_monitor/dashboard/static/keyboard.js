/*
 * Keys: j / k move to the next / previous run in the table (and show it when
 * the drawer is open), Enter on a row opens it (table.js), Escape closes the
 * drawer. Letters typed into a field, or with a modifier, are left alone.
 */

import { $, byTestId } from './dom.js';
import { closePanel, drawerOpen, openExecution } from './drawer.js';
import { moveRowFocus } from './table.js';

function typing(target) {
  if (!(target instanceof Element)) return false;
  return target.isContentEditable || Boolean(target.closest('input, textarea, select, [contenteditable]'));
}

export function initKeyboard() {
  document.addEventListener('keydown', (ev) => {
    if (ev.defaultPrevented || $('#token-dialog').open) return;
    if (ev.key === 'Escape') {
      if (!byTestId('tree-panel').hidden) {
        ev.preventDefault();
        closePanel();
      }
      return;
    }
    if (ev.altKey || ev.ctrlKey || ev.metaKey || typing(ev.target)) return;
    if (ev.key !== 'j' && ev.key !== 'k') return;
    ev.preventDefault();
    const id = moveRowFocus(ev.key === 'j' ? 1 : -1);
    // With the drawer open, j/k page through runs in it; focus stays on the row.
    if (id && drawerOpen()) openExecution(id, { history: 'replace', focus: false });
  });
}
