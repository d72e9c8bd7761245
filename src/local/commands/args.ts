/** Reading the command line: parseArgs with our own messages, and the checks of values both commands take. */
import * as fs from 'fs';
import * as path from 'path';
import { parseArgs } from 'util';
import { findInvokeActions } from '../cloud-assembly';
import type { CliIo } from './io';
import type { ArtifactSpec } from '../job-event';

/** A usage problem: printed with a hint to the command's --help, exit code 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
  }
}

type OptionSpecs = NonNullable<NonNullable<Parameters<typeof parseArgs>[0]>['options']>;

interface OptionNames {
  readonly values?: readonly string[];
  readonly lists?: readonly string[];
  readonly flags?: readonly string[];
}

/** A parseArgs option table from names, by kind: `--name value`, a repeatable `--name value`, a `--flag`. */
export function optionTable(kinds: OptionNames): OptionSpecs {
  return Object.fromEntries([
    ...(kinds.values ?? []).map((name) => [name, { type: 'string' }] as const),
    ...(kinds.lists ?? []).map((name) => [name, { type: 'string', multiple: true }] as const),
    ...(kinds.flags ?? []).map((name) => [name, { type: 'boolean' }] as const),
  ]);
}

/**
 * The options both commands take, with the same meaning: which action of a synthesized pipeline (--app), and the job's
 * UserParameters, artifacts, encryption key, function name and variables.
 */
export const SHARED_OPTIONS: OptionSpecs = {
  help: { type: 'boolean', short: 'h' },
  ...optionTable({
    values: ['app', 'stage', 'action', 'pipeline', 'function-name', 'user-parameters', 'encryption-key'],
    lists: ['input', 'output', 'variable'],
  }),
};

export type ParsedValues = Record<string, string | boolean | string[] | undefined>;

function parse(command: string, args: readonly string[], options: OptionSpecs): ParsedValues {
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

/** A command's arguments, or undefined when they ask for its --help (which is then printed). */
export function parseCommand(command: string, args: readonly string[], options: OptionSpecs, help: string, io: CliIo): ParsedValues | undefined {
  const values = parse(command, args, options);
  if (values.help !== true) return values;
  io.stdout(help);
  return undefined;
}

export function str(values: ParsedValues, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

export function list(values: ParsedValues, name: string): string[] {
  const v = values[name];
  return Array.isArray(v) ? v : [];
}

/** `--user-parameters` value: text as is, or `@file` read from disk. */
export function userParametersArg(value: string | undefined, command: string, cwd: string): string | undefined {
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
export function variablesArg(values: ParsedValues, command: string, placeholders = false): Record<string, string> {
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

/** `name` or `name=bucket/key`. */
export function artifactArgs(args: readonly string[], flag: string, command: string): ArtifactSpec[] {
  return args.map((arg) => {
    const [name, location] = splitOnce(arg, '=');
    checkArtifactName(name, flag, command);
    if (location === undefined) return { name };
    const [bucketName, objectKey] = splitOnce(location, '/');
    if (!bucketName || !objectKey) throw new UsageError(`${flag} ${arg}: the location must be bucket/key`, command);
    return { name, bucketName, objectKey };
  });
}

export function splitOnce(text: string, separator: string): [string, string | undefined] {
  const i = text.indexOf(separator);
  return i < 0 ? [text, undefined] : [text.slice(0, i), text.slice(i + 1)];
}

/** `ArtifactName` of the API model: 1-100 characters of [a-zA-Z0-9_-]. */
export function checkArtifactName(name: string, flag: string, command: string): void {
  if (!/^[a-zA-Z0-9_-]{1,100}$/.test(name)) {
    throw new UsageError(`${flag} ${JSON.stringify(name)}: artifact names are 1-100 letters, digits, _ or -`, command);
  }
}

export function accountIdArg(value: string | undefined, flag: string, command: string): string | undefined {
  if (value !== undefined && !/^\d{12}$/.test(value)) throw new UsageError(`${flag} ${value}: an account id has 12 digits`, command);
  return value;
}

export function positiveNumber(value: string | undefined, flag: string, command: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${flag} ${value}: expected a positive number`, command);
  return n;
}

/** --stage, --action and --pipeline only make sense with --app; --app needs --stage (the message lists the stages). */
export function checkActionSelection(values: ParsedValues, command: string, assemblyDir: string | undefined): void {
  if (assemblyDir === undefined && (values.stage !== undefined || values.action !== undefined || values.pipeline !== undefined)) {
    throw new UsageError('--stage, --action and --pipeline select an action of a synthesized pipeline: add --app <cdk.out>', command);
  }
  if (assemblyDir !== undefined && str(values, 'stage') === undefined) {
    let stages: string;
    try {
      stages = [...new Set(findInvokeActions(assemblyDir).map((a) => a.stageName))].join(', ') || 'none';
    } catch (error) {
      throw new UsageError((error as Error).message, command);
    }
    throw new UsageError(`--app needs --stage <name>; stages with a Lambda invoke action: ${stages}`, command);
  }
}
