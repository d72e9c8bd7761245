#!/usr/bin/env node
/**
 * The `cdk-codepipeline-invoke` command line:
 *   generate-event   print a CodePipeline job event (from flags, or from a synthesized pipeline with --app)
 *   invoke           run a handler file through a whole local job (runJob) and print the outcome
 * Exit codes: 0 success, 1 the job failed, 2 bad usage.
 */
import * as fs from 'fs';
import * as path from 'path';
import { parseArgs } from 'util';
import { findInvokeActions, selectInvokeAction, type InvokeActionInfo } from './cloud-assembly';
import {
  buildJobEvent,
  DEFAULT_ACCOUNT_ID,
  DEFAULT_PIPELINE_NAME,
  defaultArtifactBucket,
  PLACEHOLDER_CREDENTIALS,
  type ArtifactSpec,
  type JobEventJson,
} from './job-event';
import type { RunJobOutcome } from './run-job';

const PROGRAM = 'cdk-codepipeline-invoke';

export const EXIT_SUCCESS = 0;
export const EXIT_JOB_FAILED = 1;
export const EXIT_USAGE = 2;

/** A usage problem: printed with a hint to the command's --help, exit code 2. */
class UsageError extends Error {
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
  }
}

export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly cwd: string;
}

const defaultIo: CliIo = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  cwd: process.cwd(),
};

const MAIN_HELP = `Usage: ${PROGRAM} <command> [options]

Run CodePipeline Lambda invoke jobs on this machine, without AWS.

Commands:
  generate-event   Print the event a Lambda invoke action sends (from flags, or from a synthesized pipeline: --app)
  invoke           Run a handler file through a whole local job and print the outcome

Options:
  -h, --help       Show help (also: ${PROGRAM} <command> --help)
  -v, --version    Show the version

Examples:
  ${PROGRAM} generate-event --user-parameters '{"environment":"dev"}' --input Source --output Out
  ${PROGRAM} generate-event --app cdk.out --stage Deploy
  ${PROGRAM} invoke --handler lib/handler.js#handler --input Source=./app --output Out
`;

const GENERATE_HELP = `Usage: ${PROGRAM} generate-event [options]
       ${PROGRAM} generate-event --app <cdk.out> --stage <name> [--action <name>] [--pipeline <name>]

Prints a CodePipeline job event (JSON) on stdout, as a Lambda invoke action sends it. Pipe it into a file for
\`sam local invoke -e\`, a unit test, or your handler.

From a synthesized cloud assembly:
  --app <dir>                  The cloud assembly folder (cdk.out). Reads manifest.json and the templates only.
  --stage <name>               The pipeline stage with the Lambda invoke action.
  --action <name>              The action, when the stage has several.
  --pipeline <name>            The pipeline (name or logical id), when several have the stage.
  Deploy-time values show as placeholders such as <ArtifactsBucket.Ref>; #{Namespace.Variable} references stay as is.

Event fields (also usable with --app, to override):
  --job-id <uuid>              Job id (default: a random UUID)
  --account-id <12 digits>     Account id (default: ${DEFAULT_ACCOUNT_ID})
  --function-name <name>       FunctionName of the action configuration
  --user-parameters <json|@file>  UserParameters, a string (JSON or not); @file reads it from a file
  --input <name[=bucket/key]>  An input artifact (repeatable; default: one named SourceArtifact)
  --output <name[=bucket/key]> An output artifact (repeatable)
  --no-inputs                  No input artifacts at all
  --bucket <name>              Artifact bucket (default: codepipeline-us-east-1-<account>)
  --pipeline-name <name>       Pipeline name used in generated object keys (default: ${DEFAULT_PIPELINE_NAME})
  --revision <rev>             Revision of the input artifacts (default: null)
  --encryption-key <kms arn>   Adds encryptionKey (type KMS)
  --continuation-token <text>  Adds continuationToken (what the next invocation of a continued job gets)
  --variable <Ns.Name=value>   Substitutes #{Ns.Name} in UserParameters, as CodePipeline does (repeatable)
  --access-key-id <id>, --secret-access-key <key>, --session-token <token>   artifactCredentials
  SAM compatible: --input-bucket, --input-key, --output-bucket, --output-key (first input/output artifact)
  --compact                    One-line JSON
  -h, --help                   Show this help
`;

