/**
 * Artifact streaming: the dataset's zip served by the local S3 endpoint, extracted by `extractTo()` against SDK
 * GetObject + Info-ZIP `unzip`; its folder uploaded by `uploadDirectory()` against `zip -r` + an SDK upload. Every run
 * is a fresh child process (peak RSS is per process), interleaved with its baseline; extracted trees and uploaded
 * archives are checked so a fast but wrong candidate cannot pass.
 */
import { randomUUID } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { pipeline } from 'stream/promises';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { compile, PROJECT_ROOT, SCRATCH_DIR, sourcesExist } from '../lib/build';
import { childEnv, runCommand, runNodeChild } from '../lib/child';
import { interleaved, median, Pair, round } from '../lib/stats';
import type { BenchConfig, Figures } from '../run';
import { Dataset, ensureDataset, mb } from './dataset';
import type { ExtractBaselineResult } from './extract-baseline-child';
import type { ExtractCandidateResult } from './extract-candidate-child';
import { jobEvent } from './job-event';
import { localS3Client } from './s3-client';
import { createBucket, JobApi, objectSize, putFile, S3Endpoint, startJobApi, startS3 } from './servers';
import type { UploadBaselineResult } from './upload-baseline-child';
import type { UploadCandidateResult } from './upload-candidate-child';

const OUT = path.join(SCRATCH_DIR, 'artifacts');
const BUCKET = 'bench-artifacts';
/** Artifact keys are opaque, without a .zip suffix, as CodePipeline writes them. */
const INPUT_KEY = 'bench-pipeline/Source/Xk3pQ2a';
const KIB_PER_MB = 1024;

const RUNTIME_SOURCES = ['src/runtime/index.ts'];

export async function extractSuite(config: BenchConfig): Promise<Figures> {
  if (!sourcesExist(...RUNTIME_SOURCES, 'src/local/job-api-emulator.ts')) {
    return { skipped: 'src/runtime (extractTo) has not landed yet' };
  }
  const dataset = await ensureDataset(config.dataset, config.log);
  const baselineChild = await compile(path.join(__dirname, 'extract-baseline-child.ts'), path.join(OUT, 'extract-baseline-child.js'));
  const candidateChild = await compile(path.join(__dirname, 'extract-candidate-child.ts'), path.join(OUT, 'extract-candidate-child.js'));
  return withServices(config, async (s3, jobApi) => {
    await createBucket(s3.endpoint, BUCKET);
    await putFile(s3.endpoint, BUCKET, INPUT_KEY, dataset.zipFile);

    const baseline = async (i: number) => {
      const workDir = freshDir(`extract-baseline-${i}`);
      const { result } = await runNodeChild<ExtractBaselineResult>(baselineChild.outfile, {
        args: [s3.endpoint, BUCKET, INPUT_KEY, workDir],
        cwd: PROJECT_ROOT,
      });
      expectTree(path.join(workDir, 'out'), dataset, 'unzip');
      fs.rmSync(workDir, { recursive: true, force: true });
      return result;
    };
    const candidate = async (i: number) => {
      const workDir = freshDir(`extract-candidate-${i}`);
      const jobId = randomUUID(); // CodePipeline job ids are UUIDs (the job API validates the pattern)
      jobApi.registerJob(jobId);
      const eventFile = path.join(workDir, 'event.json');
      fs.writeFileSync(eventFile, JSON.stringify(jobEvent({ jobId, bucket: BUCKET, inputKey: INPUT_KEY })));
      const { result } = await runNodeChild<ExtractCandidateResult>(candidateChild.outfile, {
        args: [eventFile, path.join(workDir, 'out')],
        cwd: PROJECT_ROOT,
        env: serviceEnv(s3, jobApi),
      });
      expectSucceeded(jobApi, jobId);
      expectTree(path.join(workDir, 'out'), dataset, 'extractTo()');
      fs.rmSync(workDir, { recursive: true, force: true });
      return result;
    };
    const pair = await interleaved(config.artifactRuns, baseline, candidate);
    const baselineMs = median(pair.baseline.map((r) => r.ms));
    const candidateMs = median(pair.candidate.map((r) => r.ms));
    config.log(`extract ${mb(dataset.zipBytes)} MB: baseline ${round(baselineMs, 0)} ms, candidate ${round(candidateMs, 0)} ms`);
    return {
      extractSpeedVsUnzip: round(baselineMs / candidateMs),
      extractPeakRssMb: round(Math.max(...pair.candidate.map((r) => r.maxRssKb)) / KIB_PER_MB, 1),
      extractBaselineMs: round(baselineMs, 0),
      extractBaselineDownloadMs: round(median(pair.baseline.map((r) => r.downloadMs)), 0),
      extractBaselineUnzipMs: round(median(pair.baseline.map((r) => r.unzipMs)), 0),
      extractCandidateMs: round(candidateMs, 0),
      extractBaselinePeakRssMb: round(Math.max(...pair.baseline.map((r) => Math.max(r.maxRssKb, r.unzipMaxRssKb))) / KIB_PER_MB, 1),
      ...cpuFigures('extract', pair),
      extractArtifactMb: mb(dataset.zipBytes),
      extractArtifactFiles: dataset.fileCount,
      extractRuns: config.artifactRuns,
    };
  });
}

