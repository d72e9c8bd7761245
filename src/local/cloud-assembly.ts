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
      actions.push(...actionsOfTemplate(artifact.displayName ?? id, template, env, artifact.properties.stackName ?? id));
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

function actionsOfTemplate(stack: string, template: Template, env: { account?: string; region?: string }, stackName: string): InvokeActionInfo[] {
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