const INVOKE_HELP = `Usage: ${PROGRAM} invoke --handler <file#export> [options]
       ${PROGRAM} invoke --app <cdk.out> --stage <name> [--action <name>] [--pipeline <name>] [options]

Runs the handler through a whole CodePipeline job on 127.0.0.1: a job-API emulator and an S3 server start on free
ports, inputs are uploaded as zip artifacts, the handler runs with a Lambda-like context (continuation tokens are
followed), and the outcome is printed. TypeScript handler files (.ts) are compiled on the fly with esbuild; Python
handlers (app.py#lambda_handler) run with python3 and boto3.

Options:
  --handler <file#export>      The handler (export defaults to "handler"), e.g. lib/handler.js#handler, src/handler.ts
                               or app.py#lambda_handler
  --app <dir>                  A synthesized cloud assembly: run the stage's own function asset (Node.js or Python),
                               Handler, timeout and the action's UserParameters, artifact names and encryption key
  --stage / --action / --pipeline <name>   Which Lambda invoke action of --app
  --event <event.json>         Take UserParameters, output names, encryption key and function name from an event
                               (e.g. from generate-event); give the inputs with --input
  --schema <schema.json>       Check the UserParameters (JSON) against this JSON Schema before running
  --python <path>              The Python interpreter for .py handlers (default python3)
  --input <name=path>          An input artifact: a folder (zipped) or a .zip file (repeatable)
  --output <name>              An output artifact name (repeatable); extracted to --output-dir after a success
  --user-parameters <json|@file>  The action's UserParameters (a string; @file reads it from a file)
  --timeout <seconds>          The function timeout, at most 900 (default 300, as PipelineJobFunction); the context's
                               remaining time counts down from it, so jobHandler's deadline watchdog works locally
  --max-invocations <n>        Most invocations a continued job may take (default 10)
  --encryption-key <kms arn>   Artifacts use SSE-KMS with this key, and the event carries it
  --function-name <name>       The function name the context and the event show
  --function-account-id <id>   The function is in another account than the pipeline (${DEFAULT_ACCOUNT_ID}): it must
                               report through the job-result role, which a local STS issues (jobHandler does)
  --function-region <region>   The function is in another region than the pipeline (us-east-1)
  --output-dir <dir>           Where outputs are extracted (default: a temporary folder)
  --env <KEY=VALUE>            An environment variable for the handler (repeatable)
  --variable <Ns.Name=value>   Substitutes #{Ns.Name} in UserParameters, as CodePipeline does (repeatable;
                               #{codepipeline.PipelineExecutionId} gets a random UUID unless given); with --app,
                               <Placeholder>=value fills a deploy-time placeholder such as <Stack/Bucket.Ref>
  --show-event                 Print each event (credentials redacted) on stderr
  --json                       Print the outcome as JSON (the handler's own output goes to stderr)
  -h, --help                   Show this help

Exit codes: 0 the job succeeded, 1 the job failed, 2 bad usage.
`;

/** Runs the CLI with `argv` (without node and the script); resolves with the exit code. */
export async function main(argv: readonly string[], io: CliIo = defaultIo): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        io.stdout(MAIN_HELP);
        return command === undefined ? EXIT_USAGE : EXIT_SUCCESS;
      case '-v':
      case '--version':
        io.stdout(`${packageVersion()}\n`);
        return EXIT_SUCCESS;
      case 'generate-event':
        return generateEvent(rest, io);
      case 'invoke':
        return await invoke(rest, io);
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)}: use generate-event or invoke`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`${PROGRAM}: ${error.message}\nRun \`${PROGRAM} ${error.command ? `${error.command} ` : ''}--help\` for usage.\n`);
      return EXIT_USAGE;
    }
    throw error;
  }
}

