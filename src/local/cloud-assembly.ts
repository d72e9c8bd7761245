/**
 * Reads a synthesized cloud assembly (`cdk.out`) to find the Lambda invoke actions of its pipelines, so
 * `generate-event --app` can print the exact event an action would send. Only the assembly's JSON files are read
 * (manifest.json and the templates); nothing from aws-cdk-lib is loaded.
 *
 * Values known only after deploy (a `Ref`, a `Fn::GetAtt`, an import) become readable placeholders such as
 * `<ArtifactsBucket.Ref>` or `<MyFunction.Arn>`; pipeline variables (`#{Namespace.Variable}`) stay as they are, since
 * CodePipeline substitutes them when the action runs.
 */
import * as fs from 'fs';
import * as path from 'path';

/** A Lambda invoke action as synthesized. */
export interface InvokeActionInfo {
  /** The stack's artifact id in the assembly (e.g. `PipelineStack`, or `Stage/Stack` for a nested assembly). */
  readonly stack: string;
  readonly pipelineLogicalId: string;
  /** The pipeline's name, or a placeholder when CloudFormation generates it. */
  readonly pipelineName: string;
  readonly stageName: string;
  readonly actionName: string;
  readonly runOrder?: number;
  readonly namespace?: string;
  /** `FunctionName` of the action configuration, resolved. */
  readonly functionName: string;
  /** `UserParameters`, resolved; undefined when the action has none. */
  readonly userParameters?: string;
  readonly inputArtifacts: readonly string[];
  readonly outputArtifacts: readonly string[];
  readonly artifactBucket: string;
  readonly encryptionKey?: string;
  /** From the stack's environment; undefined when the stack is environment-agnostic. */
  readonly account?: string;
  readonly region?: string;
  /** Every placeholder used for a deploy-time value, in order of appearance. */
  readonly placeholders: readonly string[];
  /** The invoked function as synthesized, when the template defines it (`FunctionName` is a `Ref` to it). */
  readonly function?: FunctionCodeInfo;
}

/** Where a synthesized function's code is and how Lambda would start it. */
export interface FunctionCodeInfo {
  readonly logicalId: string;
  /** `Runtime`, e.g. `nodejs24.x` or `python3.13`. */
  readonly runtime: string;
  /** `Handler`, e.g. `index.handler` or `app.lambda_handler`. */
  readonly handler: string;
  /** The asset folder in the assembly (a bundled NodejsFunction's too), when the code is an asset. */
  readonly assetDirectory?: string;
  /** `Code.ZipFile` inline code. */
  readonly inlineCode?: string;
  /** The function's `Timeout` in seconds, when set. */
  readonly timeoutSeconds?: number;
  readonly memorySize?: number;
  /** Environment variables whose values are literal in the template. */
  readonly environment: Readonly<Record<string, string>>;
}

/** The assembly has no such action, or the selection is ambiguous; the message lists what there is. */
export class AssemblySelectionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AssemblySelectionError';
  }
}

interface Manifest {
  readonly artifacts?: Record<string, ManifestArtifact>;
}
interface ManifestArtifact {
  readonly type: string;
  readonly environment?: string;
  readonly displayName?: string;
  readonly properties?: { readonly templateFile?: string; readonly directoryName?: string; readonly stackName?: string };
}
interface TemplateResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly Metadata?: Record<string, unknown>;
}
interface Template {
  readonly Resources?: Record<string, TemplateResource>;
}

/** Every Lambda invoke action of every pipeline in the assembly (nested assemblies included). */
export function findInvokeActions(assemblyDir: string): InvokeActionInfo[] {
  const manifestFile = path.join(assemblyDir, 'manifest.json');
  if (!fs.existsSync(manifestFile)) {
    throw new AssemblySelectionError(
      `${assemblyDir} is not a cloud assembly (no manifest.json). Synthesize first (npx cdk synth, or app.synth()) and pass its output folder, usually cdk.out.`,
    );
  }
  const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as Manifest;
  const actions: InvokeActionInfo[] = [];
  for (const [id, artifact] of Object.entries(manifest.artifacts ?? {})) {
    if (artifact.type === 'cdk:cloud-assembly' && artifact.properties?.directoryName) {
      actions.push(...findInvokeActions(path.join(assemblyDir, artifact.properties.directoryName)));
    } else if (artifact.type === 'aws:cloudformation:stack' && artifact.properties?.templateFile) {
      const template = JSON.parse(fs.readFileSync(path.join(assemblyDir, artifact.properties.templateFile), 'utf8')) as Template;
      const env = parseEnvironment(artifact.environment);
      actions.push(...actionsOfTemplate(artifact.displayName ?? id, template, env, artifact.properties.stackName ?? id, assemblyDir));
    }
  }
  return actions;
}

