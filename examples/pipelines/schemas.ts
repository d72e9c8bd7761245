/**
 * The UserParameters contracts of the example's job functions: each literal is given to the construct
 * (`UserParametersSchema.fromJsonSchema`, checked at synth) and to the handler (`jobHandler({ schema })`, checked at
 * run time), so both ends agree.
 */

/** What the smoke test receives. */
export interface SmokeTestParameters {
  /** The URL to request: a stack output of the stage under test. */
  readonly url: string;
  /** The HTTP status the URL must answer with. */
  readonly expectStatus: number;
  /** A text the response body must contain. */
  readonly expectText?: string;
  /** How many times to try before failing the job. */
  readonly attempts: number;
}

export const smokeTestSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  properties: {
    url: { type: 'string', format: 'uri' },
    expectStatus: { type: 'integer', minimum: 100, maximum: 599 },
    expectText: { type: 'string' },
    attempts: { type: 'integer', minimum: 1, maximum: 10 },
  },
  required: ['url', 'expectStatus', 'attempts'],
  additionalProperties: false,
};

/** What the release-notes function receives. */
export interface ReleaseNotesParameters {
  /** The product name to print in the title. */
  readonly product: string;
}

export const releaseNotesSchema = {
  type: 'object',
  properties: {
    product: { type: 'string', minLength: 1 },
  },
  required: ['product'],
  additionalProperties: false,
};
