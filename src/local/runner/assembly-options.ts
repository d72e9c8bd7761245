/** runJob's `app`: the options a synthesized Lambda invoke action implies (cloud-assembly.ts reads them). */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { AssemblyAction, RunJobOptions } from './types';
import { AssemblySelectionError, findInvokeActions, handlerReferenceOf, selectInvokeAction } from '../cloud-assembly';

/** The options a synthesized action implies, under the ones given explicitly. */
export function optionsFromAssembly(options: RunJobOptions, app: AssemblyAction): RunJobOptions {
  const action = selectInvokeAction(findInvokeActions(app.assembly), app);
  const fn = action.function;
  if (options.handler === undefined && fn === undefined) {
    throw new AssemblySelectionError(
      `stage ${action.stageName}, action ${action.actionName} invokes ${action.functionName}, which this assembly does not define: pass handler too`,
    );
  }
  const handler = options.handler ?? handlerReferenceOf(fn!, fs.mkdtempSync(path.join(os.tmpdir(), 'cpi-inline-')));
  const unknownInputs = Object.keys(options.inputs ?? {}).filter((name) => !action.inputArtifacts.includes(name));
  if (unknownInputs.length > 0) {
    throw new AssemblySelectionError(
      `input ${unknownInputs.join(', ')} is not an input artifact of stage ${action.stageName}, action ${action.actionName} (its inputs: ${action.inputArtifacts.join(', ') || 'none'})`,
    );
  }
  // Deploy-time placeholders (`<Bucket.Ref>`) are filled by variables named like them, textually.
  let userParameters = options.userParameters ?? action.userParameters;
  const variables: Record<string, string> = {};
  for (const [name, value] of Object.entries(options.variables ?? {})) {
    if (typeof userParameters === 'string' && action.placeholders.includes(`<${name}>`)) userParameters = userParameters.split(`<${name}>`).join(value);
    else variables[name] = value;
  }
  const known = (value: string | undefined) => (value === undefined || value.startsWith('<') ? undefined : value);
  return {
    ...options,
    handler,
    userParameters,
    variables,
    outputs: options.outputs ?? action.outputArtifacts,
    encryptionKey: options.encryptionKey ?? known(action.encryptionKey),
    functionName: options.functionName ?? known(action.functionName) ?? fn?.logicalId,
    pipelineName: options.pipelineName ?? known(action.pipelineName),
    timeoutMs: options.timeoutMs ?? (fn?.timeoutSeconds === undefined ? undefined : fn.timeoutSeconds * 1000),
    memoryMb: options.memoryMb ?? fn?.memorySize,
    environment: { ...fn?.environment, ...options.environment },
    app: undefined,
  };
}
