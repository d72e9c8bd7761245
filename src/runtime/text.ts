/** Text helpers for values with API length limits. */

/**
 * `text` cut to at most `max` UTF-16 code units, with a marker saying how much was cut, so a reader of the pipeline
 * console knows the message is incomplete. Never splits a surrogate pair.
 */
export function truncateWithMarker(text: string, max: number): string {
  if (text.length <= max) {
    return text;
  }
  const marker = (cut: number) => ` …[${cut} characters cut]`;
  // The marker's length depends on the number it shows: start from the widest count, then use what it frees.
  let keep = Math.max(0, max - marker(text.length).length);
  while (keep + 1 + marker(text.length - keep - 1).length <= max) keep++;
  if (keep > 0 && isHighSurrogate(text.charCodeAt(keep - 1))) {
    keep -= 1;
  }
  return `${text.slice(0, keep)}${marker(text.length - keep)}`.slice(0, max);
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/** UTF-8 byte length of a string (what AWS counts for byte limits such as the output variables' 122,880 bytes). */
export function utf8Length(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}