type ParsedValues = Record<string, string | boolean | string[] | undefined>;

function parse(command: string, args: readonly string[], options: NonNullable<Parameters<typeof parseArgs>[0]>['options']): ParsedValues {
  try {
    const { values, positionals } = parseArgs({ args: [...args], options, allowPositionals: true, strict: true });
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`, command);
    return values as ParsedValues;
  } catch (error) {
    if (error instanceof UsageError) throw error;
    // parseArgs messages name the option ("Unknown option '--x'", "Option '--input <value>' argument missing"). Newer
    // Node versions append a hint whose quotes do not balance ('-- "--x"): say it in our own words instead.
    const message = (error as Error).message;
    const unknown = /^Unknown option '([^']*)'/.exec(message);
    throw new UsageError(unknown ? `Unknown option '${unknown[1]}' (a value starting with '-' goes after '--', as in: -- ${JSON.stringify(unknown[1])})` : message, command);
  }
}

function str(values: ParsedValues, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

function list(values: ParsedValues, name: string): string[] {
  const v = values[name];
  return Array.isArray(v) ? v : [];
}

/** `--user-parameters` value: text as is, or `@file` read from disk. */
function userParametersArg(value: string | undefined, command: string, cwd: string): string | undefined {
  if (value === undefined || !value.startsWith('@')) return value;
  const file = path.resolve(cwd, value.slice(1));
  if (!fs.existsSync(file)) throw new UsageError(`--user-parameters ${value}: file ${file} not found`, command);
  if (fs.statSync(file).isDirectory()) throw new UsageError(`--user-parameters ${value}: ${file} is a folder; give a file (@path/to/params.json)`, command);
  try {
    return fs.readFileSync(file, 'utf8').trimEnd();
  } catch (error) {
    throw new UsageError(`--user-parameters ${value}: cannot read ${file}: ${(error as Error).message}`, command);
  }
}

/** `--variable Namespace.Name=value` flags, keyed `Namespace.Name`. */
function variablesArg(values: ParsedValues, command: string, placeholders = false): Record<string, string> {
  const variables: Record<string, string> = {};
  for (const arg of list(values, 'variable')) {
    const [key, value] = splitOnce(arg, '=');
    // With --app a key may also name a deploy-time placeholder (`Stack/Bucket.Ref` fills `<Stack/Bucket.Ref>`).
    if (value === undefined || !(placeholders ? key !== '' : /^[A-Za-z0-9@\-_]+\.[A-Za-z0-9@\-_]+$/.test(key))) {
      throw new UsageError(`--variable ${arg}: use --variable Namespace.Name=value (for #{Namespace.Name} in UserParameters)`, command);
    }
    variables[key] = value;
  }
  return variables;
}

// ------------------------------------------------------------------------------------------------------------------
// generate-event

const GENERATE_OPTIONS = {
  'help': { type: 'boolean', short: 'h' },
  'app': { type: 'string' },
  'stage': { type: 'string' },
  'action': { type: 'string' },
  'pipeline': { type: 'string' },
  'job-id': { type: 'string' },
  'account-id': { type: 'string' },
  'function-name': { type: 'string' },
  'user-parameters': { type: 'string' },
  'input': { type: 'string', multiple: true },
  'output': { type: 'string', multiple: true },
  'no-inputs': { type: 'boolean' },
  'bucket': { type: 'string' },
  'pipeline-name': { type: 'string' },
  'revision': { type: 'string' },
  'encryption-key': { type: 'string' },
  'continuation-token': { type: 'string' },
  'variable': { type: 'string', multiple: true },
  'access-key-id': { type: 'string' },
  'secret-access-key': { type: 'string' },
  'session-token': { type: 'string' },
  'input-bucket': { type: 'string' },
  'input-key': { type: 'string' },
  'output-bucket': { type: 'string' },
  'output-key': { type: 'string' },
  'compact': { type: 'boolean' },
} as const;

