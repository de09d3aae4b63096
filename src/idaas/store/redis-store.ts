import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import {
  type AdapterPayload,
  describeGrant,
  describeToken,
  grantIndexKeys,
  type IndexKey,
  indexName,
  isLive,
  LISTED_MODELS,
  type ResourceServerResolver,
  type StoredGrant,
  type StoredToken,
  type StoreOptions,
  sessionAccount,
  type TokenStore,
  tokenIndexKeys,
} from './token-store.ts';

export interface RedisStoreOptions extends StoreOptions {
  /** A connection (left open on close) or a URL (connected here, closed on close). */
  redis: Redis | string;
  /** Every key starts with `${prefix}:`. */
  prefix: string;
}

/** Index members of grants outlive any single token; a month bounds what an abandoned grant leaves. */
const GRANT_MEMBERS_TTL_S = 30 * 24 * 3600;

/**
 * Ids that are credentials (token values, authorization codes, session cookies, interaction ids) never
 * reach Redis: every model but `Grant` is keyed by a handle `h$<sha256 of the id>` instead, and the
 * payload is stored without its `jti` (the id again), which `find` puts back from the id it was asked for.
 * A handle passed back in (the console's `StoredToken.jti`) is used as it is. The admin listing's
 * `tok_…` ref is the handle's first 22 digest characters, the same as `tokenRef(value)`.
 */
const HANDLE = 'h$';
export function handleOf(id: string): string {
  if (id.startsWith(HANDLE)) return id;
  return `${HANDLE}${createHash('sha256').update(id).digest('base64url')}`;
}
function refOfHandle(handle: string): string {
  return `tok_${handle.slice(HANDLE.length, HANDLE.length + 22)}`;
}
/** Marks a payload whose `jti` was left out (so `find` restores it). */
const JTI_OMITTED = '__jtiOmitted';

/**
 * Redis keys (under the prefix), `{id}` being the handle of the id for every model but Grant:
 *   m:{Model}:{id}   payload JSON, with the model's TTL      uid:/uc:{Model}:{v}  secondary look-ups
 *   g:{grantId}      SET of "{Model}:{id}" in the grant      t:{ref}              StoredToken JSON
 *   ti:{index}       ZSET ref → expiry ms (listed tokens)   gi:{index}           ZSET grantId → expiry ms
 *   s:{accountId}    SET of the account's Session ids      meta:{key}           settings (keys)
 */
export class RedisStore implements TokenStore {
  readonly #redis: Redis;
  readonly #owned: boolean;
  readonly #p: string;
  readonly #resolve: ResourceServerResolver;

  constructor(options: RedisStoreOptions) {
    this.#owned = typeof options.redis === 'string';
    this.#redis =
      typeof options.redis === 'string'
        ? new Redis(options.redis, { maxRetriesPerRequest: 3 })
        : options.redis;
    this.#p = `${options.prefix}:`;
    this.#resolve = options.resolveResourceServer ?? (() => undefined);
  }

