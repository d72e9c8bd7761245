/**
 * The README's "one schema for the stack and the handler" trick, compiled: a `const` schema, `FromSchema` from
 * json-schema-to-ts for the type, the same literal checked at run time. `tsc --noEmit -p tsconfig.dev.json` checks the
 * types; the test checks that a value the type allows is what the runtime accepts.
 */
import type { FromSchema } from 'json-schema-to-ts';
import { jobHandler, PipelineJob } from '../../src/runtime';
import { checkUserParameters } from '../../src/shared/user-parameters-check';

const schema = {
  type: 'object',
  properties: {
    environment: { enum: ['dev', 'prod'] },
    url: { type: 'string', format: 'uri' },
    retries: { type: 'integer', minimum: 0 },
  },
  required: ['environment', 'url'],
  additionalProperties: false,
} as const;

type Params = FromSchema<typeof schema>;
type Expected = { environment: 'dev' | 'prod'; url: string; retries?: number };

type IsAssignable<From, To> = [From] extends [To] ? true : false;
function assertType<T extends true>(_proof: T): void {}

test('FromSchema derives the parameter type from the const schema', () => {
  assertType<IsAssignable<Params, Expected>>(true);
  assertType<IsAssignable<Expected, Params>>(true);
  // @ts-expect-error an environment outside the enum is not a Params
  assertType<IsAssignable<{ environment: 'qa'; url: string }, Params>>(true);
});

test('the same literal is accepted by jobHandler and checks what the type describes', () => {
  const handler = jobHandler<Params>({ schema }, (job: PipelineJob<Params>) => {
    const environment: 'dev' | 'prod' = job.userParameters.environment;
    return { summary: environment };
  });
  expect(typeof handler).toBe('function');
  const value: Params = { environment: 'prod', url: 'https://example.com', retries: 1 };
  expect(checkUserParameters(schema, value)).toEqual([]);
  expect(checkUserParameters(schema, { environment: 'qa', url: 'https://example.com' })).toEqual([
    expect.objectContaining({ path: 'environment' }),
  ]);
});
