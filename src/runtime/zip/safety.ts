/**
 * What makes an artifact zip unsafe to extract, and the limits that refuse it.
 *
 * Artifacts come from earlier pipeline actions, which run code from pull requests and third-party builds: a zip is
 * untrusted input. Refused by default: entries that escape the folder ("zip slip": `..`, absolute paths, drive
 * letters; backslashes count as separators), symlinks pointing outside the folder, and zip bombs (total size, entry
 * count, compression ratio; checked on the declared sizes before anything is written, and again on the bytes
 * actually inflated, since headers can lie).
 */
import * as path from 'path';
import { ENTRY_PATH_MAX_BYTES, ENTRY_SEGMENT_MAX_BYTES } from '../../shared/limits';
import { ArtifactSafetyError } from '../errors';

/** Limits on what one artifact may extract to. Raise them per call or per handler for known big artifacts. */
export interface ExtractionLimits {
  /**
   * Total uncompressed bytes of all entries.
   *
   * @default 2 GiB (Lambda's /tmp is 512 MB unless configured up to 10 GB)
   */
  readonly maxTotalBytes: number;
  /**
   * Number of entries (files, folders, links).
   *
   * @default 100,000
   */
  readonly maxEntries: number;
  /**
   * Largest compression ratio (uncompressed / compressed) of one entry, and of the whole zip, once the uncompressed
   * size passes `ratioThresholdBytes`. Deflate reaches about 1032:1 at best; real text and code stay far below 100:1.
   *
   * @default 200
   */
  readonly maxCompressionRatio: number;
  /**
   * Entries (and zips) smaller than this are not ratio-checked: small files of repeated bytes compress extremely and
   * are harmless.
   *
   * @default 1 MiB
   */
  readonly ratioThresholdBytes: number;
}

export const DEFAULT_EXTRACTION_LIMITS: ExtractionLimits = Object.freeze({
  maxTotalBytes: 2 * 1024 ** 3,
  maxEntries: 100_000,
  maxCompressionRatio: 200,
  ratioThresholdBytes: 1024 ** 2,
});

export function resolveLimits(...overrides: Array<Partial<ExtractionLimits> | undefined>): ExtractionLimits {
  return Object.assign({}, DEFAULT_EXTRACTION_LIMITS, ...overrides.map(definedOnly));
}

function definedOnly(limits: Partial<ExtractionLimits> | undefined): Partial<ExtractionLimits> {
  return Object.fromEntries(Object.entries(limits ?? {}).filter(([, v]) => v !== undefined));
}

/**
 * The relative path an entry may be written to, with '/' separators, or an ArtifactSafetyError. Backslashes are
 * separators (zips made on Windows use them), so `a\..\..\x` is as unsafe as `a/../../x`.
 */
export function safeEntryPath(entryName: string, artifact: string): string {
  const name = entryName.replace(/\\/g, '/');
  const refuse = (why: string) =>
    new ArtifactSafetyError('unsafe-path', `Artifact ${artifact}: entry ${JSON.stringify(entryName)} ${why}; refusing to extract`, entryName);
  if (name.includes('\0')) throw refuse('contains a NUL character');
  if (name.startsWith('/')) throw refuse('is an absolute path');
  if (/^[a-zA-Z]:/.test(name)) throw refuse('starts with a drive letter');
  const segments = name.split('/');
  if (segments.includes('..')) throw refuse('leaves the folder (..)');
  const relative = segments.filter((s) => s !== '' && s !== '.').join('/');
  if (relative === '') throw refuse('has an empty name');
  return relative;
}

/** `root/relative`, after making sure it stays inside `root` (defence in depth behind safeEntryPath). */
export function insideRoot(root: string, relative: string, artifact: string, entryName: string): string {
  const target = path.resolve(root, relative);
  if (!isInside(root, target)) {
    throw new ArtifactSafetyError('unsafe-path', `Artifact ${artifact}: entry ${JSON.stringify(entryName)} leaves the folder; refusing to extract`, entryName);
  }
  return target;
}

/**
 * Refuses an entry name longer than a path (or a path segment) may be on Linux, before any other work on it: every later
 * check is linear in the name, and so is the file system's own work only when names are bounded. Linear itself.
 */
export function checkEntryNameLength(entryName: string, artifact: string): void {
  const refuse = (why: string) =>
    new ArtifactSafetyError('unsafe-path', `Artifact ${artifact}: entry ${shortName(entryName)} ${why}; refusing to extract`, shortName(entryName, 200, false));
  // UTF-8 takes at most 3 bytes per UTF-16 code unit: the exact count is only needed near the limit.
  if (entryName.length * 3 > ENTRY_PATH_MAX_BYTES && Buffer.byteLength(entryName, 'utf8') > ENTRY_PATH_MAX_BYTES) {
    throw refuse(`has a name longer than ${ENTRY_PATH_MAX_BYTES} bytes (${Buffer.byteLength(entryName, 'utf8')})`);
  }
  let segmentStart = 0;
  for (let i = 0; i <= entryName.length; i++) {
    const c = i < entryName.length ? entryName.charCodeAt(i) : 0x2f;
    if (c !== 0x2f && c !== 0x5c) continue;
    if ((i - segmentStart) * 3 > ENTRY_SEGMENT_MAX_BYTES) {
      const bytes = Buffer.byteLength(entryName.slice(segmentStart, i), 'utf8');
      if (bytes > ENTRY_SEGMENT_MAX_BYTES) throw refuse(`has a path segment longer than ${ENTRY_SEGMENT_MAX_BYTES} bytes (${bytes})`);
    }
    segmentStart = i + 1;
  }
}