export async function uploadSuite(config: BenchConfig): Promise<Figures> {
  if (!sourcesExist(...RUNTIME_SOURCES, 'src/local/job-api-emulator.ts')) {
    return { skipped: 'src/runtime (uploadDirectory) has not landed yet' };
  }
  const dataset = await ensureDataset(config.dataset, config.log);
  const baselineChild = await compile(path.join(__dirname, 'upload-baseline-child.ts'), path.join(OUT, 'upload-baseline-child.js'));
  const candidateChild = await compile(path.join(__dirname, 'upload-candidate-child.ts'), path.join(OUT, 'upload-candidate-child.js'));
  return withServices(config, async (s3, jobApi) => {
    await createBucket(s3.endpoint, BUCKET);
    const baseline = async (i: number) => {
      const workDir = freshDir(`upload-baseline-${i}`);
      const key = `bench-pipeline/Out/baseline-${i}`;
      const { result } = await runNodeChild<UploadBaselineResult>(baselineChild.outfile, {
        args: [s3.endpoint, BUCKET, key, dataset.treeDir, workDir],
        cwd: PROJECT_ROOT,
      });
      fs.rmSync(workDir, { recursive: true, force: true });
      return { ...result, objectBytes: await objectSize(s3.endpoint, BUCKET, key) };
    };
    const candidate = async (i: number) => {
      const workDir = freshDir(`upload-candidate-${i}`);
      const jobId = randomUUID();
      const key = `bench-pipeline/Out/candidate-${i}`;
      jobApi.registerJob(jobId);
      const eventFile = path.join(workDir, 'event.json');
      fs.writeFileSync(eventFile, JSON.stringify(jobEvent({ jobId, bucket: BUCKET, outputKey: key })));
      const { result } = await runNodeChild<UploadCandidateResult>(candidateChild.outfile, {
        args: [eventFile, dataset.treeDir],
        cwd: PROJECT_ROOT,
        env: serviceEnv(s3, jobApi),
      });
      expectSucceeded(jobApi, jobId);
      if (i === 0) {
        await expectUploadedArchive(s3, key, dataset, workDir);
      }
      fs.rmSync(workDir, { recursive: true, force: true });
      return { ...result, objectBytes: await objectSize(s3.endpoint, BUCKET, key) };
    };
    const pair = await interleaved(config.artifactRuns, baseline, candidate);
    const baselineMs = median(pair.baseline.map((r) => r.ms));
    const candidateMs = median(pair.candidate.map((r) => r.ms));
    config.log(`upload ${mb(dataset.totalBytes)} MB folder: baseline ${round(baselineMs, 0)} ms, candidate ${round(candidateMs, 0)} ms`);
    return {
      uploadSpeedVsZip: round(baselineMs / candidateMs),
      uploadPeakRssMb: round(Math.max(...pair.candidate.map((r) => r.maxRssKb)) / KIB_PER_MB, 1),
      uploadBaselineMs: round(baselineMs, 0),
      uploadBaselineZipMs: round(median(pair.baseline.map((r) => r.zipMs)), 0),
      uploadBaselineUploadMs: round(median(pair.baseline.map((r) => r.uploadMs)), 0),
      uploadCandidateMs: round(candidateMs, 0),
      uploadBaselinePeakRssMb: round(Math.max(...pair.baseline.map((r) => Math.max(r.maxRssKb, r.zipMaxRssKb))) / KIB_PER_MB, 1),
      ...cpuFigures('upload', pair),
      uploadBaselineObjectMb: mb(pair.baseline[0].objectBytes),
      uploadCandidateObjectMb: mb(pair.candidate[0].objectBytes),
      uploadFolderMb: mb(dataset.totalBytes),
      uploadFolderFiles: dataset.fileCount,
      uploadRuns: config.artifactRuns,
    };
  });
}

