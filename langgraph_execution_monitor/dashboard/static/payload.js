/*
 * Stored JSON values (a run's input, a node's output) as the drawer shows
 * them: pretty JSON, or what the writer kept of a value it cut
 * ({"truncated": true, "chars": N, "preview": "..."}). Pure (no DOM):
 * tests/js/payload.test.mjs.
 */

/** Whether a stored value is the writer's marker for a value it cut. */
export function isTruncated(value) {
  return Boolean(value && typeof value === 'object' && !Array.isArray(value) && value.truncated === true);
}

/**
 * How to show a stored value:
 *   { kind: 'none' }                                 nothing stored
 *   { kind: 'truncated', preview, chars, reason }    cut by the writer
 *   { kind: 'json', text }                           pretty JSON (strings as they are)
 */
export function describePayload(value) {
  if (value === undefined || value === null) return { kind: 'none' };
  if (isTruncated(value)) {
    return {
      kind: 'truncated',
      preview: typeof value.preview === 'string' ? value.preview : '',
      chars: Number.isFinite(value.chars) ? value.chars : null,
      reason: typeof value.reason === 'string' ? value.reason : null,
    };
  }
  if (typeof value === 'string') return { kind: 'json', text: value };
  try {
    return { kind: 'json', text: JSON.stringify(value, null, 2) ?? String(value) };
  } catch {
    return { kind: 'json', text: String(value) };
  }
}

/** A short one-line hint of a value's size for a collapsed section. */
export function payloadHint(value) {
  const d = describePayload(value);
  if (d.kind === 'none') return '';
  if (d.kind === 'truncated') return d.chars === null ? 'cut' : `cut, ${d.chars.toLocaleString('en-US')} chars`;
  const n = d.text.length;
  return n < 1024 ? `${n} chars` : `${(n / 1024).toFixed(n < 10240 ? 1 : 0)} KB`;
}
