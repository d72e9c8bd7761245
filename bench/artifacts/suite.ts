/**
 * Artifact streaming, on each dataset (media-heavy and node_modules-like, bench/artifacts/dataset.ts):
 * - extract: the dataset's zip served by the local S3 endpoint, extracted by `extractTo()` against SDK GetObject +
 *   Info-ZIP `unzip` (the target's baseline: it checks CRC-32 as ours does), adm-zip and yauzl;
 * - upload: its folder uploaded by `uploadDirectory()` against `zip -r -n <what ours stores>` + Upload (the target's
 *   baseline: the same store decisions, the same multipart settings), plain `zip -r` + Upload, and archiver + Upload.
 *
 * Every run is a fresh child process (peak RSS is per process); each round runs every variant once, in an order that
 * rotates from round to round, so ratios are paired per round. Both sides keep their temporary files in the same folder
 * under tmp/bench (the candidate through TMPDIR). Extracted trees and uploaded archives are checked, so a fast but wrong
 * candidate cannot pass.
 */
import { randomUUID } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { pipeline } from 'stream/promises';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import * as yauzl from 'yauzl';
import { compile, PROJECT_ROOT, SCRATCH_DIR, sourcesExist } from '../lib/build';
import { childEnv, runCommand, runNodeChild } from '../lib/child';
import { estimateFigures, median, pairedRatio, round } from '../lib/stats';
import type { BenchConfig, Figures } from '../run';
import { Dataset, DatasetSpec, ensureDataset, mb } from './dataset';
import type { ExtractBaselineMode, ExtractBaselineResult } from './extract-baseline-child';
import type { ExtractCandidateResult } from './extract-candidate-child';
import { jobEvent } from './job-event';
import { localS3Client } from './s3-client';
import { createBucket, JobApi, objectSize, putFile, S3Endpoint, startJobApi, startS3 } from './servers';
import type { UploadBaselineMode, UploadBaselineResult } from './upload-baseline-child';
import type { UploadCandidateResult } from './upload-candidate-child';

const OUT = path.join(SCRATCH_DIR, 'artifacts');
const BUCKET = 'bench-artifacts';
const KIB_PER_MB = 1024;

const RUNTIME_SOURCES = ['src/runtime/index.ts', 'src/local/job-api-emulator.ts'];

/** One run of one variant: what every comparison needs. */
interface RunFigures {
  readonly ms: number;
  readonly cpuMs: number;
  /** Peak RSS of the variant (the largest of its processes), KiB. */
  readonly peakRssKb: number;
}

interface Variant {
  readonly name: string;
  /** Secondary variants run only in the first `config.secondaryRuns` rounds. */
  readonly secondary: boolean;
  readonly run: (round: number) => Promise<RunFigures>;
}

/**
 * Runs every variant once per round, the order rotating from round to round (no variant always first, or always right
 * after the same one). Returns each variant's runs in round order.
 */
async function rounds(config: BenchConfig, variants: readonly Variant[]): Promise<Record<string, RunFigures[]>> {
  const results: Record<string, RunFigures[]> = Object.fromEntries(variants.map((v) => [v.name, []]));
  for (let i = 0; i < config.artifactRuns; i++) {
    const active = variants.filter((v) => !v.secondary || i < config.secondaryRuns);
    for (let k = 0; k < active.length; k++) {
      const variant = active[(i + k) % active.length];
      results[variant.name].push(await variant.run(i));
    }
  }
  return results;
}

/** `<prefix>SpeedVs<Name><Dataset>`: baseline time / candidate time, paired by round (> 1: ours is faster). */
function comparisons(prefix: string, suffix: string, runs: Record<string, RunFigures[]>, baselines: Record<string, string>): Figures {
  const figures: Figures = {};
  const candidate = runs.candidate;
  for (const [name, label] of Object.entries(baselines)) {
    const baseline = runs[name];
    if (baseline.length === 0) continue;
    const n = baseline.length;
    const ours = candidate.slice(0, n);
    Object.assign(figures, estimateFigures(`${prefix}SpeedVs${label}${suffix}`, pairedRatio(baseline.map((r) => r.ms), ours.map((r) => r.ms))));
    Object.assign(figures, estimateFigures(`${prefix}CpuVs${label}${suffix}`, pairedRatio(baseline.map((r) => r.cpuMs), ours.map((r) => r.cpuMs))));
    figures[`${prefix}${label}Ms${suffix}`] = round(median(baseline.map((r) => r.ms)), 0);
  }
  figures[`${prefix}CandidateMs${suffix}`] = round(median(candidate.map((r) => r.ms)), 0);
  return figures;
}

