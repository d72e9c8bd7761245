/**
 * Pay for what you use: what a handler can do beyond parsing the event, running and reporting (reading artifacts,
 * writing them, checking a JSON Schema) is a feature value the handler imports. `jobHandler` of
 * `cdk-codepipeline-invoke/runtime` has all of them; `jobHandler` of `cdk-codepipeline-invoke/runtime/core` only those
 * in its `use` option, so that a bundler (ESM build, `sideEffects: false`) leaves the zip reader, the zip writer and
 * the JSON Schema checker out of a handler that does not import them.
 */
import type { ArtifactContext } from './artifacts';
import { InputArtifact, OutputArtifact } from './artifacts';
import { jsonSchemaReader } from './json-schema-reader';
import type { JsonSchemaReaderFactory } from './user-parameters';
import type { JobArtifact } from '../shared/event';

/** One capability of a job handler (see `readArtifacts`, `writeArtifacts`, `jsonSchema`). */
export interface RuntimeFeature {
  /** The feature's name, for messages. */
  readonly feature: 'readArtifacts' | 'writeArtifacts' | 'jsonSchema';
  /** @internal */
  readonly inputArtifact?: (artifact: JobArtifact, context: ArtifactContext) => InputArtifact;
  /** @internal */
  readonly outputArtifact?: (artifact: JobArtifact, context: ArtifactContext) => OutputArtifact;
  /** @internal */
  readonly jsonSchema?: JsonSchemaReaderFactory;
}

/** `job.inputArtifact(name)`: download, extract, read one file, list, stream (the zip reader). */
export const readArtifacts: RuntimeFeature = {
  feature: 'readArtifacts',
  inputArtifact: (artifact, context) => new InputArtifact(artifact, context),
};

/** `job.outputArtifact(name)`: zip a folder or files and upload them (the zip writer). */
export const writeArtifacts: RuntimeFeature = {
  feature: 'writeArtifacts',
  outputArtifact: (artifact, context) => new OutputArtifact(artifact, context),
};

/** `schema` may be a JSON Schema (the JSON Schema checker). A Standard Schema (zod...) needs no feature. */
export const jsonSchema: RuntimeFeature = {
  feature: 'jsonSchema',
  jsonSchema: jsonSchemaReader,
};

/** What a set of features provides, merged. */
export type JobFeatures = Pick<RuntimeFeature, 'inputArtifact' | 'outputArtifact' | 'jsonSchema'>;

export function combineFeatures(features: readonly RuntimeFeature[] | undefined): JobFeatures {
  return Object.assign({}, ...(features ?? []));
}