/** Picks one action by stage (and action / pipeline when needed), or explains what exists. */
export function selectInvokeAction(
  actions: readonly InvokeActionInfo[],
  want: { stage: string; action?: string; pipeline?: string },
): InvokeActionInfo {
  const describe = (list: readonly InvokeActionInfo[]) =>
    list.map((a) => `  --stage ${quoteArg(a.stageName)} --action ${quoteArg(a.actionName)}   (pipeline ${a.pipelineName} in ${a.stack})`).join('\n');
  if (actions.length === 0) {
    throw new AssemblySelectionError('the assembly has no pipeline with a Lambda invoke action (ActionTypeId Invoke/AWS/Lambda).');
  }
  let candidates = actions.filter((a) => a.stageName === want.stage);
  if (want.pipeline !== undefined) candidates = candidates.filter((a) => a.pipelineName === want.pipeline || a.pipelineLogicalId === want.pipeline);
  if (want.action !== undefined) candidates = candidates.filter((a) => a.actionName === want.action);
  if (candidates.length === 1) return candidates[0];
  if (candidates.length === 0) {
    throw new AssemblySelectionError(`no Lambda invoke action matches ${describeWant(want)}. The assembly has:\n${describe(actions)}`);
  }
  throw new AssemblySelectionError(
    `${candidates.length} Lambda invoke actions match ${describeWant(want)}; add ${want.action === undefined ? '--action' : '--pipeline'} to pick one:\n${describe(candidates)}`,
  );
}

function describeWant(want: { stage: string; action?: string; pipeline?: string }): string {
  return [`--stage ${quoteArg(want.stage)}`, want.action && `--action ${quoteArg(want.action)}`, want.pipeline && `--pipeline ${quoteArg(want.pipeline)}`]
    .filter(Boolean)
    .join(' ');
}

function quoteArg(value: string): string {
  return /^[\w@.\-/]+$/.test(value) ? value : JSON.stringify(value);
}

function parseEnvironment(environment: string | undefined): { account?: string; region?: string } {
  const m = /^aws:\/\/([^/]+)\/(.+)$/.exec(environment ?? '');
  if (!m) return {};
  return { account: m[1].startsWith('unknown-') ? undefined : m[1], region: m[2].startsWith('unknown-') ? undefined : m[2] };
}

interface ResolveContext {
  readonly template: Template;
  readonly account?: string;
  readonly region?: string;
  readonly stackName: string;
  readonly placeholders: string[];
}

function actionsOfTemplate(
  stack: string,
  template: Template,
  env: { account?: string; region?: string },
  stackName: string,
  assemblyDir: string,
): InvokeActionInfo[] {
  const out: InvokeActionInfo[] = [];
  for (const [logicalId, resource] of Object.entries(template.Resources ?? {})) {
    if (resource.Type !== 'AWS::CodePipeline::Pipeline') continue;
    const props = resource.Properties ?? {};
    const stages = Array.isArray(props.Stages) ? (props.Stages as Array<Record<string, unknown>>) : [];
    for (const stage of stages) {
      for (const action of Array.isArray(stage.Actions) ? (stage.Actions as Array<Record<string, unknown>>) : []) {
        const type = (action.ActionTypeId ?? {}) as Record<string, unknown>;
        if (type.Category !== 'Invoke' || type.Owner !== 'AWS' || type.Provider !== 'Lambda') continue;
        const ctx: ResolveContext = { template, ...env, stackName, placeholders: [] };
        const configuration = (action.Configuration ?? {}) as Record<string, unknown>;
        const store = artifactStore(props, env.region);
        out.push({
          stack,
          pipelineLogicalId: logicalId,
          pipelineName: props.Name === undefined ? placeholder(ctx, `${label(template, logicalId)}.Ref`) : resolve(props.Name, ctx),
          stageName: resolve(stage.Name, ctx),
          actionName: resolve(action.Name, ctx),
          runOrder: typeof action.RunOrder === 'number' ? action.RunOrder : undefined,
          namespace: typeof action.Namespace === 'string' ? action.Namespace : undefined,
          functionName: resolve(configuration.FunctionName, ctx),
          userParameters: configuration.UserParameters === undefined ? undefined : resolve(configuration.UserParameters, ctx),
          inputArtifacts: artifactNames(action.InputArtifacts, ctx),
          outputArtifacts: artifactNames(action.OutputArtifacts, ctx),
          artifactBucket: store?.Location === undefined ? placeholder(ctx, 'ArtifactBucket') : resolve(store.Location, ctx),
          encryptionKey: store?.EncryptionKey === undefined ? undefined : resolve((store.EncryptionKey as Record<string, unknown>).Id, ctx),
          account: env.account,
          region: env.region,
          placeholders: ctx.placeholders,
          function: functionOf(configuration.FunctionName, template, assemblyDir),
        });
      }
    }
  }
  return out;
}