function generateEvent(args: readonly string[], io: CliIo): number {
  const command = 'generate-event';
  const values = parse(command, args, GENERATE_OPTIONS);
  if (values.help) {
    io.stdout(GENERATE_HELP);
    return EXIT_SUCCESS;
  }
  const jobId = str(values, 'job-id');
  if (jobId !== undefined && !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(jobId)) {
    throw new UsageError(`--job-id ${jobId}: CodePipeline job ids are lowercase UUIDs (e.g. 11111111-2222-3333-4444-555555555555)`, command);
  }
  const accountId = str(values, 'account-id');
  if (accountId !== undefined && !/^\d{12}$/.test(accountId)) throw new UsageError(`--account-id ${accountId}: an account id has 12 digits`, command);

  const app = str(values, 'app');
  const fromApp = app === undefined ? undefined : actionFromAssembly(values, path.resolve(io.cwd, app));
  if (app === undefined && (values.stage !== undefined || values.action !== undefined || values.pipeline !== undefined)) {
    throw new UsageError('--stage, --action and --pipeline select an action of a synthesized pipeline: add --app <cdk.out>', command);
  }

  const account = accountId ?? fromApp?.account ?? DEFAULT_ACCOUNT_ID;
  const revision = str(values, 'revision');
  const inputs = artifactArgs(list(values, 'input'), '--input', command).map((a) => ({ ...a, revision: revision ?? null }));
  const outputs = artifactArgs(list(values, 'output'), '--output', command);
  const appInputs = fromApp?.inputArtifacts.map((name) => ({ name, revision: revision ?? null })) ?? [];
  let inputArtifacts: ArtifactSpec[] = inputs.length > 0 ? inputs : appInputs;
  let outputArtifacts: ArtifactSpec[] = outputs.length > 0 ? outputs : (fromApp?.outputArtifacts.map((name) => ({ name })) ?? []);
  if (inputArtifacts.length === 0 && !values['no-inputs'] && !fromApp) inputArtifacts = [{ name: 'SourceArtifact', revision: revision ?? null }];
  if (values['no-inputs']) inputArtifacts = [];
  // SAM's flags set the first input / output artifact's location.
  inputArtifacts = withSamLocation(inputArtifacts, str(values, 'input-bucket'), str(values, 'input-key'), 'SourceArtifact');
  outputArtifacts = withSamLocation(outputArtifacts, str(values, 'output-bucket'), str(values, 'output-key'), 'OutputArtifact');

  let event: JobEventJson;
  try {
    event = buildJobEvent({
      jobId,
      accountId: account,
      functionName: str(values, 'function-name') ?? fromApp?.functionName,
      userParameters: userParametersArg(str(values, 'user-parameters'), command, io.cwd) ?? fromApp?.userParameters,
      inputArtifacts,
      outputArtifacts,
      bucketName: str(values, 'bucket') ?? fromApp?.artifactBucket ?? defaultArtifactBucket(account),
      pipelineName: str(values, 'pipeline-name') ?? (fromApp && !fromApp.pipelineName.startsWith('<') ? fromApp.pipelineName : DEFAULT_PIPELINE_NAME),
      credentials: {
        accessKeyId: str(values, 'access-key-id') ?? PLACEHOLDER_CREDENTIALS.accessKeyId,
        secretAccessKey: str(values, 'secret-access-key') ?? PLACEHOLDER_CREDENTIALS.secretAccessKey,
        sessionToken: str(values, 'session-token') ?? PLACEHOLDER_CREDENTIALS.sessionToken,
      },
      encryptionKey: str(values, 'encryption-key') ?? fromApp?.encryptionKey,
      continuationToken: str(values, 'continuation-token'),
      variables: variablesArg(values, command),
    });
  } catch (error) {
    // e.g. UserParameters longer than CodePipeline allows: the message says by how much.
    if (error instanceof UsageError) throw error;
    throw new UsageError((error as Error).message, command);
  }
  io.stdout(`${JSON.stringify(event, null, values.compact ? undefined : 2)}\n`);
  if (fromApp) io.stderr(describeAction(fromApp));
  return EXIT_SUCCESS;
}

