import {
  type AdapterPayload,
  describeGrant,
  describeToken,
  grantIndexKeys,
  type IndexKey,
  indexName,
  isLive,
  type ResourceServerResolver,
  type StoredGrant,
  type StoredToken,
  type StoreOptions,
  sessionAccount,
  type TokenStore,
  tokenIndexKeys,
} from './token-store.ts';

interface Entry {
  payload: AdapterPayload;
  /** Epoch ms; undefined = no expiry. */
  expiresAt: number | undefined;
}

/** The in-process store (demo, tests): Maps with lazy expiry. */
export class MemoryStore implements TokenStore {
  readonly #entries = new Map<string, Entry>();
  readonly #uids = new Map<string, string>();
  readonly #userCodes = new Map<string, string>();
  readonly #grantMembers = new Map<string, Set<string>>();
  readonly #tokens = new Map<string, StoredToken>();
  readonly #tokenIndex = new Map<string, Set<string>>();
  readonly #grantIndex = new Map<string, Set<string>>();
  readonly #sessionIndex = new Map<string, Set<string>>();
  readonly #meta = new Map<string, string>();
  readonly #users = new Map<string, string>();
  readonly #resolve: ResourceServerResolver;

  constructor(options: StoreOptions = {}) {
    this.#resolve = options.resolveResourceServer ?? (() => undefined);
  }