/** `ArtifactStore`, or the entry of `ArtifactStores` for the stack's region (cross-region pipelines). */
function artifactStore(props: Record<string, unknown>, region: string | undefined): Record<string, unknown> | undefined {
  if (props.ArtifactStore) return props.ArtifactStore as Record<string, unknown>;
  const stores = Array.isArray(props.ArtifactStores) ? (props.ArtifactStores as Array<Record<string, unknown>>) : [];
  const match = stores.find((s) => s.Region === region) ?? stores[0];
  return match?.ArtifactStore as Record<string, unknown> | undefined;
}

function artifactNames(value: unknown, ctx: ResolveContext): string[] {
  return Array.isArray(value) ? value.map((a) => resolve((a as Record<string, unknown>).Name, ctx)) : [];
}

/** The construct path of a resource (without `/Resource`) when the template has path metadata, else its logical id. */
function label(template: Template, logicalId: string): string {
  const cdkPath = template.Resources?.[logicalId]?.Metadata?.['aws:cdk:path'];
  return typeof cdkPath === 'string' ? cdkPath.replace(/\/(Resource|Default)$/, '') : logicalId;
}

function placeholder(ctx: ResolveContext, name: string): string {
  const text = `<${name}>`;
  if (!ctx.placeholders.includes(text)) ctx.placeholders.push(text);
  return text;
}

/** Literal names CloudFormation uses as the `Ref` of some resource types, when the template sets them. */
const NAME_PROPERTIES: Record<string, string> = {
  'AWS::Lambda::Function': 'FunctionName',
  'AWS::S3::Bucket': 'BucketName',
  'AWS::CodePipeline::Pipeline': 'Name',
};

const PSEUDO_PARAMETERS = new Set(['AWS::AccountId', 'AWS::Region', 'AWS::Partition', 'AWS::URLSuffix', 'AWS::StackName', 'AWS::StackId', 'AWS::NoValue']);

/** Resolves a CloudFormation value to text, with placeholders for what only deployment knows. */
function resolve(value: unknown, ctx: ResolveContext): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return JSON.stringify(value);
  const [fn, arg] = Object.entries(value as Record<string, unknown>)[0] ?? [];
  switch (fn) {
    case 'Ref':
      return resolveRef(String(arg), ctx);
    case 'Fn::GetAtt': {
      const [id, attribute] = Array.isArray(arg) ? arg.map(String) : String(arg).split(/\.(.*)/s);
      return placeholder(ctx, `${label(ctx.template, id)}.${attribute}`);
    }
    case 'Fn::Join': {
      const [delimiter, parts] = arg as [string, unknown[]];
      return (Array.isArray(parts) ? parts : []).map((p) => resolve(p, ctx)).join(delimiter);
    }
    case 'Fn::Sub': {
      const [text, vars] = Array.isArray(arg) ? (arg as [string, Record<string, unknown>]) : [String(arg), {}];
      return text.replace(/\$\{(!?)([^}]+)\}/g, (_whole, bang: string, name: string) => {
        if (bang) return `\${${name}}`;
        if (vars && name in vars) return resolve(vars[name], ctx);
        return name.includes('.') ? resolve({ 'Fn::GetAtt': name }, ctx) : resolveRef(name, ctx);
      });
    }
    case 'Fn::ImportValue':
      return placeholder(ctx, `ImportValue ${resolve(arg, ctx)}`);
    default:
      return placeholder(ctx, `${fn} ${JSON.stringify(arg)}`);
  }
}

function resolveRef(name: string, ctx: ResolveContext): string {
  if (PSEUDO_PARAMETERS.has(name)) {
    if (name === 'AWS::AccountId' && ctx.account) return ctx.account;
    if (name === 'AWS::Region' && ctx.region) return ctx.region;
    if (name === 'AWS::Partition' && ctx.region) return ctx.region.startsWith('cn-') ? 'aws-cn' : ctx.region.startsWith('us-gov-') ? 'aws-us-gov' : 'aws';
    if (name === 'AWS::URLSuffix' && ctx.region) return ctx.region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
    if (name === 'AWS::StackName') return ctx.stackName;
    return placeholder(ctx, name);
  }
  const resource = ctx.template.Resources?.[name];
  const nameProperty = resource && NAME_PROPERTIES[resource.Type];
  const literal = nameProperty ? resource.Properties?.[nameProperty] : undefined;
  if (typeof literal === 'string') return literal;
  return placeholder(ctx, `${label(ctx.template, name)}.Ref`);
}