  /** The stored form of a model's id: a handle, except for grants (their ids are no credentials). */
  #k(model: string, id: string) {
    return model === 'Grant' ? id : handleOf(id);
  }
  #m(model: string, id: string) {
    return `${this.#p}m:${model}:${this.#k(model, id)}`;
  }
  /** The index entry of a listed token, keyed by handle, with the ref of the value. */
  #describe(model: string, id: string, payload: AdapterPayload): StoredToken | undefined {
    const k = this.#k(model, id);
    const token = describeToken(model, k, payload, this.#resolve);
    return token && { ...token, ref: refOfHandle(k) };
  }
  #t(ref: string) {
    return `${this.#p}t:${ref}`;
  }
  #ti(k: IndexKey) {
    return `${this.#p}ti:${indexName(k)}`;
  }
  #gi(k: IndexKey) {
    return `${this.#p}gi:${indexName(k)}`;
  }
  #g(grantId: string) {
    return `${this.#p}g:${grantId}`;
  }

  #s(accountId: string) {
    return `${this.#p}s:${accountId}`;
  }

  async upsert(model: string, id: string, payload: AdapterPayload, expiresIn: number | undefined) {
    // A re-saved grant or token (e.g. narrowed to fewer resources) must leave the indexes it left.
    const reindexed = model === 'Grant' || LISTED_MODELS.has(model);
    const previous = reindexed ? await this.find(model, id) : undefined;
    const tx = this.#redis.multi();
    if (previous && model === 'Grant') this.#unindexGrant(tx, id, previous);
    const previousToken = previous && this.#describe(model, id, previous);
    if (previousToken) this.#unindexToken(tx, previousToken);
    const k = this.#k(model, id);
    const { jti, ...rest } = payload;
    const json = JSON.stringify(
      model !== 'Grant' && jti !== undefined ? { ...rest, [JTI_OMITTED]: true } : payload,
    );
    const ttlMs = expiresIn ? expiresIn * 1000 : undefined;
    const setWithTtl = (key: string, value: string) =>
      ttlMs ? tx.set(key, value, 'PX', ttlMs) : tx.set(key, value);
    setWithTtl(this.#m(model, id), json);
    if (payload.uid) setWithTtl(`${this.#p}uid:${model}:${payload.uid}`, k);
    if (payload.userCode) setWithTtl(`${this.#p}uc:${model}:${handleOf(payload.userCode)}`, k);
    if (payload.grantId) {
      tx.sadd(this.#g(payload.grantId), `${model}:${k}`);
      tx.expire(this.#g(payload.grantId), GRANT_MEMBERS_TTL_S);
    }
    const score = ttlMs ? Date.now() + ttlMs : '+inf';
    const token = this.#describe(model, id, payload);
    if (token && !payload.consumed) {
      setWithTtl(this.#t(token.ref), JSON.stringify(token));
      for (const k of tokenIndexKeys(token)) tx.zadd(this.#ti(k), score, token.ref);
    }
    if (model === 'Grant') {
      const grant = describeGrant(id, payload, this.#resolve);
      if (grant) for (const k of grantIndexKeys(grant)) tx.zadd(this.#gi(k), score, id);
    }
    const account = sessionAccount(model, payload);
    if (account) {
      tx.sadd(this.#s(account), k);
      tx.expire(this.#s(account), Math.max(expiresIn ?? 0, GRANT_MEMBERS_TTL_S));
    }
    await tx.exec();
  }

  async find(model: string, id: string) {
    const stored = parse<AdapterPayload>(await this.#redis.get(this.#m(model, id)));
    if (!stored?.[JTI_OMITTED]) return stored;
    const { [JTI_OMITTED]: _omitted, ...payload } = stored;
    return { ...payload, jti: id };
  }

  async findByUid(model: string, uid: string) {
    const id = await this.#redis.get(`${this.#p}uid:${model}:${uid}`);
    return id === null ? undefined : this.find(model, id);
  }

  async findByUserCode(model: string, userCode: string) {
    const id = await this.#redis.get(`${this.#p}uc:${model}:${handleOf(userCode)}`);
    return id === null ? undefined : this.find(model, id);
  }

  async consume(model: string, id: string) {
    const payload = await this.find(model, id);
    if (!payload) return;
    const tx = this.#redis.multi();
    const { jti, ...rest } = payload;
    const kept = model !== 'Grant' && jti !== undefined ? { ...rest, [JTI_OMITTED]: true } : payload;
    tx.set(
      this.#m(model, id),
      JSON.stringify({ ...kept, consumed: Math.floor(Date.now() / 1000) }),
      'KEEPTTL',
    );
    // A consumed (rotated) refresh token is dead: out of the listings, kept for reuse detection.
    const token = this.#describe(model, id, payload);
    if (token) this.#unindexToken(tx, token);
    await tx.exec();
  }

  async destroy(model: string, id: string) {
    await this.#destroyMany([[model, id]]);
  }

  async revokeByGrantId(model: string, grantId: string) {
    const members = await this.#redis.smembers(this.#g(grantId));
    const pairs = members.map(splitKey).filter(([m]) => m === model);
    await this.#destroyMany(pairs);
  }

  async listTokens(key: IndexKey) {
    const index = this.#ti(key);
    const refs = await this.#redis.zrangebyscore(index, Date.now(), '+inf');
    const tokens = await this.#tokens(refs, index);
    return tokens.sort((a, b) => a.iat - b.iat);
  }

  async listGrantTokens(grantId: string) {
    const members = await this.#redis.smembers(this.#g(grantId));
    const refs = members
      .map(splitKey)
      .filter(([m]) => LISTED_MODELS.has(m))
      .map(([m, id]) => refOfHandle(this.#k(m, id)));
    return this.#tokens(refs);
  }

  async tokenByRef(ref: string) {
    return (await this.#tokens([ref]))[0];
  }

  async destroyTokens(tokens: readonly StoredToken[]) {
    if (tokens.length === 0) return [];
    const alive = await this.#tokens(tokens.map((t) => t.ref));
    await this.#destroyMany(tokens.map((t) => [t.model, t.jti]));
    return alive;
  }

  async listGrants(key: IndexKey) {
    const index = this.#gi(key);
    const ids = await this.#redis.zrangebyscore(index, Date.now(), '+inf');
    if (ids.length === 0) return [];
    const values = await this.#redis.mget(ids.map((id) => this.#m('Grant', id)));
    const out: StoredGrant[] = [];
    const stale: string[] = [];
    ids.forEach((id, i) => {
      const payload = parse<AdapterPayload>(values[i] ?? null);
      const grant = payload && describeGrant(id, payload, this.#resolve);
      if (grant) out.push(grant);
      else stale.push(id);
    });
    if (stale.length > 0) await this.#redis.zrem(index, ...stale);
    return out;
  }

  async destroySessions(accountId: string) {
    const ids = await this.#redis.smembers(this.#s(accountId));
    if (ids.length === 0) return 0;
    const values = await this.#redis.mget(ids.map((id) => this.#m('Session', id)));
    // A session id re-used for another account since (a new sign-in) is that account's now.
    const mine = ids.filter((_, i) => parse<AdapterPayload>(values[i] ?? null)?.accountId === accountId);
    await this.#destroyMany(mine.map((id) => ['Session', id] as const));
    await this.#redis.srem(this.#s(accountId), ...ids);
    return mine.length;
  }

  async loadUsers() {
    return this.#redis.hvals(`${this.#p}users`);
  }

  async saveUser(id: string, record: string) {
    await this.#redis.hset(`${this.#p}users`, id, record);
  }

  async getMeta(key: string) {
    return (await this.#redis.get(`${this.#p}meta:${key}`)) ?? undefined;
  }

  async setMetaIfAbsent(key: string, value: string) {
    await this.#redis.set(`${this.#p}meta:${key}`, value, 'NX');
    return (await this.getMeta(key)) ?? value;
  }

  async deleteMeta(key: string) {
    await this.#redis.del(`${this.#p}meta:${key}`);
  }

  async close() {
    if (this.#owned) await this.#redis.quit();
  }

  /** Reads StoredTokens by ref, dropping (and pruning from `index`) the ones gone or expired. */
  async #tokens(refs: readonly string[], index?: string): Promise<StoredToken[]> {
    if (refs.length === 0) return [];
    const values = await this.#redis.mget(refs.map((r) => this.#t(r)));
    const out: StoredToken[] = [];
    const stale: string[] = [];
    refs.forEach((ref, i) => {
      const t = parse<StoredToken>(values[i] ?? null);
      if (t && isLive(t.exp)) out.push(t);
      else stale.push(ref);
    });
    if (index && stale.length > 0) await this.#redis.zrem(index, ...stale);
    return out;
  }

  async #destroyMany(pairs: readonly (readonly [string, string])[]) {
    if (pairs.length === 0) return;
    const values = await this.#redis.mget(pairs.map(([m, id]) => this.#m(m, id)));
    const tx = this.#redis.multi();
    pairs.forEach(([model, id], i) => {
      const payload = parse<AdapterPayload>(values[i] ?? null);
      tx.del(this.#m(model, id));
      if (!payload) {
        // Already gone from the payloads; still make sure no index points at it.
        if (LISTED_MODELS.has(model)) tx.del(this.#t(refOfHandle(this.#k(model, id))));
        return;
      }
      const k = this.#k(model, id);
      if (payload.uid) tx.del(`${this.#p}uid:${model}:${payload.uid}`);
      if (payload.userCode) tx.del(`${this.#p}uc:${model}:${handleOf(payload.userCode)}`);
      if (payload.grantId) tx.srem(this.#g(payload.grantId), `${model}:${k}`);
      const token = this.#describe(model, id, payload);
      if (token) this.#unindexToken(tx, token);
      if (model === 'Grant') this.#unindexGrant(tx, id, payload);
      const account = sessionAccount(model, payload);
      if (account) tx.srem(this.#s(account), k);
    });
    await tx.exec();
  }

  #unindexToken(tx: ReturnType<Redis['multi']>, token: StoredToken) {
    tx.del(this.#t(token.ref));
    for (const k of tokenIndexKeys(token)) tx.zrem(this.#ti(k), token.ref);
  }

  #unindexGrant(tx: ReturnType<Redis['multi']>, id: string, payload: AdapterPayload) {
    const grant = describeGrant(id, payload, this.#resolve);
    if (grant) for (const k of grantIndexKeys(grant)) tx.zrem(this.#gi(k), id);
  }
}

function splitKey(key: string): [string, string] {
  const sep = key.indexOf(':');
  return [key.slice(0, sep), key.slice(sep + 1)];
}

function parse<T>(value: string | null): T | undefined {
  if (value === null) return undefined;
  try {
    return JSON.parse(value) as T;
  } catch {
    return undefined;
  }
}