function actionFromAssembly(values: ParsedValues, assemblyDir: string): InvokeActionInfo {
  const command = 'generate-event';
  const stage = str(values, 'stage');
  try {
    const actions = findInvokeActions(assemblyDir);
    if (stage === undefined) {
      const stages = [...new Set(actions.map((a) => a.stageName))];
      throw new UsageError(`--app needs --stage <name>; stages with a Lambda invoke action: ${stages.join(', ') || 'none'}`, command);
    }
    return selectInvokeAction(actions, { stage, action: str(values, 'action'), pipeline: str(values, 'pipeline') });
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError((error as Error).message, command);
  }
}

function describeAction(action: InvokeActionInfo): string {
  const lines = [
    `Stage ${action.stageName}, action ${action.actionName} of pipeline ${action.pipelineName} (stack ${action.stack})`,
    `  function: ${action.functionName}`,
    `  inputs: ${action.inputArtifacts.join(', ') || 'none'}; outputs: ${action.outputArtifacts.join(', ') || 'none'}`,
    ...(action.namespace ? [`  variables namespace: ${action.namespace}`] : []),
    ...(action.placeholders.length > 0 ? [`  known only after deploy: ${action.placeholders.join(', ')}`] : []),
  ];
  return `${lines.join('\n')}\n`;
}

/** `name` or `name=bucket/key`. */
function artifactArgs(args: readonly string[], flag: string, command: string): ArtifactSpec[] {
  return args.map((arg) => {
    const [name, location] = splitOnce(arg, '=');
    checkArtifactName(name, flag, command);
    if (location === undefined) return { name };
    const [bucketName, objectKey] = splitOnce(location, '/');
    if (!bucketName || !objectKey) throw new UsageError(`${flag} ${arg}: the location must be bucket/key`, command);
    return { name, bucketName, objectKey };
  });
}

function withSamLocation(
  artifacts: ArtifactSpec[],
  bucketName: string | undefined,
  objectKey: string | undefined,
  defaultName: string,
): ArtifactSpec[] {
  if (bucketName === undefined && objectKey === undefined) return artifacts;
  const [first = { name: defaultName }, ...rest] = artifacts;
  return [{ ...first, ...(bucketName !== undefined ? { bucketName } : {}), ...(objectKey !== undefined ? { objectKey } : {}) }, ...rest];
}

function splitOnce(text: string, separator: string): [string, string | undefined] {
  const i = text.indexOf(separator);
  return i < 0 ? [text, undefined] : [text.slice(0, i), text.slice(i + 1)];
}

/** `ArtifactName` of the API model: 1-100 characters of [a-zA-Z0-9_-]. */
function checkArtifactName(name: string, flag: string, command: string): void {
  if (!/^[a-zA-Z0-9_-]{1,100}$/.test(name)) {
    throw new UsageError(`${flag} ${JSON.stringify(name)}: artifact names are 1-100 letters, digits, _ or -`, command);
  }
}

// ------------------------------------------------------------------------------------------------------------------
// invoke

const INVOKE_OPTIONS = {
  'help': { type: 'boolean', short: 'h' },
  'handler': { type: 'string' },
  'input': { type: 'string', multiple: true },
  'output': { type: 'string', multiple: true },
  'user-parameters': { type: 'string' },
  'timeout': { type: 'string' },
  'max-invocations': { type: 'string' },
  'encryption-key': { type: 'string' },
  'function-name': { type: 'string' },
  'function-account-id': { type: 'string' },
  'function-region': { type: 'string' },
  'output-dir': { type: 'string' },
  'env': { type: 'string', multiple: true },
  'variable': { type: 'string', multiple: true },
  'show-event': { type: 'boolean' },
  'json': { type: 'boolean' },
  'app': { type: 'string' },
  'stage': { type: 'string' },
  'action': { type: 'string' },
  'pipeline': { type: 'string' },
  'event': { type: 'string' },
  'schema': { type: 'string' },
  'python': { type: 'string' },
} as const;

