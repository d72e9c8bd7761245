#!/usr/bin/env node
/**
 * The `cdk-codepipeline-invoke` command line:
 *   generate-event   print a CodePipeline job event (from flags, or from a synthesized pipeline with --app)
 *   invoke           run a handler file through a whole local job (runJob) and print the outcome
 * Exit codes: 0 success, 1 the job failed, 2 bad usage.
 */
import * as fs from 'fs';
import * as path from 'path';
import { UsageError } from './commands/args';
import { generateEvent } from './commands/generate-event';
import { MAIN_HELP, PROGRAM } from './commands/help';
import { invoke } from './commands/invoke';
import { defaultIo, EXIT_SUCCESS, EXIT_USAGE, type CliIo } from './commands/io';

export { EXIT_JOB_FAILED, EXIT_SUCCESS, EXIT_USAGE } from './commands/io';
export type { CliIo } from './commands/io';

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
