/** What `--help` prints for the CLI and each of its commands. */
import { DEFAULT_ACCOUNT_ID, DEFAULT_PIPELINE_NAME } from '../job-event';

export const PROGRAM = 'cdk-codepipeline-invoke';

export const MAIN_HELP = `Usage: ${PROGRAM} <command> [options]

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

export const GENERATE_HELP = `Usage: ${PROGRAM} generate-event [options]
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

export const INVOKE_HELP = `Usage: ${PROGRAM} invoke --handler <file#export> [options]
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
