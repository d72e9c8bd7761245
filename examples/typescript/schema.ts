/**
 * The contract between the stack and the handler: ONE JSON Schema literal, given to the construct
 * (`UserParametersSchema.fromJsonSchema`, checked at synth) and to the handler (`jobHandler({ schema })`, checked at run
 * time by the same code). The TypeScript type of the parameters is derived from it, so the three cannot drift apart.
 */
import type { FromSchema } from 'json-schema-to-ts';

export const releaseCheckSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  properties: {
    /** Where the release goes. */
    environment: { enum: ['dev', 'prod'] },
    /** The JSON file of the source artifact that holds the release's `version`. */
    manifest: { type: 'string', minLength: 1 },
    /** Files the source artifact must contain. */
    requiredFiles: { type: 'array', items: { type: 'string', minLength: 1 }, maxItems: 20 },
    /** The pipeline execution, for the report (a `#{codepipeline.PipelineExecutionId}` reference in the stack). */
    executionId: { type: 'string' },
  },
  required: ['environment', 'manifest'],
  additionalProperties: false,
} as const;

/** { environment: 'dev' | 'prod'; manifest: string; requiredFiles?: string[]; executionId?: string } */
export type ReleaseCheckParameters = FromSchema<typeof releaseCheckSchema>;
