/**
 * cdk-nag (AwsSolutions) over synthesized cloud assemblies, whatever language synthesized them.
 *
 *   ts-node --transpile-only -P tsconfig.dev.json scripts/ci-nag.ts <cdk.out dir>...
 *
 * cdk-nag checks a construct tree, so each stack template is loaded back into one with `CfnInclude` (L1 resources with
 * the synthesized properties). Suppressions come from the templates: the library writes them as `cdk_nag`
 * `rules_to_suppress` metadata on the resources it owns (each with its reason), which become cdk-nag 3
 * acknowledgments here. A suppression without a reason is an error.
 *
 * A finding is the library's when its resource lies under a construct of this library (the assembly's tree.json names
 * each construct's class) or under the crash reporter singleton or the job-result roles (cross-account functions). Exit code 1 when the library's resources have an
 * unsuppressed error; findings on the resources of aws-cdk-lib and of the example apps are listed, not counted.
 */
import * as fs from 'fs';
import * as path from 'path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import * as cfninc from 'aws-cdk-lib/cloudformation-include';
import { AwsSolutionsChecks } from 'cdk-nag';
import { CRASH_REPORTER_ID } from '../src/private/crash-reporter';
import { JOB_RESULT_ROLES_ID } from '../src/private/cross-environment';

const LIBRARY_FQN_PREFIX = 'cdk-codepipeline-invoke.';
const MIN_REASON_LENGTH = 10; // what cdk-nag 2 requires of a suppression reason

interface StackTemplate {
  readonly assemblyDir: string;
  readonly stackName: string;
  readonly templateFile: string;
  /** logical id -> construct path (from the assembly's `aws:cdk:logicalId` metadata) */
  readonly paths: Map<string, string>;
}

interface Finding {
  readonly rule: string;
  readonly severity: string;
  readonly description: string;
  readonly where: string;
  readonly library: boolean;
}

interface TemplateSuppression {
  readonly id?: unknown;
  readonly reason?: unknown;
  readonly applies_to?: unknown;
}

interface ManifestArtifact {
  readonly type: string;
  readonly properties?: { templateFile?: string; directoryName?: string; file?: string };
  readonly metadata?: Record<string, Array<{ type: string; data?: unknown }>>;
  readonly additionalMetadataFile?: string;
}

interface TreeNode {
  readonly id: string;
  readonly path: string;
  readonly constructInfo?: { fqn?: string };
  readonly children?: Record<string, TreeNode>;
}

function readJson<T>(file: string): T {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
}

/** Every stack template of an assembly, nested assemblies (CDK Pipelines stages) included. */
function stackTemplates(assemblyDir: string): StackTemplate[] {
  const manifest = readJson<{ artifacts?: Record<string, ManifestArtifact> }>(path.join(assemblyDir, 'manifest.json'));
  const result: StackTemplate[] = [];
  for (const [name, artifact] of Object.entries(manifest.artifacts ?? {})) {
    if (artifact.type === 'aws:cloudformation:stack' && artifact.properties?.templateFile) {
      result.push({
        assemblyDir,
        stackName: name,
        templateFile: path.join(assemblyDir, artifact.properties.templateFile),
        paths: logicalIdPaths(assemblyDir, artifact),
      });
    } else if (artifact.type === 'cdk:cloud-assembly' && artifact.properties?.directoryName) {
      result.push(...stackTemplates(path.join(assemblyDir, artifact.properties.directoryName)));
    }
  }
  return result;
}

