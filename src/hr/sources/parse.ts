import { ValidationError } from '../../domain/errors.ts';

/** JSON.parse of a verified body, as a coded error (⇒ 400 with the reason). */
export function parseJson(rawBody: Buffer): unknown {
  try {
    return JSON.parse(rawBody.toString('utf8'));
  } catch {
    throw new ValidationError('body is not JSON');
  }
}

export function issuesOf(error: { issues: { path: PropertyKey[]; message: string }[] }): string[] {
  return error.issues.map((i) => `${i.path.map(String).join('.') || '(body)'}: ${i.message}`);
}
