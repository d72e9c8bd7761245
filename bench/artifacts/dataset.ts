/**
 * The artifacts the streaming benchmarks move, generated deterministically from a seed, zipped with Info-ZIP the way
 * CodeBuild/source actions produce artifacts, and cached under bench/.cache. Two kinds (the README's Performance targets):
 * - media-heavy: many small text files (sources, JSON, docs) and a few large binaries (media, model weights, a native
 *   library), most of its bytes incompressible;
 * - node_modules-like: thousands of text files in a package tree (sources, typings, source maps, manifests), a few small
 *   binaries; nearly everything compresses.
 *
 * Full size: ~200 MB each. Quick size (BENCH_QUICK=1): the same mixes scaled to ~20 MB.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { CACHE_DIR } from '../lib/build';
import { runCommand } from '../lib/child';

/** Bump when the generator changes: the cache key includes it. */
const GENERATOR_VERSION = 2;
const FIXED_MTIME = new Date('2025-01-01T00:00:00Z');
const MB = 1024 * 1024;

export interface DatasetSpec {
  readonly name: string;
  /** Short name in figure keys and the table: `media`, `modules`. */
  readonly kind: DatasetKind;
  /** Number of small text files. */
  readonly textFiles: number;
  /** Text file sizes are log-uniform in [min, max] bytes. */
  readonly textMinBytes: number;
  readonly textMaxBytes: number;
  /** Incompressible binaries (already-compressed media, weights): path → bytes. */
  readonly randomBinaries: Record<string, number>;
  /** Half-compressible binaries (native code): path → bytes. */
  readonly mixedBinaries: Record<string, number>;
}

export type DatasetKind = 'media' | 'modules';

export const FULL_DATASET: DatasetSpec = {
  name: 'artifact-200mb',
  kind: 'media',
  textFiles: 10_000,
  textMinBytes: 256,
  textMaxBytes: 48 * 1024,
  randomBinaries: {
    'media/intro.mp4': 76 * MB,
    'models/weights.bin': 56 * MB,
    ...imageSet(24, 1 * MB),
  },
  mixedBinaries: { 'lib/native/addon.node': 24 * MB },
};

export const QUICK_DATASET: DatasetSpec = {
  name: 'artifact-20mb',
  kind: 'media',
  textFiles: 1_000,
  textMinBytes: 256,
  textMaxBytes: 48 * 1024,
  randomBinaries: {
    'media/intro.mp4': 8 * MB,
    'models/weights.bin': 5.6 * MB,
    ...imageSet(3, 0.8 * MB),
  },
  mixedBinaries: { 'lib/native/addon.node': 2.4 * MB },
};

/** A node_modules-like tree: ~9,500 text files of 256 B to 128 KiB (mean ~19 KiB), and a few compressible binaries. */
export const FULL_MODULES_DATASET: DatasetSpec = {
  name: 'modules-200mb',
  kind: 'modules',
  textFiles: 9_500,
  textMinBytes: 256,
  textMaxBytes: 128 * 1024,
  randomBinaries: { ...pngSet(40, 48 * 1024) },
  mixedBinaries: { 'node_modules/esbuild-linux-x64/bin/esbuild': 8 * MB, 'node_modules/sharp/build/Release/sharp.node': 4 * MB },
};

export const QUICK_MODULES_DATASET: DatasetSpec = {
  name: 'modules-20mb',
  kind: 'modules',
  textFiles: 950,
  textMinBytes: 256,
  textMaxBytes: 128 * 1024,
  randomBinaries: { ...pngSet(4, 48 * 1024) },
  mixedBinaries: { 'node_modules/esbuild-linux-x64/bin/esbuild': 0.8 * MB, 'node_modules/sharp/build/Release/sharp.node': 0.4 * MB },
};

export interface Dataset {
  readonly spec: DatasetSpec;
  /** The folder (input of the upload benchmarks). */
  readonly treeDir: string;
  /** Its Info-ZIP archive (input of the extract benchmarks). */
  readonly zipFile: string;
  readonly zipBytes: number;
  readonly fileCount: number;
  readonly totalBytes: number;
}

