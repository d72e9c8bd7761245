/** `generate-event`: the event a Lambda invoke action sends, from flags or from a synthesized pipeline (--app). */
import * as path from 'path';
import { artifactArgs, optionTable, checkActionSelection, list, parseCommand, SHARED_OPTIONS, str, UsageError, userParametersArg, variablesArg, type ParsedValues } from './args';
import { GENERATE_HELP } from './help';
import { EXIT_SUCCESS, type CliIo } from './io';
import { selectInvokeAction, findInvokeActions, type InvokeActionInfo } from '../cloud-assembly';
import {
  buildJobEvent,
  DEFAULT_ACCOUNT_ID,
  DEFAULT_PIPELINE_NAME,
  defaultArtifactBucket,
  PLACEHOLDER_CREDENTIALS,
  type ArtifactSpec,
  type JobEventJson,
} from '../job-event';

const GENERATE_OPTIONS = {
  ...SHARED_OPTIONS,
  ...optionTable({
    values: ['job-id', 'account-id', 'bucket', 'pipeline-name', 'revision', 'continuation-token'],
    flags: ['no-inputs', 'compact'],
  }),
  // artifactCredentials, and SAM's flags for the first input / output artifact's location.
  ...optionTable({ values: ['access-key-id', 'secret-access-key', 'session-token', 'input-bucket', 'input-key', 'output-bucket', 'output-key'] }),
};

export function generateEvent(args: readonly string[], io: CliIo): number {
  const command = 'generate-event';
  const values = parseCommand(command, args, GENERATE_OPTIONS, GENERATE_HELP, io);
  if (values === undefined) return EXIT_SUCCESS;
  const jobId = str(values, 'job-id');
  if (jobId !== undefined && !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(jobId)) {
    throw new UsageError(`--job-id ${jobId}: CodePipeline job ids are lowercase UUIDs (e.g. 11111111-2222-3333-4444-555555555555)`, command);
  }
  const accountId = str(values, 'account-id');
  if (accountId !== undefined && !/^\d{12}$/.test(accountId)) throw new UsageError(`--account-id ${accountId}: an account id has 12 digits`, command);

  const app = str(values, 'app');
  const assemblyDir = app === undefined ? undefined : path.resolve(io.cwd, app);
  checkActionSelection(values, command, assemblyDir);
  const fromApp = assemblyDir === undefined ? undefined : actionFromAssembly(values, assemblyDir);

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
  try {
    return selectInvokeAction(findInvokeActions(assemblyDir), { stage: str(values, 'stage')!, action: str(values, 'action'), pipeline: str(values, 'pipeline') });
  } catch (error) {
    throw new UsageError((error as Error).message, 'generate-event');
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
