import { generateKeyPair, randomBytes, randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import type { TokenStore } from '../store/token-store.ts';

const generate = promisify(generateKeyPair);

export interface ProviderKeys {
  jwks: { keys: Record<string, unknown>[] };
  cookieKeys: string[];
}

/**
 * Signing and cookie keys are generated once and kept in the store, so an IDaaS restarted on the same
 * Redis prefix still verifies the cookies and id_tokens it issued before.
 */
export async function loadOrCreateKeys(store: TokenStore): Promise<ProviderKeys> {
  const jwks = await metaOrCreate(store, 'jwks', async () => {
    const { privateKey } = await generate('rsa', { modulusLength: 2048 });
    const jwk = privateKey.export({ format: 'jwk' });
    return JSON.stringify({ keys: [{ ...jwk, kid: randomUUID(), alg: 'RS256', use: 'sig' }] });
  });
  const cookieKeys = await metaOrCreate(store, 'cookie-keys', async () =>
    JSON.stringify([randomBytes(32).toString('base64url')]),
  );
  return { jwks: JSON.parse(jwks), cookieKeys: JSON.parse(cookieKeys) };
}

async function metaOrCreate(store: TokenStore, key: string, create: () => Promise<string>): Promise<string> {
  const existing = await store.getMeta(key);
  if (existing !== undefined) return existing;
  return store.setMetaIfAbsent(key, await create());
}