/** Every sample behind the figures, per variant. */
function allSamples(prefix: string, suffix: string, runs: Record<string, RunFigures[]>): Figures {
  const pick = (f: (r: RunFigures) => number) => Object.fromEntries(Object.entries(runs).map(([name, rs]) => [name, rs.map(f)]));
  return {
    [`${prefix}Ms${suffix}`]: pick((r) => round(r.ms, 0)),
    [`${prefix}CpuMs${suffix}`]: pick((r) => round(r.cpuMs, 0)),
    [`${prefix}PeakRssMb${suffix}`]: pick((r) => round(r.peakRssKb / KIB_PER_MB, 1)),
  };
}

/** Peak RSS: ours in MB, and as a ratio to the baseline's peak (the largest of its processes, over its runs). */
function rssFigures(prefix: string, suffix: string, candidate: RunFigures[], baseline: RunFigures[]): Figures {
  const ours = Math.max(...candidate.map((r) => r.peakRssKb));
  const theirs = Math.max(...baseline.map((r) => r.peakRssKb));
  return {
    [`${prefix}PeakRssMb${suffix}`]: round(ours / KIB_PER_MB, 1),
    [`${prefix}BaselinePeakRssMb${suffix}`]: round(theirs / KIB_PER_MB, 1),
    [`${prefix}PeakRssRatio${suffix}`]: round(ours / theirs),
  };
}

/** `Media`, `Modules`: the dataset's part of a figure's key. */
export function datasetSuffix(spec: DatasetSpec): string {
  return spec.kind[0].toUpperCase() + spec.kind.slice(1);
}

export async function extractSuite(config: BenchConfig): Promise<Figures> {
  if (!sourcesExist(...RUNTIME_SOURCES)) {
    return { skipped: 'src/runtime (extractTo) has not landed yet' };
  }
  const baselineChild = await compile(path.join(__dirname, 'extract-baseline-child.ts'), path.join(OUT, 'extract-baseline-child.js'));
  const candidateChild = await compile(path.join(__dirname, 'extract-candidate-child.ts'), path.join(OUT, 'extract-candidate-child.js'));
  const figures: Figures = {};
  const samples: Figures = {};
  for (const spec of config.datasets) {
    const dataset = await ensureDataset(spec, config.log);
    const suffix = datasetSuffix(spec);
    const inputKey = `bench-pipeline/Source/${spec.kind}-Xk3pQ2a`; // opaque, without .zip, as CodePipeline writes them
    await withServices(config, async (s3, jobApi) => {
      await createBucket(s3.endpoint, BUCKET);
      await putFile(s3.endpoint, BUCKET, inputKey, dataset.zipFile);
      const baseline = (mode: ExtractBaselineMode) => async (i: number): Promise<RunFigures> => {
        const workDir = freshDir(`extract-${mode}-${i}`);
        const { result } = await runNodeChild<ExtractBaselineResult>(baselineChild.outfile, {
          args: [s3.endpoint, BUCKET, inputKey, workDir, mode],
          cwd: PROJECT_ROOT,
        });
        expectTree(path.join(workDir, 'out'), dataset, mode);
        fs.rmSync(workDir, { recursive: true, force: true });
        return { ms: result.ms, cpuMs: result.cpuMs, peakRssKb: Math.max(result.maxRssKb, result.unzipMaxRssKb) };
      };
      const candidate = async (i: number): Promise<RunFigures> => {
        const workDir = freshDir(`extract-candidate-${i}`);
        const jobId = randomUUID(); // CodePipeline job ids are UUIDs (the job API validates the pattern)
        jobApi.registerJob(jobId);
        const eventFile = path.join(workDir, 'event.json');
        fs.writeFileSync(eventFile, JSON.stringify(jobEvent({ jobId, bucket: BUCKET, inputKey })));
        const { result } = await runNodeChild<ExtractCandidateResult>(candidateChild.outfile, {
          args: [eventFile, path.join(workDir, 'out')],
          cwd: PROJECT_ROOT,
          env: serviceEnv(s3, jobApi, workDir),
        });
        expectSucceeded(jobApi, jobId);
        expectTree(path.join(workDir, 'out'), dataset, 'extractTo()');
        fs.rmSync(workDir, { recursive: true, force: true });
        return { ms: result.ms, cpuMs: result.cpuMs, peakRssKb: result.maxRssKb };
      };
      const runs = await rounds(config, [
        { name: 'unzip', secondary: false, run: baseline('unzip') },
        { name: 'candidate', secondary: false, run: candidate },
        { name: 'admZip', secondary: true, run: baseline('adm-zip') },
        { name: 'yauzl', secondary: true, run: baseline('yauzl') },
      ]);
      Object.assign(figures, comparisons('extract', suffix, runs, { unzip: 'Unzip', admZip: 'AdmZip', yauzl: 'Yauzl' }));
      Object.assign(figures, rssFigures('extract', suffix, runs.candidate, runs.unzip));
      figures[`extractArtifactMb${suffix}`] = mb(dataset.zipBytes);
      figures[`extractArtifactFiles${suffix}`] = dataset.fileCount;
      Object.assign(samples, allSamples('extract', suffix, runs));
      config.log(
        `extract ${spec.name} (${mb(dataset.zipBytes)} MB zip): unzip ${figures[`extractUnzipMs${suffix}`]} ms, ours ` +
          `${figures[`extractCandidateMs${suffix}`]} ms (${figures[`extractSpeedVsUnzip${suffix}`]}x)`,
      );
    });
  }
  return { ...figures, extractRuns: config.artifactRuns, samples };
}