/** Lambda's largest function timeout: 900 seconds (Lambda quotas). */
const LAMBDA_MAX_TIMEOUT_SECONDS = 900;

async function invoke(args: readonly string[], io: CliIo): Promise<number> {
  const command = 'invoke';
  const values = parse(command, args, INVOKE_OPTIONS);
  if (values.help) {
    io.stdout(INVOKE_HELP);
    return EXIT_SUCCESS;
  }
  const handler = str(values, 'handler');
  const app = str(values, 'app');
  if (handler === undefined && app === undefined) {
    throw new UsageError('--handler is required (e.g. --handler lib/handler.js#handler or app.py#lambda_handler), or --app <cdk.out> --stage <name>', command);
  }
  if (handler !== undefined) {
    const handlerFile = path.resolve(io.cwd, handler.includes('#') ? handler.slice(0, handler.lastIndexOf('#')) : handler);
    if (!fs.existsSync(handlerFile)) throw new UsageError(`--handler ${handler}: file ${handlerFile} not found`, command);
  }
  if (app === undefined && (values.stage !== undefined || values.action !== undefined || values.pipeline !== undefined)) {
    throw new UsageError('--stage, --action and --pipeline select an action of a synthesized pipeline: add --app <cdk.out>', command);
  }
  if (app !== undefined && str(values, 'stage') === undefined) {
    const stages = (() => {
      try {
        return [...new Set(findInvokeActions(path.resolve(io.cwd, app)).map((a) => a.stageName))].join(', ') || 'none';
      } catch (error) {
        throw new UsageError((error as Error).message, command);
      }
    })();
    throw new UsageError(`--app needs --stage <name>; stages with a Lambda invoke action: ${stages}`, command);
  }
  const fromEvent = eventArg(str(values, 'event'), command, io.cwd);

  const inputs: Record<string, string> = {};
  for (const arg of list(values, 'input')) {
    const [name, source] = splitOnce(arg, '=');
    if (source === undefined || source === '') throw new UsageError(`--input ${arg}: use --input NAME=PATH (a folder or a .zip file)`, command);
    checkArtifactName(name, '--input', command);
    const resolved = path.resolve(io.cwd, source);
    if (!fs.existsSync(resolved)) throw new UsageError(`--input ${arg}: ${resolved} does not exist`, command);
    inputs[name] = resolved;
  }
  const outputs = list(values, 'output');
  for (const name of outputs) checkArtifactName(name, '--output', command);
  const environment: Record<string, string> = {};
  for (const arg of list(values, 'env')) {
    const [key, value] = splitOnce(arg, '=');
    if (value === undefined || key === '') throw new UsageError(`--env ${arg}: use --env KEY=VALUE`, command);
    environment[key] = value;
  }
  const timeout = positiveNumber(str(values, 'timeout'), '--timeout', command);
  // Node's timers hold at most 2^31-1 ms (a larger delay fires at once); Lambda itself stops at 900 s.
  if (timeout !== undefined && timeout > LAMBDA_MAX_TIMEOUT_SECONDS) {
    throw new UsageError(`--timeout ${str(values, 'timeout')}: a Lambda function runs at most ${LAMBDA_MAX_TIMEOUT_SECONDS} seconds`, command);
  }
  const maxInvocations = positiveNumber(str(values, 'max-invocations'), '--max-invocations', command);
  if (maxInvocations !== undefined && !Number.isInteger(maxInvocations)) throw new UsageError('--max-invocations must be a whole number', command);

  const userParameters = userParametersArg(str(values, 'user-parameters'), command, io.cwd) ?? fromEvent?.userParameters;
  const schema = str(values, 'schema');
  if (schema !== undefined) checkAgainstSchema(userParameters, path.resolve(io.cwd, schema), command);

  const json = values.json === true;
  // The outcome is the only thing on stdout: the handler's logs go to stderr, so `--json` output stays parseable.
  const restoreStdout = redirectStdoutToStderr();
  let outcome: RunJobOutcome;
  try {
    // Loaded here: the AWS SDK (via the runtime) is needed by invoke only, generate-event starts faster without it.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { runJob } = require('./run-job') as typeof import('./run-job');
    outcome = await runJob({
      handler: handler === undefined ? undefined : path.resolve(io.cwd, handler),
      app: app === undefined ? undefined : { assembly: path.resolve(io.cwd, app), stage: str(values, 'stage')!, action: str(values, 'action'), pipeline: str(values, 'pipeline') },
      inputs,
      outputs: outputs.length > 0 ? outputs : app === undefined ? (fromEvent?.outputs ?? []) : undefined,
      userParameters,
      timeoutMs: timeout === undefined ? undefined : timeout * 1000,
      maxInvocations,
      encryptionKey: str(values, 'encryption-key') ?? fromEvent?.encryptionKey,
      functionName: str(values, 'function-name') ?? fromEvent?.functionName,
      python: str(values, 'python'),
      functionAccountId: accountIdArg(str(values, 'function-account-id'), '--function-account-id', command),
      functionRegion: str(values, 'function-region'),
      outputDirectory: str(values, 'output-dir') === undefined ? undefined : path.resolve(io.cwd, str(values, 'output-dir')!),
      environment,
      variables: variablesArg(values, command, app !== undefined),
      onInvoke: values['show-event'] ? (event, n) => io.stderr(`Event of invocation ${n}:\n${JSON.stringify(redactEvent(event), null, 2)}\n`) : undefined,
    });
  } catch (error) {
    restoreStdout();
    const message = error instanceof Error ? error.message : String(error);
    throw new UsageError(message, command);
  }
  restoreStdout();
  io.stdout(json ? `${JSON.stringify(outcomeJson(outcome), null, 2)}\n` : formatOutcome(outcome));
  return outcome.status === 'Succeeded' ? EXIT_SUCCESS : EXIT_JOB_FAILED;
}

