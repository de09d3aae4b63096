import {
  createCipheriv,
  createDecipheriv,
  generateKeyPair,
  hkdfSync,
  randomBytes,
  randomUUID,
} from 'node:crypto';
import { promisify } from 'node:util';
import type { TokenStore } from '../store/token-store.ts';

const generate = promisify(generateKeyPair);

export interface ProviderKeys {
  jwks: { keys: Record<string, unknown>[] };
  cookieKeys: string[];
}

/** What `IDAAS_KEYS_SECRET` must at least be: 32 characters (about 190 bits as base64url). */
export const MIN_KEYS_SECRET_LENGTH = 32;

/**
 * Signing and cookie keys are generated once and kept in the store, so an IDaaS restarted on the same
 * Redis prefix still verifies the cookies and id_tokens it issued before. With `secret`
 * (`IDAAS_KEYS_SECRET`), they are kept encrypted (AES-256-GCM under a key derived with HKDF-SHA256), so
 * whoever reads Redis does not get the private signing key; keys kept in clear before are re-encrypted
 * and their clear copy deleted.
 */
export async function loadOrCreateKeys(store: TokenStore, secret?: string): Promise<ProviderKeys> {
  const box = secret === undefined ? undefined : sealer(secret);
  const jwks = await metaOrCreate(store, 'jwks', box, async () => {
    const { privateKey } = await generate('rsa', { modulusLength: 2048 });
    const jwk = privateKey.export({ format: 'jwk' });
    return JSON.stringify({ keys: [{ ...jwk, kid: randomUUID(), alg: 'RS256', use: 'sig' }] });
  });
  const cookieKeys = await metaOrCreate(store, 'cookie-keys', box, async () =>
    JSON.stringify([randomBytes(32).toString('base64url')]),
  );
  return { jwks: JSON.parse(jwks), cookieKeys: JSON.parse(cookieKeys) };
}

interface Sealer {
  seal(plain: string): string;
  open(sealed: string): string;
}

function sealer(secret: string): Sealer {
  if (secret.length < MIN_KEYS_SECRET_LENGTH)
    throw new Error(`IDAAS_KEYS_SECRET must be at least ${MIN_KEYS_SECRET_LENGTH} characters`);
  const key = Buffer.from(hkdfSync('sha256', secret, 'revoker-idaas', 'idaas provider keys v1', 32));
  return {
    seal(plain) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      return ['v1', iv, cipher.getAuthTag(), body]
        .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
        .join('.');
    },
    open(sealed) {
      const [v, iv, tag, body] = sealed.split('.');
      if (v !== 'v1' || !iv || !tag || body === undefined)
        throw new Error('IDaaS keys: not sealed by this version');
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      try {
        return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString(
          'utf8',
        );
      } catch {
        throw new Error('IDaaS keys: IDAAS_KEYS_SECRET does not open the stored keys (was it changed?)');
      }
    },
  };
}

async function metaOrCreate(
  store: TokenStore,
  key: string,
  box: Sealer | undefined,
  create: () => Promise<string>,
): Promise<string> {
  if (!box) {
    const existing = await store.getMeta(key);
    if (existing !== undefined) return existing;
    return store.setMetaIfAbsent(key, await create());
  }
  const sealedKey = `${key}.sealed`;
  const sealed = await store.getMeta(sealedKey);
  if (sealed !== undefined) return box.open(sealed);
  // Keys kept in clear by an earlier start: the same keys, sealed from now on.
  const plain = (await store.getMeta(key)) ?? (await create());
  const stored = box.open(await store.setMetaIfAbsent(sealedKey, box.seal(plain)));
  await store.deleteMeta(key);
  return stored;
}