function logicalIdPaths(assemblyDir: string, artifact: ManifestArtifact): Map<string, string> {
  const metadata = {
    ...(artifact.metadata ?? {}),
    ...(artifact.additionalMetadataFile ? readJson(path.join(assemblyDir, artifact.additionalMetadataFile)) : {}),
  } as Record<string, Array<{ type: string; data?: unknown }>>;
  const paths = new Map<string, string>();
  for (const [constructPath, entries] of Object.entries(metadata)) {
    for (const entry of entries) {
      if (entry.type === 'aws:cdk:logicalId' && typeof entry.data === 'string') {
        paths.set(entry.data, constructPath.replace(/^\//, ''));
      }
    }
  }
  return paths;
}

/** construct path -> class (fqn), from every tree.json of the assembly. */
function constructClasses(assemblyDir: string, into = new Map<string, string>()): Map<string, string> {
  const treeFile = path.join(assemblyDir, 'tree.json');
  if (fs.existsSync(treeFile)) {
    const visit = (node: TreeNode): void => {
      if (node.constructInfo?.fqn) {
        into.set(node.path, node.constructInfo.fqn);
      }
      Object.values(node.children ?? {}).forEach(visit);
    };
    visit(readJson<{ tree: TreeNode }>(treeFile).tree);
  }
  for (const entry of fs.readdirSync(assemblyDir, { withFileTypes: true })) {
    if (entry.isDirectory() && entry.name.startsWith('assembly-')) {
      constructClasses(path.join(assemblyDir, entry.name), into);
    }
  }
  return into;
}

/** Whether a construct path lies under a construct of this library. */
function isLibraryPath(constructPath: string, classes: Map<string, string>): boolean {
  const parts = constructPath.split('/');
  for (let i = 1; i <= parts.length; i++) {
    if (parts[i - 1] === CRASH_REPORTER_ID || parts[i - 1] === JOB_RESULT_ROLES_ID || classes.get(parts.slice(0, i).join('/'))?.startsWith(LIBRARY_FQN_PREFIX)) {
      return true;
    }
  }
  return false;
}

/** cdk-nag 2 style template suppressions -> cdk-nag 3 acknowledgments (finding id -> reason). */
function acknowledgmentsOf(logicalId: string, resource: { Metadata?: { cdk_nag?: { rules_to_suppress?: unknown } } }): Record<string, string> {
  const suppressions = resource.Metadata?.cdk_nag?.rules_to_suppress;
  if (suppressions === undefined) {
    return {};
  }
  if (!Array.isArray(suppressions)) {
    throw new Error(`${logicalId}: cdk_nag.rules_to_suppress must be a list`);
  }
  const acknowledged: Record<string, string> = {};
  for (const s of suppressions as TemplateSuppression[]) {
    if (typeof s.id !== 'string' || typeof s.reason !== 'string' || s.reason.trim().length < MIN_REASON_LENGTH) {
      throw new Error(`${logicalId}: suppression ${JSON.stringify(s)} must name a rule id and state its reason`);
    }
    const appliesTo = s.applies_to === undefined ? [] : (s.applies_to as unknown[]);
    if (appliesTo.length === 0) {
      acknowledged[s.id] = s.reason;
    }
    for (const finding of appliesTo) {
      if (typeof finding !== 'string') {
        throw new Error(`${logicalId}: ${s.id} applies_to entries must be finding strings (no regex), got ${JSON.stringify(finding)}`);
      }
      acknowledged[`${s.id}[${finding}]`] = s.reason;
    }
  }
  return acknowledged;
}

function nagTemplate(t: StackTemplate, classes: Map<string, string>): { findings: Finding[]; suppressed: number } {
  const template = readJson<{ Resources?: Record<string, { Metadata?: { cdk_nag?: { rules_to_suppress?: unknown } } }> }>(t.templateFile);
  const stack = new Stack(new App(), 'Included');
  const included = new cfninc.CfnInclude(stack, 'Template', { templateFile: t.templateFile });
  let suppressed = 0;
  for (const [logicalId, resource] of Object.entries(template.Resources ?? {})) {
    const acknowledged = acknowledgmentsOf(logicalId, resource);
    const count = Object.keys(acknowledged).length;
    suppressed += count;
    if (count > 0) {
      included.getResource(logicalId).node.addMetadata(Validations.ACKNOWLEDGED_RULES_METADATA_KEY, acknowledged);
    }
  }
  const report = new AwsSolutionsChecks().validateScope(stack);
  const findings: Finding[] = [];
  for (const violation of report.violations) {
    for (const resource of violation.violatingResources) {
      const logicalId = logicalIdOf(resource.constructPath ?? '');
      const constructPath = t.paths.get(logicalId) ?? `${t.stackName}/${logicalId}`;
      findings.push({
        rule: violation.ruleName,
        severity: violation.severity ?? 'error',
        description: violation.description,
        where: constructPath,
        library: isLibraryPath(constructPath, classes),
      });
    }
  }
  return { findings, suppressed };
}

/** 'Included/Template/<LogicalId>' -> '<LogicalId>' */
function logicalIdOf(includedPath: string): string {
  return includedPath.split('/')[2] ?? includedPath;
}

function main(assemblyDirs: string[]): number {
  if (assemblyDirs.length === 0) {
    console.error('usage: ci-nag.ts <cdk.out dir>...');
    return 2;
  }
  let libraryErrors = 0;
  for (const dir of assemblyDirs) {
    const classes = constructClasses(dir);
    for (const t of stackTemplates(dir)) {
      const { findings, suppressed } = nagTemplate(t, classes);
      const mine = findings.filter((f) => f.library);
      const errors = mine.filter((f) => f.severity === 'error');
      libraryErrors += errors.length;
      const others = new Map<string, number>();
      findings.filter((f) => !f.library).forEach((f) => others.set(f.rule, (others.get(f.rule) ?? 0) + 1));
      console.log(
        `${path.relative(process.cwd(), t.templateFile)}: library: ${errors.length} errors, ${mine.length - errors.length} warnings, ` +
          `${suppressed} suppressions with reasons; other resources: ${findings.length - mine.length} findings` +
          (others.size > 0 ? ` (${[...others].map(([rule, n]) => `${rule} x${n}`).join(', ')})` : ''),
      );
      for (const f of mine) {
        console.log(`  ${f.severity.toUpperCase()} ${f.rule} at ${f.where}: ${f.description}`);
      }
    }
  }
  console.log(libraryErrors === 0 ? 'cdk-nag: 0 unsuppressed errors on the library\'s resources' : `cdk-nag: ${libraryErrors} unsuppressed errors on the library's resources`);
  return libraryErrors === 0 ? 0 : 1;
}

process.exitCode = main(process.argv.slice(2));
