/** The options and outcome of runJob (see run-job.ts). */
import type { FailureType } from '../../shared/limits';
import type { JobReport } from '../job-api/types';
import type { JobEventJson } from '../job-event';
import type { LambdaHandler } from '../load-handler';

/** A Lambda invoke action of a synthesized pipeline: runJob then runs what would deploy (see `RunJobOptions.app`). */
export interface AssemblyAction {
  /** The cloud assembly folder (`cdk.out`, or an App's `outdir`). */
  readonly assembly: string;
  readonly stage: string;
  /** Needed when the stage has several Lambda invoke actions. @default - the stage's only one */
  readonly action?: string;
  /** Needed when several pipelines have the stage (name or logical id). @default - the only one */
  readonly pipeline?: string;
}

export interface RunJobOptions {
  /**
   * The handler function, or `'path/to/file.js#exportName'` (`.ts` files compile on the fly with esbuild), or a
   * Python handler `'path/to/app.py#lambda_handler'` (run with python3 and boto3).
   *
   * @default - with `app`, the synthesized function's own asset and Handler; otherwise required
   */
  readonly handler?: LambdaHandler | string;
  /**
   * Run a synthesized action: the function's asset folder, Handler and runtime (Node.js or Python), timeout, memory
   * and literal environment, and the action's UserParameters, artifact names and encryption key come from the
   * template. Options given explicitly win. Deploy-time values stay placeholders such as `<Bucket.Ref>`; a
   * `variables` entry named like one (`'Bucket.Ref': 'my-bucket'`) fills it.
   *
   * @default - no assembly
   */
  readonly app?: AssemblyAction;
  /** The action's UserParameters: a string as is, anything else as JSON. @default - none */
  readonly userParameters?: unknown;
  /** Input artifacts: name -> a folder (zipped) or a `.zip` file (uploaded as is). @default - none */
  readonly inputs?: Readonly<Record<string, string>>;
  /** Output artifact names; after a success each is extracted to a folder (see `outputs` of the outcome). @default - none */
  readonly outputs?: readonly string[];
  /** A KMS key ARN: the event then carries `encryptionKey`, and artifacts are stored with SSE-KMS. @default - none */
  readonly encryptionKey?: string;
  /** How many invocations a job may take when the handler continues it (continuation tokens). @default 10 */
  readonly maxInvocations?: number;
  /**
   * Like the function's timeout: the context's `getRemainingTimeInMillis()` counts down from it (so jobHandler's
   * deadline watchdog reports a handler still running shortly before it), and an invocation running longer counts as
   * timed out. @default 300000 (PipelineJobFunction's 5 minutes)
   */
  readonly timeoutMs?: number;
  /** @default 'local-pipeline-job-function' */
  readonly functionName?: string;
  /** @default - a random UUID */
  readonly jobId?: string;
  /** The pipeline's account: the job belongs to it. @default '123456789012' */
  readonly accountId?: string;
  /**
   * The function's account, when it is another than the pipeline's: the job's results are then accepted only with
   * credentials of the job-result role of the pipeline's account, which a local STS issues to the function's role
   * (`AWS_ENDPOINT_URL_STS`); the function's environment names the role as the constructs write it. `jobHandler`
   * assumes it; a handler that reports with its own credentials is refused with AccessDeniedException, as on AWS.
   * @default - the pipeline's account (`accountId`)
   */
  readonly functionAccountId?: string;
  /**
   * The function's region, when it is another than the pipeline's (us-east-1 here): the function runs with this
   * AWS_REGION, its environment names the pipeline's region, and reports signed for another region do not find the job.
   * @default - the pipeline's region
   */
  readonly functionRegion?: string;
  /** @default 'local-pipeline' */
  readonly pipelineName?: string;
  /** Reported by the context (`memoryLimitInMB`) and AWS_LAMBDA_FUNCTION_MEMORY_SIZE. @default 512 */
  readonly memoryMb?: number;
  /** Where output artifacts are extracted (one sub-folder per artifact). @default - a new folder under os.tmpdir() */
  readonly outputDirectory?: string;
  /**
   * Values of pipeline variables referenced in UserParameters (`#{Namespace.Variable}`), keyed `Namespace.Variable`;
   * substituted textually as CodePipeline does. `codepipeline.PipelineExecutionId` gets a random UUID unless given.
   * @default - none besides codepipeline.PipelineExecutionId
   */
  readonly variables?: Readonly<Record<string, string>>;
  /** Extra environment variables for the handler (restored afterwards). @default - none */
  readonly environment?: Readonly<Record<string, string>>;
  /** Called with each event before the handler gets it (credentials included: it is what Lambda would pass). */
  readonly onInvoke?: (event: JobEventJson, invocation: number) => void;
  /** The Python interpreter for `.py` handlers. @default 'python3' */
  readonly python?: string;
}

export interface RunJobFailure {
  readonly type: FailureType;
  readonly message: string;
}

export interface RunJobOutcome {
  readonly status: 'Succeeded' | 'Failed';
  /** Present when the job failed: what the handler (or the crash reporter) reported. */
  readonly failure?: RunJobFailure;
  readonly outputVariables?: Readonly<Record<string, string>>;
  /** `executionDetails.summary` of the final report. */
  readonly summary?: string;
  /** How many times the handler was invoked. */
  readonly invocations: number;
  /** Output artifact name -> the folder it was extracted to (artifacts the handler did not upload are missing). */
  readonly outputs: Readonly<Record<string, string>>;
  readonly jobId: string;
  /** Every result the job received, oldest first. */
  readonly reports: readonly JobReport[];
  /** Set when an invocation crashed or timed out (its failure went to the crash reporter). */
  readonly crash?: { readonly errorType: string; readonly errorMessage: string; readonly invocation: number };
  /** Things that would break the pipeline later, e.g. an output artifact that was never uploaded. */
  readonly warnings: readonly string[];
}
