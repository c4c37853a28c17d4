/*
 * The access token: kept in this tab's sessionStorage, asked for once in a
 * dialog when the API answers 401. Cancelling the dialog is remembered: no
 * request asks again until the person clicks "Enter token".
 */

import { $, byTestId } from './dom.js';

const TOKEN_KEY = 'execution-monitor.token';

let prompt = null; // one dialog shared by every request that got a 401
let declined = false;
const changedListeners = [];
const declinedListeners = [];

export function getToken() {
  try { return sessionStorage.getItem(TOKEN_KEY) || ''; } catch { return ''; }
}

export function setToken(token) {
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch { /* storage unavailable: the token lives for this page only */ }
}

/** The open dialog's promise (true: a token was entered), or null. */
export function pendingPrompt() {
  return prompt;
}

/** True once the person cancelled the dialog, until they ask for it again. */
export function tokenDeclined() {
  return declined;
}

export function onTokenChanged(fn) { changedListeners.push(fn); }
export function onTokenDeclined(fn) { declinedListeners.push(fn); }

/**
 * Show the token dialog; resolves true when a token was entered. `refused`
 * says the last token was wrong; `explicit` is the person's own request (the
 * "Enter token" button), which undoes an earlier cancel.
 */
export function askForToken({ refused = false, explicit = false } = {}) {
  const dialog = $('#token-dialog');
  const error = byTestId('token-error');
  if (explicit) declined = false;
  if (refused) error.hidden = false;
  if (prompt) return prompt;
  const input = $('#token-input');
  const cancel = $('#token-cancel');
  const signIn = $('#sign-in');
  input.value = '';
  error.hidden = !refused;
  prompt = new Promise((resolve) => {
    const form = $('#token-form');
    const finish = (ok) => {
      form.removeEventListener('submit', onSubmit);
      cancel.removeEventListener('click', onCancel);
      dialog.removeEventListener('cancel', onCancel);
      if (dialog.open) dialog.close();
      prompt = null;
      resolve(ok);
    };
    const onSubmit = (ev) => {
      ev.preventDefault();
      const token = input.value.trim();
      if (!token) { input.focus(); return; }
      setToken(token);
      declined = false;
      signIn.hidden = true;
      finish(true);
      for (const fn of changedListeners) fn();
    };
    const onCancel = (ev) => {
      ev.preventDefault();
      declined = true;
      signIn.hidden = false;
      finish(false);
      signIn.focus();
      for (const fn of declinedListeners) fn();
    };
    form.addEventListener('submit', onSubmit);
    cancel.addEventListener('click', onCancel);
    dialog.addEventListener('cancel', onCancel);
  });
  if (!dialog.open) dialog.showModal();
  input.focus();
  return prompt;
}