  async upsert(model: string, id: string, payload: AdapterPayload, expiresIn: number | undefined) {
    const key = `${model}:${id}`;
    await this.#unindex(model, id);
    this.#entries.set(key, {
      payload,
      expiresAt: expiresIn ? Date.now() + expiresIn * 1000 : undefined,
    });
    if (payload.uid) this.#uids.set(`${model}:${payload.uid}`, id);
    if (payload.userCode) this.#userCodes.set(`${model}:${payload.userCode}`, id);
    if (payload.grantId) add(this.#grantMembers, payload.grantId, key);
    const token = describeToken(model, id, payload, this.#resolve);
    if (token && !payload.consumed) {
      this.#tokens.set(token.ref, token);
      for (const k of tokenIndexKeys(token)) add(this.#tokenIndex, indexName(k), token.ref);
    }
    if (model === 'Grant') {
      const grant = describeGrant(id, payload, this.#resolve);
      if (grant) for (const k of grantIndexKeys(grant)) add(this.#grantIndex, indexName(k), id);
    }
    const account = sessionAccount(model, payload);
    if (account) add(this.#sessionIndex, account, id);
  }

  async find(model: string, id: string) {
    return this.#live(`${model}:${id}`)?.payload;
  }

  async findByUid(model: string, uid: string) {
    const id = this.#uids.get(`${model}:${uid}`);
    return id === undefined ? undefined : this.find(model, id);
  }

  async findByUserCode(model: string, userCode: string) {
    const id = this.#userCodes.get(`${model}:${userCode}`);
    return id === undefined ? undefined : this.find(model, id);
  }

  async consume(model: string, id: string) {
    const entry = this.#live(`${model}:${id}`);
    if (!entry) return;
    entry.payload = { ...entry.payload, consumed: Math.floor(Date.now() / 1000) };
    // A consumed (rotated) refresh token is dead: it leaves the listings but stays for reuse detection.
    this.#unindexToken(describeToken(model, id, entry.payload, this.#resolve)?.ref);
  }

  async destroy(model: string, id: string) {
    await this.#unindex(model, id);
    const key = `${model}:${id}`;
    const entry = this.#entries.get(key);
    this.#entries.delete(key);
    if (entry?.payload.uid) this.#uids.delete(`${model}:${entry.payload.uid}`);
    if (entry?.payload.userCode) this.#userCodes.delete(`${model}:${entry.payload.userCode}`);
    if (entry?.payload.grantId) this.#grantMembers.get(entry.payload.grantId)?.delete(key);
  }

  async revokeByGrantId(model: string, grantId: string) {
    const members = [...(this.#grantMembers.get(grantId) ?? [])];
    for (const key of members) {
      const sep = key.indexOf(':');
      if (key.slice(0, sep) === model) await this.destroy(model, key.slice(sep + 1));
    }
  }

  async listTokens(key: IndexKey) {
    return this.#liveTokens(this.#tokenIndex.get(indexName(key)));
  }

  async listGrantTokens(grantId: string) {
    const refs: string[] = [];
    for (const key of this.#grantMembers.get(grantId) ?? []) {
      const t = this.#tokenOfKey(key);
      if (t) refs.push(t.ref);
    }
    return this.#liveTokens(refs);
  }

  async tokenByRef(ref: string) {
    return this.#liveTokens([ref])[0];
  }

  async destroyTokens(tokens: readonly StoredToken[]) {
    const alive: StoredToken[] = [];
    for (const t of tokens) {
      if (this.#live(`${t.model}:${t.jti}`) && this.#tokens.has(t.ref)) alive.push(t);
      await this.destroy(t.model, t.jti);
    }
    return alive;
  }

  async listGrants(key: IndexKey) {
    const out: StoredGrant[] = [];
    for (const id of this.#grantIndex.get(indexName(key)) ?? []) {
      const entry = this.#live(`Grant:${id}`);
      const grant = entry && describeGrant(id, entry.payload, this.#resolve);
      if (grant) out.push(grant);
    }
    return out;
  }

  async destroySessions(accountId: string) {
    const ids = [...(this.#sessionIndex.get(accountId) ?? [])];
    const live = ids.filter((id) => this.#live(`Session:${id}`) !== undefined).length;
    for (const id of ids) await this.destroy('Session', id);
    return live;
  }

  async loadUsers() {
    return [...this.#users.values()];
  }

  async saveUser(id: string, record: string) {
    this.#users.set(id, record);
  }

  async getMeta(key: string) {
    return this.#meta.get(key);
  }

  async setMetaIfAbsent(key: string, value: string) {
    if (!this.#meta.has(key)) this.#meta.set(key, value);
    return this.#meta.get(key)!;
  }

  async deleteMeta(key: string) {
    this.#meta.delete(key);
  }

  async close() {}

  #live(key: string): Entry | undefined {
    const entry = this.#entries.get(key);
    if (entry?.expiresAt !== undefined && entry.expiresAt <= Date.now()) {
      const sep = key.indexOf(':');
      void this.destroy(key.slice(0, sep), key.slice(sep + 1));
      return undefined;
    }
    return entry;
  }

  #tokenOfKey(key: string): StoredToken | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    const sep = key.indexOf(':');
    return describeToken(key.slice(0, sep), key.slice(sep + 1), entry.payload, this.#resolve);
  }

  #liveTokens(refs: Iterable<string> | undefined): StoredToken[] {
    const out: StoredToken[] = [];
    for (const ref of refs ?? []) {
      const t = this.#tokens.get(ref);
      if (!t) continue;
      const entry = this.#live(`${t.model}:${t.jti}`);
      if (entry && !entry.payload.consumed && isLive(t.exp)) out.push(t);
    }
    return out.sort((a, b) => a.iat - b.iat);
  }

  async #unindex(model: string, id: string) {
    const entry = this.#entries.get(`${model}:${id}`);
    if (!entry) return;
    this.#unindexToken(describeToken(model, id, entry.payload, this.#resolve)?.ref);
    if (model === 'Grant') {
      const grant = describeGrant(id, entry.payload, this.#resolve);
      if (grant) for (const k of grantIndexKeys(grant)) this.#grantIndex.get(indexName(k))?.delete(id);
    }
    const account = sessionAccount(model, entry.payload);
    if (account) this.#sessionIndex.get(account)?.delete(id);
  }

  #unindexToken(ref: string | undefined) {
    if (ref === undefined) return;
    const token = this.#tokens.get(ref);
    if (!token) return;
    this.#tokens.delete(ref);
    for (const k of tokenIndexKeys(token)) this.#tokenIndex.get(indexName(k))?.delete(ref);
  }
}

function add(map: Map<string, Set<string>>, key: string, value: string) {
  let set = map.get(key);
  if (!set) {
    set = new Set();
    map.set(key, set);
  }
  set.add(value);
}
