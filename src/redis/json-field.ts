import { z } from 'zod';

/**
 * A Redis field holding JSON, read back through `schema`: text that is not JSON, or JSON of another shape,
 * is one zod issue like any other (never a SyntaxError thrown from inside a transform).
 */
export const jsonField = <T extends z.ZodType>(schema: T) =>
  z
    .string()
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'is not JSON' });
        return z.NEVER;
      }
    })
    .pipe(schema);
