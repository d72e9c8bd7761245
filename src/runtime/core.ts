/**
 * `cdk-codepipeline-invoke/runtime/core`: jobHandler that carries only what a handler uses. Parsing the event,
 * Standard Schema validation, running, reporting, continuation and the deadline are always there; reading artifacts,
 * writing them and checking a JSON Schema come with the features named in `use`:
 *
 *   // jobHandler and readArtifacts, imported from cdk-codepipeline-invoke/runtime/core
 *   export const handler = jobHandler({ use: [readArtifacts] }, async (job) => {
 *     const config = await job.inputArtifact().readFile('app.json', 'utf8');
 *     ...
 *   });
 *
 * With the ESM build and a bundler (esbuild, as NodejsFunction bundles), a handler then carries neither the zip
 * writer nor the JSON Schema checker unless it imports them. Everything else is as in `cdk-codepipeline-invoke/runtime`.
 */
import type { RuntimeFeature } from './features';
import { buildJobHandler, JobHandlerOptions, JobOutcome, NotGiven, ParametersOf, PipelineJobHandler } from './job-handler';
import type { PipelineJob } from './pipeline-job';

export * from './index';
export { readArtifacts, writeArtifacts, jsonSchema } from './features';
export type { RuntimeFeature } from './features';

export interface CoreJobHandlerOptions extends JobHandlerOptions {
  /**
   * The features this handler uses: `readArtifacts` for `job.inputArtifact()`, `writeArtifacts` for
   * `job.outputArtifact()`, `jsonSchema` for a JSON Schema as `schema`.
   *
   * @default - none: no artifacts, and `schema` only as a Standard Schema
   */
  readonly use?: readonly RuntimeFeature[];
}

/** jobHandler with the features in `options.use` only (see the module comment). */
export function jobHandler<P = NotGiven, S = unknown, O extends CoreJobHandlerOptions = CoreJobHandlerOptions>(
  options: O,
  fn: (job: PipelineJob<ParametersOf<P, O>, S>) => Promise<JobOutcome> | JobOutcome,
): PipelineJobHandler {
  return buildJobHandler<P, S, O>(options, fn, options.use ?? []);
}
