/*
 * Building the page's elements. Data reaches the page only as text nodes and
 * attributes (never innerHTML), and handlers only through addEventListener, so
 * the page runs under a strict Content-Security-Policy and hostile text stays
 * text.
 */

export const $ = (sel, root = document) => root.querySelector(sel);
export const byTestId = (id) => document.querySelector(`[data-testid="${id}"]`);

/** Build an element. Children that are strings become text nodes. */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'text') el.textContent = String(v);
      else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

/**
 * Text that came from a run (a message, a user id, a node name), isolated
 * from what surrounds it: a right-to-left override inside it cannot reorder
 * the page's own labels.
 */
export function data(value, attrs) {
  return h('bdi', attrs, String(value ?? ''));
}

const SVG_NS = 'http://www.w3.org/2000/svg';

export function copyIcon() {
  const svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('viewBox', '0 0 16 16');
  svg.setAttribute('class', 'icon');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  const front = document.createElementNS(SVG_NS, 'rect');
  for (const [k, v] of [['x', 5], ['y', 5], ['width', 9], ['height', 9], ['rx', 1.5]]) front.setAttribute(k, v);
  const back = document.createElementNS(SVG_NS, 'path');
  back.setAttribute('d', 'M11 2.5V2H3.5A1.5 1.5 0 0 0 2 3.5V11h.5');
  svg.append(back, front);
  return svg;
}

let toastTimer = null;
export function toast(message) {
  const el = $('#toast');
  el.textContent = message;
  el.classList.add('show');
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => el.classList.remove('show'), 1800);
}

export async function copyText(text) {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      toast('Copied');
      return;
    }
  } catch { /* fall through to the selection fallback */ }
  const ta = h('textarea', { class: 'visually-hidden', readonly: true });
  ta.value = text;
  document.body.append(ta);
  ta.select();
  let ok = false;
  try { ok = document.execCommand('copy'); } catch { ok = false; }
  ta.remove();
  toast(ok ? 'Copied' : `Copy failed — id: ${text}`);
}

const bannerMessages = new Map();

/** One banner line per source (logs, stats, auth); null clears it. */
export function setBanner(key, message) {
  if (message) bannerMessages.set(key, message);
  else bannerMessages.delete(key);
  const el = $('#banner');
  el.replaceChildren(...[...bannerMessages.values()].map((m) => h('div', null, m)));
  el.hidden = bannerMessages.size === 0;
}

export function debounce(fn, ms) {
  let t = null;
  return (...args) => { clearTimeout(t); t = setTimeout(() => fn(...args), ms); };
}
