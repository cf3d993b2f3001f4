/**
 * Pieces every settings schema shares (master, worker): how an environment variable spells a
 * boolean, a port or a number of seconds, and one way to report what is wrong with them.
 */
import { z } from 'zod';

export const envBool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
export const envPort = z.coerce.number().int().min(0).max(65535);
export const envSeconds = z.coerce.number().positive();

/** Parses the environment with a schema, or throws one error listing every bad setting by name. */
export function parseEnv<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv, what: string, makeError: (message: string) => Error = (m) => new Error(m)): z.infer<S> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw makeError(`invalid ${what} configuration:\n${lines.join('\n')}`);
  }
  return parsed.data;
}
