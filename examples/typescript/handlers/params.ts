/**
 * One zod schema for both ends of the contract (README, "One schema for the stack and the handler"): the stack checks
 * the UserParameters against its JSON Schema (`z.toJSONSchema(Params)`) at synth, the handler against the schema
 * itself at run time, and both name a bad field the same way.
 */
// eslint-disable-next-line import/no-extraneous-dependencies -- a dependency of the user's app, ours only for development
import { z } from 'zod';

export const Params = z.object({
  environment: z.enum(['dev', 'prod']),
  url: z.url(),
  retries: z.number().int().min(0).optional(),
});