interface Manifest {
  readonly version: number;
  readonly fileCount: number;
  readonly totalBytes: number;
  readonly zipBytes: number;
  readonly zipSha256: string;
}

/** Returns the cached dataset, generating it first when missing or made by another generator version. */
export async function ensureDataset(spec: DatasetSpec, log: (line: string) => void): Promise<Dataset> {
  const dir = path.join(CACHE_DIR, spec.name);
  const treeDir = path.join(dir, 'tree');
  const zipFile = path.join(dir, 'artifact.zip');
  const manifestFile = path.join(dir, 'manifest.json');
  const cached = readManifest(manifestFile);
  if (cached?.version === GENERATOR_VERSION && fs.existsSync(zipFile) && fs.statSync(zipFile).size === cached.zipBytes) {
    return { spec, treeDir, zipFile, zipBytes: cached.zipBytes, fileCount: cached.fileCount, totalBytes: cached.totalBytes };
  }
  log(`generating ${spec.name} in ${path.relative(process.cwd(), dir)} (once; cached afterwards)`);
  fs.rmSync(dir, { recursive: true, force: true });
  const files = writeTree(spec, treeDir);
  const list = files.map((f) => f.path).sort();
  await zipFileList(treeDir, list, zipFile);
  const zipBytes = fs.statSync(zipFile).size;
  const manifest: Manifest = {
    version: GENERATOR_VERSION,
    fileCount: files.length,
    totalBytes: files.reduce((sum, f) => sum + f.bytes, 0),
    zipBytes,
    zipSha256: crypto.createHash('sha256').update(fs.readFileSync(zipFile)).digest('hex'),
  };
  fs.writeFileSync(manifestFile, JSON.stringify(manifest, null, 2));
  log(`${spec.name}: ${manifest.fileCount} files, ${mb(manifest.totalBytes)} MB unzipped, ${mb(zipBytes)} MB zipped`);
  return { spec, treeDir, zipFile, zipBytes, fileCount: manifest.fileCount, totalBytes: manifest.totalBytes };
}

function readManifest(file: string): Manifest | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Manifest;
  } catch {
    return undefined;
  }
}

interface WrittenFile {
  readonly path: string;
  readonly bytes: number;
}

function writeTree(spec: DatasetSpec, treeDir: string): WrittenFile[] {
  const random = new Prng(0x5eed + spec.textFiles);
  const files: WrittenFile[] = [];
  for (let i = 0; i < spec.textFiles; i++) {
    const rel = spec.kind === 'modules' ? modulesFilePath(i, random) : textFilePath(i, random);
    const bytes = Math.round(Math.exp(random.between(Math.log(spec.textMinBytes), Math.log(spec.textMaxBytes))));
    files.push(writeFile(treeDir, rel, textContent(rel, bytes, random)));
  }
  for (const [rel, bytes] of Object.entries(spec.randomBinaries)) {
    files.push(writeFile(treeDir, rel, keystream(rel, Math.round(bytes))));
  }
  for (const [rel, bytes] of Object.entries(spec.mixedBinaries)) {
    files.push(writeFile(treeDir, rel, halfCompressible(rel, Math.round(bytes))));
  }
  return files;
}