/** What `--event event.json` (an event from generate-event) says about the job: runJob builds its own event from it. */
function eventArg(
  value: string | undefined,
  command: string,
  cwd: string,
): { userParameters?: string; outputs: string[]; encryptionKey?: string; functionName?: string } | undefined {
  if (value === undefined) return undefined;
  const file = path.resolve(cwd, value);
  let event: unknown;
  try {
    event = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new UsageError(`--event ${value}: cannot read ${file} as JSON: ${(error as Error).message}`, command);
  }
  const data = (event as { 'CodePipeline.job'?: { data?: Record<string, unknown> } })?.['CodePipeline.job']?.data;
  if (typeof data !== 'object' || data === null) throw new UsageError(`--event ${value}: ${file} is not a CodePipeline job event (no "CodePipeline.job".data)`, command);
  const configuration = ((data.actionConfiguration as { configuration?: Record<string, unknown> } | undefined)?.configuration ?? {});
  const names = (artifacts: unknown) => (Array.isArray(artifacts) ? artifacts.map((a) => String((a as { name?: unknown }).name)) : []);
  return {
    userParameters: typeof configuration.UserParameters === 'string' ? configuration.UserParameters : undefined,
    outputs: names(data.outputArtifacts),
    encryptionKey: (data.encryptionKey as { id?: string } | undefined)?.id,
    functionName: typeof configuration.FunctionName === 'string' ? configuration.FunctionName : undefined,
  };
}

