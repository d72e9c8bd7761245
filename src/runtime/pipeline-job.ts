/**
 * The job a handler works on: its parameters, artifacts, continuation state, time budget and logger.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { S3Client } from '@aws-sdk/client-s3';
import type { ArtifactContext, InputArtifact, OutputArtifact } from './artifacts';
import { encodeContinuation } from './continuation';
import type { JobFeatures } from './features';
import type { Logger } from './logger';
import { ContinueLater, continueLaterResult, Progress } from './results';
import type { S3ClientFactory } from './s3/client';
import type { ExtractionLimits } from './zip/safety';
import { JobFailedError } from '../shared/errors';
import type { CodePipelineJobEvent, EncryptionKey, JobArtifact } from '../shared/event';

/** The part of Lambda's context object the runtime uses (so that `@types/aws-lambda` is not needed). */
export interface LambdaContextLike {
  readonly awsRequestId?: string;
  getRemainingTimeInMillis?(): number;
}

/** What a job handler receives. `P` is the type of the UserParameters, `S` the type of the continuation state. */
export interface PipelineJob<P = unknown, S = unknown> {
  /** The CodePipeline job id. */
  readonly id: string;
  readonly accountId: string;
  /**
   * The UserParameters: parsed from JSON and checked against `options.schema` when one is given; without a schema,
   * the parsed JSON if the text is JSON, else the text; undefined when the action has none.
   */
  readonly userParameters: P;
  /** The UserParameters text as the action sent it (after variable substitution); undefined when absent. */
  readonly rawUserParameters: string | undefined;
  /** The state given to `continueLater` by the previous invocation of this job; undefined on the first one. */
  readonly continuation: S | undefined;
  /** True when this invocation continues the job (the event carries a continuation token). */
  readonly isContinuation: boolean;
  /** The raw continuation token of the event (also when another tool wrote it). */
  readonly continuationToken: string | undefined;
  /** The KMS key output artifacts are encrypted with, when the artifact store has one. */
  readonly encryptionKey: EncryptionKey | undefined;
  readonly inputArtifactNames: readonly string[];
  readonly outputArtifactNames: readonly string[];
  /** The parsed event (credentials redacted from logs and JSON). */
  readonly event: CodePipelineJobEvent;
  /** A structured JSON logger whose lines carry the job id as `correlationId`. */
  readonly logger: Logger;
  /**
   * Aborted when the invocation reaches its deadline (see `deadlineMarginMs` of `jobHandler`): the job has then been
   * reported, and whatever the handler does after that is ignored. Artifact transfers stop by themselves; pass it to
   * your own long calls (`fetch(url, { signal: job.signal })`, an AWS SDK `send(command, { abortSignal: job.signal })`)
   * or check it between steps. Its `reason` is an Error saying why.
   */
  readonly signal: AbortSignal;
  /** An input artifact by name; the name may be left out when the action has exactly one. */
  inputArtifact(name?: string): InputArtifact;
  /** An output artifact by name; the name may be left out when the action has exactly one. */
  outputArtifact(name?: string): OutputArtifact;
  /**
   * Ends this invocation without ending the job: CodePipeline invokes the function again (about a minute later, and
   * for up to 24 hours if each invocation reports progress within 20 minutes), and `job.continuation` then holds
   * `state`. The state travels in the continuation token as JSON and must fit in it (about 2000 characters).
   * Return the result: `return job.continueLater({ step: 2 }, { summary: 'waiting' })`.
   */
  continueLater(state?: S, progress?: Progress): ContinueLater;
  /**
   * Records the state to continue from should this invocation reach its deadline (see `onDeadline: 'continue'` of
   * `jobHandler`): the runtime then reports `continueLater(state, progress)` for the latest checkpoint instead of a
   * failure. Call it after each step that need not be done again. The state is encoded at once, so a state that does
   * not fit into the continuation token throws here, where it is made. Without `onDeadline: 'continue'` it is kept
   * but never used.
   */
  checkpoint(state: S, progress?: Progress): void;
  /** Milliseconds left before Lambda stops this invocation (Infinity outside Lambda). */
  remainingTimeMs(): number;
}