/** An entry name for a message: JSON-quoted, cut to `max` characters (hostile names can be megabytes long). */
export function shortName(name: string, max = 200, quoted = true): string {
  const cut = name.length > max ? `${name.slice(0, max)}... (${name.length} characters)` : name;
  return quoted ? JSON.stringify(cut) : cut;
}

/**
 * Checks a symlink entry's target before the link is made. Only a target whose every `..` comes first is accepted
 * (`../../lib/x`, `bin/tool`, `.`), with no more `..` than the link's folder is deep: `..` after a name is resolved by the
 * kernel from wherever that name leads, not lexically. The archive `sub/l2 -> .`, `l1 -> sub/l2/../..` looks inside
 * to a lexical check and is not. With only leading `..`, every link stays inside the folder whatever the other links
 * (of this archive, of an artifact extracted later) turn out to be: going up from a real folder inside the folder, then
 * only down, following links that obey the same rule. Backslashes count as separators, which only refuses more.
 */
export function checkSymlinkTarget(root: string, linkRelative: string, target: string, artifact: string): void {
  const refuse = (why: string) =>
    new ArtifactSafetyError(
      'unsafe-symlink',
      `Artifact ${artifact}: symlink ${shortName(linkRelative)} -> ${shortName(target)} ${why}; refusing to extract`,
      linkRelative,
    );
  if (target === '' || target.includes('\0')) throw refuse('has an invalid target');
  const normalized = target.replace(/\\/g, '/');
  if (normalized.startsWith('/') || /^[a-zA-Z]:/.test(normalized)) throw refuse('points to an absolute path');
  const segments = normalized.split('/').filter((s) => s !== '' && s !== '.');
  let ups = 0;
  while (ups < segments.length && segments[ups] === '..') ups++;
  if (segments.indexOf('..', ups) !== -1) {
    throw refuse('goes up (..) after a name, which the kernel resolves through links, not lexically');
  }
  const depth = linkRelative.split('/').length - 1;
  if (ups > depth) throw refuse('points outside the folder');
  // Defence in depth: the lexical resolution stays inside too.
  if (!isInside(root, path.resolve(root, path.dirname(linkRelative), normalized))) throw refuse('points outside the folder');
}

export function isInside(root: string, candidate: string): boolean {
  const relative = path.relative(path.resolve(root), path.resolve(candidate));
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}

/** Refuses an entry whose declared sizes break the limits (before a byte of it is written). */
export function checkDeclaredEntry(
  entry: { readonly fileName: string; readonly uncompressedSize: number; readonly compressedSize: number },
  limits: ExtractionLimits,
  artifact: string,
): void {
  if (entry.uncompressedSize > limits.maxTotalBytes) {
    throw tooLarge(artifact, limits, entry.fileName);
  }
  if (entry.uncompressedSize >= limits.ratioThresholdBytes) {
    const ratio = entry.uncompressedSize / Math.max(1, entry.compressedSize);
    if (ratio > limits.maxCompressionRatio) {
      throw new ArtifactSafetyError(
        'compression-ratio',
        `Artifact ${artifact}: entry ${JSON.stringify(entry.fileName)} expands ${Math.round(ratio)}:1 ` +
          `(${entry.compressedSize} -> ${entry.uncompressedSize} bytes), more than the limit of ${limits.maxCompressionRatio}:1; ` +
          'this looks like a zip bomb (raise maxCompressionRatio if the artifact is legitimate)',
        entry.fileName,
      );
    }
  }
}

/**
 * Refuses a zip with more entries than `maxEntries`. Called with the count of the end-of-central-directory record (or
 * of the ZIP64 one) as soon as the zip is opened, so that a zip of millions of entries is refused before any of them
 * is listed (listing costs time and memory per entry); and again with the count of the entries actually listed.
 */
export function checkEntryCount(entryCount: number, limits: Pick<ExtractionLimits, 'maxEntries'>, artifact: string): void {
  if (entryCount > limits.maxEntries) {
    throw new ArtifactSafetyError(
      'too-many-entries',
      `Artifact ${artifact} has ${entryCount} entries, more than the limit of ${limits.maxEntries} (raise maxEntries if it is legitimate)`,
    );
  }
}

/** Refuses a zip whose entry count, total declared size or overall ratio breaks the limits. */
export function checkDeclaredTotals(
  totals: { readonly entryCount: number; readonly uncompressedBytes: number; readonly zipBytes: number },
  limits: ExtractionLimits,
  artifact: string,
): void {
  checkEntryCount(totals.entryCount, limits, artifact);
  if (totals.uncompressedBytes > limits.maxTotalBytes) {
    throw tooLarge(artifact, limits);
  }
  // Overlapping entries (the "non-recursive zip bomb") share compressed data: only the whole-zip ratio shows them.
  if (totals.uncompressedBytes >= limits.ratioThresholdBytes) {
    const ratio = totals.uncompressedBytes / Math.max(1, totals.zipBytes);
    if (ratio > limits.maxCompressionRatio) {
      throw new ArtifactSafetyError(
        'compression-ratio',
        `Artifact ${artifact} expands ${Math.round(ratio)}:1 (${totals.zipBytes} -> ${totals.uncompressedBytes} bytes), ` +
          `more than the limit of ${limits.maxCompressionRatio}:1; this looks like a zip bomb (raise maxCompressionRatio if it is legitimate)`,
      );
    }
  }
}

export function tooLarge(artifact: string, limits: ExtractionLimits, entry?: string): ArtifactSafetyError {
  return new ArtifactSafetyError(
    'too-large',
    `Artifact ${artifact}${entry !== undefined ? ` (entry ${JSON.stringify(entry)})` : ''} extracts to more than ` +
      `${limits.maxTotalBytes} bytes, the limit (raise maxTotalBytes if it is legitimate)`,
    entry,
  );
}