export async function uploadSuite(config: BenchConfig): Promise<Figures> {
  if (!sourcesExist(...RUNTIME_SOURCES)) {
    return { skipped: 'src/runtime (uploadDirectory) has not landed yet' };
  }
  const baselineChild = await compile(path.join(__dirname, 'upload-baseline-child.ts'), path.join(OUT, 'upload-baseline-child.js'));
  const candidateChild = await compile(path.join(__dirname, 'upload-candidate-child.ts'), path.join(OUT, 'upload-candidate-child.js'));
  const figures: Figures = {};
  const samples: Figures = {};
  for (const spec of config.datasets) {
    const dataset = await ensureDataset(spec, config.log);
    const suffix = datasetSuffix(spec);
    await withServices(config, async (s3, jobApi) => {
      await createBucket(s3.endpoint, BUCKET);
      const objectBytes: Record<string, number> = {};
      const candidate = async (i: number | 'warm-up'): Promise<RunFigures> => {
        const workDir = freshDir(`upload-candidate-${i}`);
        const jobId = randomUUID();
        const key = `bench-pipeline/Out/candidate-${i}`;
        jobApi.registerJob(jobId);
        const eventFile = path.join(workDir, 'event.json');
        fs.writeFileSync(eventFile, JSON.stringify(jobEvent({ jobId, bucket: BUCKET, outputKey: key })));
        const { result } = await runNodeChild<UploadCandidateResult>(candidateChild.outfile, {
          args: [eventFile, dataset.treeDir],
          cwd: PROJECT_ROOT,
          env: serviceEnv(s3, jobApi, workDir),
        });
        expectSucceeded(jobApi, jobId);
        objectBytes.candidate = await objectSize(s3.endpoint, BUCKET, key);
        fs.rmSync(workDir, { recursive: true, force: true });
        return { ms: result.ms, cpuMs: result.cpuMs, peakRssKb: result.maxRssKb };
      };
      // Untimed: reads the folder into the page cache for every variant alike, checks our archive, and finds which
      // suffixes ours stores on this dataset, so that Info-ZIP can be told to store the same (`zip -n`).
      await candidate('warm-up');
      const stored = await checkUploadedArchive(s3, 'bench-pipeline/Out/candidate-warm-up', dataset);
      const suffixes = stored.join(':');
      const baseline = (mode: UploadBaselineMode) => async (i: number): Promise<RunFigures> => {
        const workDir = freshDir(`upload-${mode}-${i}`);
        const key = `bench-pipeline/Out/${mode}-${i}`;
        const { result } = await runNodeChild<UploadBaselineResult>(baselineChild.outfile, {
          args: [s3.endpoint, BUCKET, key, dataset.treeDir, workDir, mode, suffixes],
          cwd: PROJECT_ROOT,
        });
        objectBytes[mode] = await objectSize(s3.endpoint, BUCKET, key);
        fs.rmSync(workDir, { recursive: true, force: true });
        return { ms: result.ms, cpuMs: result.cpuMs, peakRssKb: Math.max(result.maxRssKb, result.zipMaxRssKb) };
      };
      const runs = await rounds(config, [
        { name: 'zipSame', secondary: false, run: baseline('zip-same') },
        { name: 'candidate', secondary: false, run: candidate },
        { name: 'zipDefaults', secondary: true, run: baseline('zip-default') },
        { name: 'archiver', secondary: true, run: baseline('archiver') },
      ]);
      Object.assign(figures, comparisons('upload', suffix, runs, { zipSame: 'Zip', zipDefaults: 'ZipDefaults', archiver: 'Archiver' }));
      Object.assign(figures, rssFigures('upload', suffix, runs.candidate, runs.zipSame));
      figures[`uploadStoredSuffixes${suffix}`] = stored;
      figures[`uploadObjectMb${suffix}`] = Object.fromEntries(Object.entries(objectBytes).map(([k, v]) => [k, mb(v)]));
      figures[`uploadFolderMb${suffix}`] = mb(dataset.totalBytes);
      figures[`uploadFolderFiles${suffix}`] = dataset.fileCount;
      Object.assign(samples, allSamples('upload', suffix, runs));
      config.log(
        `upload ${spec.name} (${mb(dataset.totalBytes)} MB folder, -n ${suffixes || '(none)'}): zip -n ${figures[`uploadZipMs${suffix}`]} ms, ` +
          `ours ${figures[`uploadCandidateMs${suffix}`]} ms (${figures[`uploadSpeedVsZip${suffix}`]}x)`,
      );
    });
  }
  return { ...figures, uploadRuns: config.artifactRuns, samples };
}

