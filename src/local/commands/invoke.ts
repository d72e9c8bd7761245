/** `invoke`: runs a handler through a whole local job (runJob) and prints the outcome. */
import * as fs from 'fs';
import * as path from 'path';
import { accountIdArg, optionTable, checkActionSelection, checkArtifactName, list, parseCommand, positiveNumber, SHARED_OPTIONS, splitOnce, str, UsageError, userParametersArg, variablesArg } from './args';
import { INVOKE_HELP } from './help';
import { EXIT_JOB_FAILED, EXIT_SUCCESS, type CliIo } from './io';
import { formatOutcome, outcomeJson } from './outcome-text';
import type { JobEventJson } from '../job-event';
import type { RunJobOutcome } from '../run-job';

const INVOKE_OPTIONS = {
  ...SHARED_OPTIONS,
  ...optionTable({
    values: ['handler', 'timeout', 'max-invocations', 'function-account-id', 'function-region', 'output-dir', 'event', 'schema', 'python'],
    lists: ['env'],
    flags: ['show-event', 'json'],
  }),
};

/** Lambda's largest function timeout: 900 seconds (Lambda quotas). */
const LAMBDA_MAX_TIMEOUT_SECONDS = 900;

export async function invoke(args: readonly string[], io: CliIo): Promise<number> {
  const command = 'invoke';
  const values = parseCommand(command, args, INVOKE_OPTIONS, INVOKE_HELP, io);
  if (values === undefined) return EXIT_SUCCESS;
  const handler = str(values, 'handler');
  const app = str(values, 'app');
  if (handler === undefined && app === undefined) {
    throw new UsageError('--handler is required (e.g. --handler lib/handler.js#handler or app.py#lambda_handler), or --app <cdk.out> --stage <name>', command);
  }
  if (handler !== undefined) {
    const handlerFile = path.resolve(io.cwd, handler.includes('#') ? handler.slice(0, handler.lastIndexOf('#')) : handler);
    if (!fs.existsSync(handlerFile)) throw new UsageError(`--handler ${handler}: file ${handlerFile} not found`, command);
  }
  checkActionSelection(values, command, app === undefined ? undefined : path.resolve(io.cwd, app));
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
    const { runJob } = require('../run-job') as typeof import('../run-job');
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