/** `--schema file.json`: the UserParameters (JSON) must match the JSON Schema before anything runs. */
function checkAgainstSchema(userParameters: string | undefined, schemaFile: string, command: string): void {
  let schema: unknown;
  try {
    schema = JSON.parse(fs.readFileSync(schemaFile, 'utf8'));
  } catch (error) {
    throw new UsageError(`--schema: cannot read ${schemaFile} as a JSON Schema: ${(error as Error).message}`, command);
  }
  let parameters: unknown;
  try {
    parameters = JSON.parse(userParameters ?? '{}');
  } catch (error) {
    throw new UsageError(`--schema: the UserParameters are not JSON (${(error as Error).message}), so they cannot match ${schemaFile}`, command);
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Validator } = require('@cfworker/json-schema') as typeof import('@cfworker/json-schema');
  const result = new Validator(schema as object, '2020-12', false).validate(parameters);
  if (!result.valid) {
    const errors = result.errors.filter((e) => e.keyword !== 'properties').map((e) => `${e.instanceLocation || '#'}: ${e.error}`);
    throw new UsageError(`the UserParameters do not match ${schemaFile}:\n  ${errors.join('\n  ')}`, command);
  }
}

function accountIdArg(value: string | undefined, flag: string, command: string): string | undefined {
  if (value !== undefined && !/^\d{12}$/.test(value)) throw new UsageError(`${flag} ${value}: an account id has 12 digits`, command);
  return value;
}

function positiveNumber(value: string | undefined, flag: string, command: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${flag} ${value}: expected a positive number`, command);
  return n;
}

function redirectStdoutToStderr(): () => void {
  const original = process.stdout.write;
  process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;
  return () => {
    process.stdout.write = original;
  };
}

function redactEvent(event: JobEventJson): JobEventJson {
  const job = event['CodePipeline.job'];
  const creds = job.data.artifactCredentials;
  return {
    'CodePipeline.job': {
      ...job,
      data: { ...job.data, artifactCredentials: { ...creds, secretAccessKey: '[redacted]', sessionToken: '[redacted]' } },
    },
  };
}

/** The outcome for machines: the design's fields plus the job id, crash and warnings. */
function outcomeJson(outcome: RunJobOutcome): object {
  const { status, failure, outputVariables, summary, invocations, outputs, jobId, crash, warnings } = outcome;
  return { status, failure, outputVariables, summary, invocations, outputs, jobId, crash, warnings };
}

function formatOutcome(outcome: RunJobOutcome): string {
  const invocations = `${outcome.invocations} invocation${outcome.invocations === 1 ? '' : 's'}`;
  const lines: string[] = [];
  if (outcome.status === 'Succeeded') {
    lines.push(`Job ${outcome.jobId} Succeeded after ${invocations}`);
    if (outcome.summary) lines.push(`  summary: ${outcome.summary}`);
  } else {
    lines.push(`Job ${outcome.jobId} Failed (${outcome.failure?.type}) after ${invocations}`);
    lines.push(`  message: ${outcome.failure?.message}`);
    if (outcome.crash) lines.push(`  the handler crashed (${outcome.crash.errorType}); the crash reporter failed the job`);
  }
  const variables = Object.entries(outcome.outputVariables ?? {});
  if (variables.length > 0) {
    lines.push('  output variables:');
    for (const [k, v] of variables) lines.push(`    ${k} = ${v}`);
  }
  const outputs = Object.entries(outcome.outputs);
  if (outputs.length > 0) {
    lines.push('  output artifacts:');
    for (const [name, dir] of outputs) {
      const files = countFiles(dir);
      lines.push(`    ${name} -> ${dir} (${files} ${files === 1 ? 'file' : 'files'})`);
    }
  }
  for (const warning of outcome.warnings) lines.push(`  warning: ${warning}`);
  return `${lines.join('\n')}\n`;
}

function countFiles(dir: string): number {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).length;
}

function packageVersion(): string {
  // lib/local/cli.js and src/local/cli.ts both sit two levels below the package root.
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (fs.existsSync(file)) {
      const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'cdk-codepipeline-invoke') return pkg.version ?? '0.0.0';
    }
  }
  return '0.0.0';
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    // Exit explicitly: a handler that timed out may still hold timers or sockets.
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`${PROGRAM}: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(EXIT_USAGE);
    },
  );
}