/**
 * CPU time beside wall time: how much work each side does (baseline: its Node process plus unzip/zip; candidate: every
 * thread of its process). Much less disturbed than wall time when other jobs share the cores; no target. Plus the raw
 * samples behind the medians.
 */
function cpuFigures(prefix: string, pair: Pair<{ ms: number; cpuMs: number }>): Figures {
  const baselineCpuMs = median(pair.baseline.map((r) => r.cpuMs));
  const candidateCpuMs = median(pair.candidate.map((r) => r.cpuMs));
  return {
    [`${prefix}BaselineCpuMs`]: round(baselineCpuMs, 0),
    [`${prefix}CandidateCpuMs`]: round(candidateCpuMs, 0),
    [`${prefix}CpuEfficiencyVsBaseline`]: round(baselineCpuMs / candidateCpuMs),
    samples: {
      [`${prefix}Ms`]: { baseline: pair.baseline.map((r) => round(r.ms, 0)), candidate: pair.candidate.map((r) => round(r.ms, 0)) },
    },
  };
}

async function withServices(config: BenchConfig, body: (s3: S3Endpoint, jobApi: JobApi) => Promise<Figures>): Promise<Figures> {
  const s3 = await startS3(config.s3Backend);
  const jobApi = await startJobApi();
  try {
    return await body(s3, jobApi);
  } finally {
    await jobApi.close();
    await s3.close();
  }
}

/** How a local job run points the unmodified SDK at local services: variables the SDK itself honours. */
function serviceEnv(s3: S3Endpoint, jobApi: JobApi): NodeJS.ProcessEnv {
  return childEnv({ AWS_ENDPOINT_URL_S3: s3.endpoint, AWS_ENDPOINT_URL_CODEPIPELINE: jobApi.endpoint });
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

/** The candidate's upload is a valid zip holding every file of the folder (checked once, outside the timing). */
async function expectUploadedArchive(s3: S3Endpoint, key: string, dataset: Dataset, workDir: string): Promise<void> {
  const file = path.join(workDir, 'uploaded.zip');
  const object = await localS3Client(s3.endpoint).send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  await pipeline(object.Body as NodeJS.ReadableStream, fs.createWriteStream(file));
  await runCommand('unzip', ['-tqq', file]);
  const listing = await runCommand('zipinfo', ['-1', file]);
  const entries = listing.stdout.split('\n').filter((l) => l !== '' && !l.endsWith('/')).length;
  if (entries !== dataset.fileCount) {
    throw new Error(`uploadDirectory() archived ${entries} files; the folder has ${dataset.fileCount}`);
  }
}
