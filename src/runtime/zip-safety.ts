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
import { JobFailedError } from '../shared/errors';

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

/** Why an artifact was refused. */
export type ArtifactSafetyReason = 'unsafe-path' | 'unsafe-symlink' | 'too-many-entries' | 'too-large' | 'compression-ratio' | 'corrupt';

/** An artifact zip was refused as unsafe (or is corrupt). Fails the job as `JobFailed`. */
export class ArtifactSafetyError extends JobFailedError {
  public readonly reason: ArtifactSafetyReason;
  /** The entry at fault, when there is one. */
  public readonly entry?: string;

  constructor(reason: ArtifactSafetyReason, message: string, entry?: string) {
    super(message, 'JobFailed');
    this.name = 'ArtifactSafetyError';
    this.reason = reason;
    this.entry = entry;
  }
}

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
 * Checks a symlink entry: its target, resolved from the link's folder, must stay inside `root`. (Links are created
 * after every file, and checked again with realpath then, so a chain of links cannot escape either.)
 */
export function checkSymlinkTarget(root: string, linkRelative: string, target: string, artifact: string): void {
  const refuse = (why: string) =>
    new ArtifactSafetyError(
      'unsafe-symlink',
      `Artifact ${artifact}: symlink ${JSON.stringify(linkRelative)} -> ${JSON.stringify(target)} ${why}; refusing to extract`,
      linkRelative,
    );
  if (target === '' || target.includes('\0')) throw refuse('has an invalid target');
  const normalized = target.replace(/\\/g, '/');
  if (normalized.startsWith('/') || /^[a-zA-Z]:/.test(normalized)) throw refuse('points to an absolute path');
  const resolved = path.resolve(root, path.dirname(linkRelative), normalized);
  if (!isInside(root, resolved)) throw refuse('points outside the folder');
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
