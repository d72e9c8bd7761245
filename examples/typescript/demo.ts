/**
 * `npx projen demo`: synthesizes the example app (./app.ts) in-process and prints what it made: the pipeline's stages,
 * the rendered UserParameters of each Lambda invoke action, and the IAM grants.
 *
 * Each part is a small exported function, so other tools (the local job runner) can reuse and extend the demo.
 */
import * as path from 'path';
import { App } from 'aws-cdk-lib';
import { buildApp } from './app';

/** A synthesized CloudFormation template (the parts the demo reads). */
export interface TemplateJson {
  readonly Resources: Record<string, { readonly Type: string; readonly Properties?: any; readonly Metadata?: Record<string, unknown> }>;
}

export interface SynthesizedExample {
  readonly app: App;
  readonly stackName: string;
  readonly template: TemplateJson;
  /** The cloud assembly folder (for tools that read it, e.g. `generate-event --app`). */
  readonly assemblyDir: string;
}

/** Synthesizes the example app into `outdir` (default: examples/typescript/cdk.out, ignored by git). */
export function synthesizeExample(outdir: string = path.join(__dirname, 'cdk.out')): SynthesizedExample {
  const app = new App({ outdir, context: { 'aws:cdk:enable-path-metadata': true } });
  const { stack } = buildApp(app);
  const assembly = app.synth();
  const artifact = assembly.getStackByName(stack.stackName);
  return { app, stackName: stack.stackName, template: artifact.template as TemplateJson, assemblyDir: assembly.directory };
}

/** One line per stage and action: '2. ReleaseCheck / Invoke: Lambda ReleaseCheckFunction, in: Source, out: Report'. */
export function describeStages(template: TemplateJson): string[] {
  const lines: string[] = [];
  for (const [, pipeline] of resourcesOfType(template, 'AWS::CodePipeline::Pipeline')) {
    (pipeline.Properties.Stages as any[]).forEach((stage, i) => {
      for (const action of stage.Actions as any[]) {
        const details = [
          `${action.ActionTypeId.Category}/${action.ActionTypeId.Provider}`,
          action.Configuration?.FunctionName ? `function ${renderValue(template, action.Configuration.FunctionName)}` : undefined,
          action.InputArtifacts?.length ? `in: ${action.InputArtifacts.map((a: any) => a.Name).join(', ')}` : undefined,
          action.OutputArtifacts?.length ? `out: ${action.OutputArtifacts.map((a: any) => a.Name).join(', ')}` : undefined,
          action.Namespace ? `variables: #{${action.Namespace}.*}` : undefined,
        ].filter((d) => d !== undefined);
        lines.push(`${i + 1}. ${stage.Name} / ${action.Name}: ${details.join(', ')}`);
      }
    });
  }
  return lines;
}

/** The UserParameters of every Lambda invoke action, as CodePipeline will pass them (before variable substitution). */
export function describeUserParameters(template: TemplateJson): Array<{ stage: string; action: string; userParameters: string }> {
  const found: Array<{ stage: string; action: string; userParameters: string }> = [];
  for (const [, pipeline] of resourcesOfType(template, 'AWS::CodePipeline::Pipeline')) {
    for (const stage of pipeline.Properties.Stages as any[]) {
      for (const action of stage.Actions as any[]) {
        if (action.ActionTypeId.Provider === 'Lambda' && action.Configuration?.UserParameters !== undefined) {
          found.push({ stage: stage.Name, action: action.Name, userParameters: renderValue(template, action.Configuration.UserParameters) });
        }
      }
    }
  }
  return found;
}

/** One block per role: who it belongs to, then each allowed statement: 'actions on resources'. */
export function describeGrants(template: TemplateJson): string[] {
  const lines: string[] = [];
  for (const [, policy] of resourcesOfType(template, 'AWS::IAM::Policy')) {
    const roles = (policy.Properties.Roles as unknown[]).map((role) => renderValue(template, role)).join(', ');
    lines.push(`${roles}:`);
    for (const statement of policy.Properties.PolicyDocument.Statement as any[]) {
      const actions = ([] as string[]).concat(statement.Action).join(', ');
      const resources = ([] as unknown[]).concat(statement.Resource).map((r) => renderValue(template, r)).join(', ');
      lines.push(`  ${statement.Effect === 'Allow' ? '' : `${statement.Effect}: `}${actions} on ${resources}`);
    }
  }
  for (const [id, role] of resourcesOfType(template, 'AWS::IAM::Role')) {
    for (const managed of role.Properties.ManagedPolicyArns ?? []) {
      lines.push(`${pathOf(template, id)}: managed policy ${renderValue(template, managed).replace(/^.*:policy\//, '')}`);
    }
  }
  return lines;
}

/** Prints the whole demo. */
export function printDemo(example: SynthesizedExample, write: (line: string) => void = console.log): void {
  write(`Synthesized ${example.stackName} into ${path.relative(process.cwd(), example.assemblyDir) || '.'}`);
  write('');
  write('Stages:');
  describeStages(example.template).forEach((line) => write(`  ${line}`));
  write('');
  write('UserParameters (checked against the schema at synth):');
  for (const { stage, action, userParameters } of describeUserParameters(example.template)) {
    write(`  ${stage} / ${action}: ${userParameters}`);
  }
  write('');
  write('Grants:');
  describeGrants(example.template).forEach((line) => write(`  ${line}`));
}

function resourcesOfType(template: TemplateJson, type: string): Array<[string, any]> {
  return Object.entries(template.Resources).filter(([, r]) => r.Type === type);
}

/** The construct path of a resource ('ReleasePipeline/ReleaseCheckFunction/ServiceRole'), or its logical id. */
function pathOf(template: TemplateJson, logicalId: string): string {
  const cdkPath = template.Resources[logicalId]?.Metadata?.['aws:cdk:path'];
  return typeof cdkPath === 'string' ? cdkPath.replace(/\/(Resource|Default)$/, '') : logicalId;
}

/** Renders a CloudFormation value readably: references become `<construct path>`, Fn::Join is joined. */
function renderValue(template: TemplateJson, value: unknown): string {
  if (typeof value === 'string') {
    return value;
  }
  const v = value as Record<string, any>;
  if (v.Ref !== undefined) {
    return String(v.Ref).startsWith('AWS::') ? `\${${v.Ref}}` : `<${pathOf(template, v.Ref)}>`;
  }
  if (v['Fn::GetAtt'] !== undefined) {
    return `<${pathOf(template, v['Fn::GetAtt'][0])}.${v['Fn::GetAtt'][1]}>`;
  }
  if (v['Fn::Join'] !== undefined) {
    const [separator, parts] = v['Fn::Join'];
    return (parts as unknown[]).map((part) => renderValue(template, part)).join(separator);
  }
  return JSON.stringify(value);
}

if (require.main === module) {
  printDemo(synthesizeExample());
}