/** The latest `job.checkpoint(...)`: the continuation token ready to report. */
export interface Checkpoint {
  readonly token: string;
  readonly progress: Progress;
}

export interface JobSetup<P, S> {
  readonly event: CodePipelineJobEvent;
  readonly context: LambdaContextLike | undefined;
  readonly userParameters: P;
  readonly rawUserParameters: string | undefined;
  readonly continuation: S | undefined;
  readonly logger: Logger;
  readonly s3ClientFactory: S3ClientFactory;
  readonly ownsS3Client: boolean;
  readonly limits: ExtractionLimits;
  /** What the handler can do with artifacts (jobHandler of ./runtime: everything; of ./runtime/core: what it uses). */
  readonly features: JobFeatures;
}

/** What a PipelineJob knows of its job: everything but its signal and methods. */
type JobFacts<P, S> = Omit<PipelineJob<P, S>, 'signal' | 'inputArtifact' | 'outputArtifact' | 'continueLater' | 'checkpoint' | 'remainingTimeMs'>;

/** The facts of a job, read from its event once. */
function jobFacts<P, S>(setup: JobSetup<P, S>): JobFacts<P, S> {
  const details = setup.event['CodePipeline.job'];
  return {
    id: details.id,
    accountId: details.accountId,
    userParameters: setup.userParameters,
    rawUserParameters: setup.rawUserParameters,
    continuation: setup.continuation,
    continuationToken: details.data.continuationToken,
    isContinuation: details.data.continuationToken !== undefined,
    encryptionKey: details.data.encryptionKey,
    inputArtifactNames: details.data.inputArtifacts.map((a) => a.name),
    outputArtifactNames: details.data.outputArtifacts.map((a) => a.name),
    event: setup.event,
    logger: setup.logger,
  };
}

/**
 * The base of Job: its instances carry the facts as their own fields, typed as PipelineJob declares them, so that
 * the fields are declared once (in PipelineJob), not again in the class.
 */
const JobWithFacts = class {
  constructor(facts: object) {
    Object.assign(this, facts);
  }
} as new <P, S>(facts: JobFacts<P, S>) => JobFacts<P, S>;

/** The implementation behind PipelineJob; `dispose()` releases what the invocation created. */
export class Job<P, S> extends JobWithFacts<P, S> implements PipelineJob<P, S> {
  private s3Client: S3Client | undefined;
  private readonly tempDirs: string[] = [];
  private readonly artifactContext: ArtifactContext;
  private readonly abortController = new AbortController();
  /** The artifact operations running now, in the order they started. */
  private readonly activities = new Map<number, string>();
  private activityCount = 0;
  private latestCheckpoint: Checkpoint | undefined;
  private disposed = false;

  constructor(private readonly setup: JobSetup<P, S>) {
    super(jobFacts(setup));
    this.artifactContext = {
      s3: () => this.s3(),
      tempDir: (label) => this.tempDir(label),
      limits: setup.limits,
      encryptionKey: this.encryptionKey,
      logger: this.logger,
      signal: this.signal,
      remainingTimeMs: () => this.remainingTimeMs(),
      activity: (description) => this.beginActivity(description),
    };
  }

  get signal(): AbortSignal {
    return this.abortController.signal;
  }

  inputArtifact(name?: string): InputArtifact {
    const create = this.setup.features.inputArtifact ?? missingFeature('readArtifacts', 'input artifacts');
    return create(this.pick(this.setup.event['CodePipeline.job'].data.inputArtifacts, 'input', name), this.artifactContext);
  }

  outputArtifact(name?: string): OutputArtifact {
    const create = this.setup.features.outputArtifact ?? missingFeature('writeArtifacts', 'output artifacts');
    return create(this.pick(this.setup.event['CodePipeline.job'].data.outputArtifacts, 'output', name), this.artifactContext);
  }

  continueLater(state?: S, progress: Progress = {}): ContinueLater {
    return continueLaterResult(encodeContinuation(state), progress);
  }