/** The function a `FunctionName` of `{ Ref: LogicalId }` points at, with its code location in the assembly. */
function functionOf(functionName: unknown, template: Template, assemblyDir: string): FunctionCodeInfo | undefined {
  const ref = (functionName as { Ref?: unknown } | undefined)?.Ref;
  const getAtt = (functionName as { 'Fn::GetAtt'?: unknown } | undefined)?.['Fn::GetAtt'];
  const logicalId = typeof ref === 'string' ? ref : Array.isArray(getAtt) ? String(getAtt[0]) : undefined;
  const resource = logicalId === undefined ? undefined : template.Resources?.[logicalId];
  if (logicalId === undefined || resource?.Type !== 'AWS::Lambda::Function') return undefined;
  const props = resource.Properties ?? {};
  const code = (props.Code ?? {}) as Record<string, unknown>;
  const variables = ((props.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {}) as Record<string, unknown>;
  return {
    logicalId,
    runtime: typeof props.Runtime === 'string' ? props.Runtime : '',
    handler: typeof props.Handler === 'string' ? props.Handler : '',
    assetDirectory: assetDirectoryOf(resource, code, assemblyDir),
    inlineCode: typeof code.ZipFile === 'string' ? code.ZipFile : undefined,
    timeoutSeconds: typeof props.Timeout === 'number' ? props.Timeout : undefined,
    memorySize: typeof props.MemorySize === 'number' ? props.MemorySize : undefined,
    environment: Object.fromEntries(Object.entries(variables).filter((e): e is [string, string] => typeof e[1] === 'string')),
  };
}

/**
 * The asset folder of a function: `aws:asset:path` metadata when the app recorded it, else the `asset.<hash>` folder
 * that the `S3Key` (`<hash>.zip`) names, looked up in this assembly and the ones above it (a Stage's assets are
 * staged in the top assembly).
 */
function assetDirectoryOf(resource: TemplateResource, code: Record<string, unknown>, assemblyDir: string): string | undefined {
  const candidates: string[] = [];
  const metadataPath = resource.Metadata?.['aws:asset:path'];
  if (typeof metadataPath === 'string') candidates.push(metadataPath);
  const key = typeof code.S3Key === 'string' ? code.S3Key : undefined;
  const hash = key === undefined ? undefined : /([0-9a-f]{64})\.zip$/.exec(key)?.[1];
  if (hash) candidates.push(`asset.${hash}`);
  for (let dir = path.resolve(assemblyDir), depth = 0; depth < 4; dir = path.dirname(dir), depth++) {
    for (const candidate of candidates) {
      const full = path.resolve(dir, candidate);
      if (fs.existsSync(full) && fs.statSync(full).isDirectory()) return full;
    }
  }
  return undefined;
}

/**
 * The handler reference runJob takes (`file#export`) for a synthesized function: Node.js `dir/file.export` is
 * `dir/file.js` (or .mjs/.cjs), Python `pkg.module.function` is `pkg/module.py`. Inline code is written to `scratch`.
 */
export function handlerReferenceOf(fn: FunctionCodeInfo, scratch: string): string {
  const dot = fn.handler.lastIndexOf('.');
  if (dot <= 0) throw new AssemblySelectionError(`function ${fn.logicalId} has Handler ${JSON.stringify(fn.handler)}, which names no module and function`);
  const moduleName = fn.handler.slice(0, dot);
  const exportName = fn.handler.slice(dot + 1);
  const python = fn.runtime.startsWith('python');
  if (!python && !fn.runtime.startsWith('nodejs')) {
    throw new AssemblySelectionError(`function ${fn.logicalId} uses runtime ${fn.runtime || '(none)'}; invoke runs Node.js and Python functions only`);
  }
  let root = fn.assetDirectory;
  if (root === undefined && fn.inlineCode !== undefined) {
    root = scratch;
    fs.writeFileSync(path.join(scratch, python ? `${moduleName}.py` : `${moduleName}.js`), fn.inlineCode);
  }
  if (root === undefined) {
    throw new AssemblySelectionError(`function ${fn.logicalId}: its code is neither an asset of this assembly nor inline (e.g. an S3 bucket or image); it cannot run here`);
  }
  const candidates = python ? [`${moduleName.replace(/\./g, '/')}.py`] : ['.js', '.mjs', '.cjs'].map((ext) => `${moduleName}${ext}`);
  const file = candidates.map((c) => path.join(root, c)).find((f) => fs.existsSync(f));
  if (file === undefined) {
    throw new AssemblySelectionError(`function ${fn.logicalId}: Handler ${fn.handler} names ${candidates.join(' or ')}, which ${root} does not have`);
  }
  return `${file}#${exportName}`;
}
