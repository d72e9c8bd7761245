/**
 * The job a handler works on: its parameters, artifacts, continuation state, time budget and logger.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { S3Client } from '@aws-sdk/client-s3';
import { ArtifactContext, InputArtifact, OutputArtifact } from './artifacts';
import { encodeContinuation } from './continuation';
import type { Logger } from './logger';
import { ContinueLater, continueLaterResult, Progress } from './results';
import type { S3ClientFactory } from './s3';
import type { ExtractionLimits } from './zip-safety';
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
  /** Milliseconds left before Lambda stops this invocation (Infinity outside Lambda). */
  remainingTimeMs(): number;
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
}

/** The implementation behind PipelineJob; `dispose()` releases what the invocation created. */
export class Job<P, S> implements PipelineJob<P, S> {
  readonly id: string;
  readonly accountId: string;
  readonly userParameters: P;
  readonly rawUserParameters: string | undefined;
  readonly continuation: S | undefined;
  readonly isContinuation: boolean;
  readonly continuationToken: string | undefined;
  readonly encryptionKey: EncryptionKey | undefined;
  readonly inputArtifactNames: readonly string[];
  readonly outputArtifactNames: readonly string[];
  readonly event: CodePipelineJobEvent;
  readonly logger: Logger;

  private s3Client: S3Client | undefined;
  private readonly tempDirs: string[] = [];
  private readonly artifactContext: ArtifactContext;

  constructor(private readonly setup: JobSetup<P, S>) {
    const details = setup.event['CodePipeline.job'];
    this.id = details.id;
    this.accountId = details.accountId;
    this.userParameters = setup.userParameters;
    this.rawUserParameters = setup.rawUserParameters;
    this.continuation = setup.continuation;
    this.continuationToken = details.data.continuationToken;
    this.isContinuation = this.continuationToken !== undefined;
    this.encryptionKey = details.data.encryptionKey;
    this.inputArtifactNames = details.data.inputArtifacts.map((a) => a.name);
    this.outputArtifactNames = details.data.outputArtifacts.map((a) => a.name);
    this.event = setup.event;
    this.logger = setup.logger;
    this.artifactContext = {
      s3: () => this.s3(),
      tempDir: (label) => this.tempDir(label),
      limits: setup.limits,
      encryptionKey: this.encryptionKey,
      logger: this.logger,
    };
  }

  inputArtifact(name?: string): InputArtifact {
    return new InputArtifact(this.pick(this.setup.event['CodePipeline.job'].data.inputArtifacts, 'input', name), this.artifactContext);
  }

  outputArtifact(name?: string): OutputArtifact {
    return new OutputArtifact(this.pick(this.setup.event['CodePipeline.job'].data.outputArtifacts, 'output', name), this.artifactContext);
  }

  continueLater(state?: S, progress: Progress = {}): ContinueLater {
    return continueLaterResult(encodeContinuation(state), progress);
  }

  remainingTimeMs(): number {
    const remaining = this.setup.context?.getRemainingTimeInMillis?.();
    return typeof remaining === 'number' ? remaining : Number.POSITIVE_INFINITY;
  }

  /** Removes the temporary folders and closes the S3 client this invocation created. */
  async dispose(): Promise<void> {
    await Promise.all(this.tempDirs.map((dir) => fs.promises.rm(dir, { recursive: true, force: true })));
    this.tempDirs.length = 0;
    if (this.setup.ownsS3Client) this.s3Client?.destroy();
    this.s3Client = undefined;
  }

  private s3(): S3Client {
    this.s3Client ??= this.setup.s3ClientFactory(this.setup.event['CodePipeline.job'].data.artifactCredentials);
    return this.s3Client;
  }

  private async tempDir(label: string): Promise<string> {
    // Lambda keeps /tmp between invocations of a warm function: everything made here is removed in dispose().
    const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), `cpi-${label.replace(/[^A-Za-z0-9_-]/g, '_')}-`));
    this.tempDirs.push(dir);
    return dir;
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