  checkpoint(state: S, progress: Progress = {}): void {
    this.latestCheckpoint = { token: encodeContinuation(state), progress };
  }

  remainingTimeMs(): number {
    const remaining = this.setup.context?.getRemainingTimeInMillis?.();
    return typeof remaining === 'number' && !Number.isNaN(remaining) ? remaining : Number.POSITIVE_INFINITY;
  }

  /** The latest checkpoint of this invocation, if the handler made one. */
  get lastCheckpoint(): Checkpoint | undefined {
    return this.latestCheckpoint;
  }

  /** What the job is doing now, e.g. "downloading input artifact 'Source' (s3://b/k)"; undefined between operations. */
  currentActivity(): string | undefined {
    return this.activities.size === 0 ? undefined : [...this.activities.values()].join(' and ');
  }

  /** Marks the start of an operation (for the deadline message); the returned function marks its end. */
  beginActivity(description: string): () => void {
    const id = ++this.activityCount;
    this.activities.set(id, description);
    return () => {
      this.activities.delete(id);
    };
  }

  /** Stops the handler's work: `signal` fires with `reason`, and artifact transfers end. */
  abort(reason: Error): void {
    if (!this.signal.aborted) this.abortController.abort(reason);
  }

  /**
   * Removes the temporary folders and closes the S3 client this invocation created. Artifact operations the handler
   * starts afterwards (it may still run after a deadline) fail at once instead of leaving files in the warm /tmp.
   */
  async dispose(): Promise<void> {
    this.disposed = true;
    const dirs = this.tempDirs.splice(0);
    await Promise.all(dirs.map((dir) => fs.promises.rm(dir, { recursive: true, force: true })));
    if (this.setup.ownsS3Client) this.s3Client?.destroy();
    this.s3Client = undefined;
  }

  private s3(): S3Client {
    this.assertLive();
    this.s3Client ??= this.setup.s3ClientFactory(this.setup.event['CodePipeline.job'].data.artifactCredentials);
    return this.s3Client;
  }

  private async tempDir(label: string): Promise<string> {
    this.assertLive();
    // Lambda keeps /tmp between invocations of a warm function: everything made here is removed in dispose().
    const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), `cpi-${label.replace(/[^A-Za-z0-9_-]/g, '_')}-`));
    if (this.disposed) {
      await fs.promises.rm(dir, { recursive: true, force: true });
      this.assertLive();
    }
    this.tempDirs.push(dir);
    return dir;
  }

  private assertLive(): void {
    if (!this.disposed) return;
    const why = this.signal.aborted && this.signal.reason instanceof Error ? ` (${this.signal.reason.message})` : '';
    throw new JobFailedError(`The invocation of job ${this.id} has ended${why}: artifacts cannot be used after the job was reported`);
  }

  private pick(artifacts: readonly JobArtifact[], kind: 'input' | 'output', name: string | undefined): JobArtifact {
    const names = artifacts.map((a) => a.name);
    if (name === undefined) {
      if (artifacts.length === 1) return artifacts[0];
      throw new JobFailedError(
        artifacts.length === 0
          ? `The action has no ${kind} artifacts; add one to the action in the pipeline`
          : `The action has ${artifacts.length} ${kind} artifacts (${names.join(', ')}); name the one you want: job.${kind}Artifact('${names[0]}')`,
        'ConfigurationError',
      );
    }
    const found = artifacts.find((a) => a.name === name);
    if (found === undefined) {
      throw new JobFailedError(
        `The action has no ${kind} artifact named ${JSON.stringify(name)} (it has: ${names.length > 0 ? names.join(', ') : 'none'})`,
        'ConfigurationError',
      );
    }
    return found;
  }
}

/** A handler of `cdk-codepipeline-invoke/runtime/core` built without the feature it now needs. */
function missingFeature(feature: string, what: string): never {
  throw new JobFailedError(`This handler cannot use ${what}: add ${feature} to 'use' (runtime/core), or use the jobHandler of 'cdk-codepipeline-invoke/runtime'`);
}
