import { ValidationError } from '../domain/errors.ts';
import { getHrSource } from './registry.ts';

/**
 * Signs a delivery exactly as `source`'s vendor does: returns the headers to send with `body`
 * (the demo fires signed webhooks with it; tests keep their own independent signer).
 */
export function signHrDelivery(
  source: string,
  secret: string,
  body: string | Buffer,
  now: Date = new Date(),
  deliveryId?: string,
): Record<string, string> {
  const s = getHrSource(source);
  if (!s) throw new ValidationError(`unknown HR source ${source}`);
  const raw = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  return { 'content-type': 'application/json', ...s.sign(secret, raw, now, deliveryId) };
}