async function withServices(config: BenchConfig, body: (s3: S3Endpoint, jobApi: JobApi) => Promise<void>): Promise<void> {
  const s3 = await startS3(config.s3Backend);
  const jobApi = await startJobApi();
  try {
    await body(s3, jobApi);
  } finally {
    await jobApi.close();
    await s3.close();
  }
}

/**
 * How a local job run points the unmodified SDK at local services: variables the SDK itself honours. TMPDIR: the
 * candidate's temporary files go where the baselines' do (same filesystem).
 */
function serviceEnv(s3: S3Endpoint, jobApi: JobApi, workDir: string): NodeJS.ProcessEnv {
  return childEnv({ AWS_ENDPOINT_URL_S3: s3.endpoint, AWS_ENDPOINT_URL_CODEPIPELINE: jobApi.endpoint, TMPDIR: workDir });
}

function freshDir(name: string): string {
  const dir = path.join(OUT, name);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

function expectSucceeded(jobApi: JobApi, jobId: string): void {
  const job = jobApi.job(jobId);
  if (job?.status !== 'Succeeded') {
    const failure = job?.results.at(-1)?.failureDetails?.message;
    throw new Error(`job ${jobId} ended ${job?.status ?? 'unreported'}${failure ? `: ${failure}` : ''}`);
  }
}

/** The extracted folder holds exactly the dataset's files and bytes. */
function expectTree(dir: string, dataset: Dataset, who: string): void {
  const { files, bytes } = walk(dir);
  if (files !== dataset.fileCount || bytes !== dataset.totalBytes) {
    throw new Error(`${who} extracted ${files} files / ${bytes} bytes; the artifact has ${dataset.fileCount} / ${dataset.totalBytes}`);
  }
}

function walk(dir: string): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) {
      files++;
      bytes += fs.statSync(path.join(entry.parentPath, entry.name)).size;
    }
  }
  return { files, bytes };
}

/**
 * The candidate's upload is sound for Info-ZIP (`unzip -t`: CRC-32 of every entry) and holds every file of the folder.
 * Returns the suffixes of which ours stores most bytes: what `zip -n` must store to do the same work.
 */
async function checkUploadedArchive(s3: S3Endpoint, key: string, dataset: Dataset): Promise<string[]> {
  const file = path.join(freshDir('upload-check'), 'uploaded.zip');
  const object = await localS3Client(s3.endpoint).send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  await pipeline(object.Body as NodeJS.ReadableStream, fs.createWriteStream(file));
  await runCommand('unzip', ['-tqq', file]);
  const bytesBySuffix = new Map<string, { stored: number; total: number }>();
  let files = 0;
  await new Promise<void>((resolve, reject) =>
    yauzl.open(file, { lazyEntries: false }, (error, zip) => {
      if (error) return reject(error);
      zip.on('error', reject);
      zip.on('end', () => resolve());
      zip.on('entry', (entry: yauzl.Entry) => {
        if (entry.fileName.endsWith('/')) return;
        files++;
        const suffix = path.extname(entry.fileName).toLowerCase();
        if (suffix === '') return; // zip -n matches suffixes only
        const counts = bytesBySuffix.get(suffix) ?? { stored: 0, total: 0 };
        counts.total += entry.uncompressedSize;
        if (entry.compressionMethod === 0) counts.stored += entry.uncompressedSize;
        bytesBySuffix.set(suffix, counts);
      });
    }),
  );
  fs.rmSync(path.dirname(file), { recursive: true, force: true });
  if (files !== dataset.fileCount) {
    throw new Error(`uploadDirectory() archived ${files} files; the folder has ${dataset.fileCount}`);
  }
  return [...bytesBySuffix].filter(([, c]) => c.stored * 2 > c.total).map(([suffix]) => suffix).sort();
}