function writeFile(treeDir: string, rel: string, content: Buffer): WrittenFile {
  const file = path.join(treeDir, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
  fs.utimesSync(file, FIXED_MTIME, FIXED_MTIME);
  return { path: rel, bytes: content.length };
}

/** Zips exactly `list` (sorted, relative to `cwd`) so the archive's bytes depend only on the content. */
async function zipFileList(cwd: string, list: string[], zipFile: string): Promise<void> {
  const listFile = `${zipFile}.list`;
  fs.writeFileSync(listFile, list.join('\n') + '\n');
  // -X: no extra attributes (uid/gid, extended timestamps), so the archive does not depend on who generated it.
  await runCommand('sh', ['-c', `zip -q -X -@ "${zipFile}" < "${listFile}"`], cwd);
  fs.rmSync(listFile);
}

const EXTENSIONS = ['ts', 'js', 'json', 'md', 'css', 'yaml'];

function textFilePath(index: number, random: Prng): string {
  const ext = EXTENSIONS[random.int(EXTENSIONS.length)];
  return `src/pkg-${index % 40}/module-${Math.floor(index / 40) % 25}/file-${index}.${ext}`;
}

const MODULE_FILES = ['index.js', 'index.d.ts', 'index.js.map', 'package.json', 'README.md', 'CHANGELOG.md', 'util.js', 'types.d.ts', 'cjs/index.cjs', 'esm/index.mjs'];

/** node_modules/<package>/<folder>/<file>: ~600 packages, scoped and nested ones included. */
function modulesFilePath(index: number, random: Prng): string {
  const pkg = index % 600;
  const name = pkg % 7 === 0 ? `@scope-${pkg % 13}/pkg-${pkg}` : `pkg-${pkg}`;
  const nested = pkg % 11 === 0 ? `/node_modules/dep-${pkg % 17}` : '';
  const file = MODULE_FILES[random.int(MODULE_FILES.length)];
  return `node_modules/${name}${nested}/${['lib', 'dist', 'src', 'build'][random.int(4)]}-${Math.floor(index / 600)}/${file}`;
}

const WORDS = (
  'const let function return export import from async await if else for while new this class extends interface ' +
  'type string number boolean undefined null true false config pipeline stage action artifact bucket key value ' +
  'handler event context result error message status deploy build test input output region account role policy ' +
  'resource template stack construct props options params schema version name id path file folder upload download'
).split(' ');

/** Source-like text: identifiers, punctuation and indentation, compressing about as well as real code (3-5x). */
function textContent(rel: string, bytes: number, random: Prng): Buffer {
  const parts: string[] = [`// ${rel}\n`];
  let length = parts[0].length;
  while (length < bytes) {
    const indent = '  '.repeat(random.int(4));
    const words: string[] = [];
    const count = 2 + random.int(9);
    for (let w = 0; w < count; w++) {
      words.push(WORDS[random.int(WORDS.length)] + (random.int(5) === 0 ? String(random.int(10_000)) : ''));
    }
    const line = `${indent}${words.join(random.int(3) === 0 ? '.' : ' ')}${random.int(2) ? ';' : ' {'}\n`;
    parts.push(line);
    length += line.length;
  }
  return Buffer.from(parts.join('')).subarray(0, bytes);
}

/** Incompressible bytes: AES-256-CTR keystream keyed by the file's path (deterministic, fast). */
function keystream(seed: string, bytes: number): Buffer {
  const key = crypto.createHash('sha256').update(seed).digest();
  const cipher = crypto.createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  return cipher.update(Buffer.alloc(bytes));
}

/** Alternating 4 KiB blocks of noise and of a repeated pattern: compresses about 2x, like native code. */
function halfCompressible(seed: string, bytes: number): Buffer {
  const content = keystream(seed, bytes);
  const pattern = Buffer.from('\x00\x00\x48\x89\xe5\x41\x57\x41\x56\x53\x48\x83\xec\x28\xc3\x90', 'latin1');
  for (let offset = 4096; offset < bytes; offset += 8192) {
    for (let i = offset; i < Math.min(offset + 4096, bytes); i++) {
      content[i] = pattern[i % pattern.length];
    }
  }
  return content;
}

function pngSet(count: number, bytes: number): Record<string, number> {
  const images: Record<string, number> = {};
  for (let i = 0; i < count; i++) {
    images[`node_modules/pkg-${i * 13}/assets/icon-${i}.png`] = bytes;
  }
  return images;
}

function imageSet(count: number, bytes: number): Record<string, number> {
  const images: Record<string, number> = {};
  for (let i = 0; i < count; i++) {
    images[`public/images/photo-${String(i).padStart(2, '0')}.jpg`] = bytes;
  }
  return images;
}

/** mulberry32: a small deterministic PRNG (the dataset must be the same on every machine and run). */
/* eslint-disable no-bitwise -- a PRNG is 32-bit integer arithmetic */
class Prng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  int(bound: number): number {
    return Math.floor(this.next() * bound);
  }

  between(min: number, max: number): number {
    return min + this.next() * (max - min);
  }
}
/* eslint-enable no-bitwise */

export function mb(bytes: number): number {
  return Math.round((bytes / MB) * 10) / 10;
}
