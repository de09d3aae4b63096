import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { type AdminUser, AdminUserSchema } from '../admin-contract.ts';
import type { SeedUser } from '../seed/seed-schema.ts';
import { hashPassword, verifyPassword } from './password.ts';

interface UserRecord extends AdminUser {
  passwordHash: string;
  /** Epoch seconds: sign-in sessions that began before this were ended by a revocation. */
  signedOutAt?: number;
  /**
   * Epoch seconds per `client:<client_id>` or `resource:<audience>`: a session that began before it must
   * sign in again before it authorizes that application or that API (their tokens were revoked).
   */
  signedOutOf?: Record<string, number>;
}

const UserRecordSchema = AdminUserSchema.extend({
  passwordHash: z.string().min(1),
  signedOutAt: z.number().int().optional(),
  signedOutOf: z.record(z.string(), z.number().int()).optional(),
});

/** Where users persist (the token store): without it they live in memory only. */
export interface UserPersistence {
  loadUsers(): Promise<string[]>;
  saveUser(id: string, record: string): Promise<void>;
}

/** Seed users get an id derived from their first user id, so a restarted IDaaS keeps the same subjects. */
export function stableUserId(userId: string): string {
  return `usr_${createHash('sha256').update(userId.toLowerCase()).digest('base64url').slice(0, 16)}`;
}

/**
 * The tenant's users. `id` (`usr_…`) is the OIDC subject and never changes; `userId` (login name)
 * and email are looked up case-insensitively.
 */
export class UserDirectory {
  readonly #byId = new Map<string, UserRecord>();
  readonly #byLogin = new Map<string, string>();
  readonly #persistence: UserPersistence | undefined;

  constructor(persistence?: UserPersistence) {
    this.#persistence = persistence;
  }

  /** Loads the users a previous run saved; seed users already there keep their saved state. */
  async restore(): Promise<void> {
    for (const raw of (await this.#persistence?.loadUsers()) ?? []) {
      const record = UserRecordSchema.parse(JSON.parse(raw));
      this.#byId.set(record.id, record);
      this.#byLogin.set(record.userId.toLowerCase(), record.id);
      this.#byLogin.set(record.email.toLowerCase(), record.id);
    }
  }

  has(id: string): boolean {
    return this.#byId.has(id);
  }

  async add(user: SeedUser): Promise<AdminUser> {
    const login = user.userId.toLowerCase();
    const email = user.email.toLowerCase();
    if (this.#byLogin.has(login)) throw new Error(`user id "${user.userId}" already exists`);
    if (this.#byLogin.has(email)) throw new Error(`email "${user.email}" already exists`);
    const id = user.id ?? stableUserId(user.userId);
    if (this.#byId.has(id)) throw new Error(`user ${id} already exists`);
    const record: UserRecord = {
      id,
      userId: user.userId,
      email: user.email,
      name: user.name,
      state: user.state ?? 'active',
      ...(user.groups?.length ? { groups: [...user.groups] } : {}),
      passwordHash: await hashPassword(user.password),
    };
    this.#byId.set(id, record);
    this.#byLogin.set(login, id);
    this.#byLogin.set(email, id);
    await this.#save(record);
    return toPublic(record);
  }

  /** By internal id, current user id or email. */
  find(ref: string): AdminUser | undefined {
    const record = this.#record(ref);
    return record && toPublic(record);
  }

  search(q: string | undefined): AdminUser[] {
    const needle = q?.trim().toLowerCase() ?? '';
    const out: AdminUser[] = [];
    for (const u of this.#byId.values()) {
      if (
        needle === '' ||
        u.userId.toLowerCase().includes(needle) ||
        u.email.toLowerCase().includes(needle) ||
        u.name.toLowerCase().includes(needle)
      ) {
        out.push(toPublic(u));
      }
    }
    return out;
  }

  /** The user when the login (user id or email) and password match and the user is active. */
  async authenticate(
    login: string,
    password: string,
  ): Promise<{ ok: true; user: AdminUser } | { ok: false; reason: 'invalid' | 'disabled' }> {
    const record = this.#record(login);
    // Hash anyway on unknown users so timing does not reveal which logins exist.
    const valid = await verifyPassword(password, record?.passwordHash ?? DUMMY_HASH);
    if (!record || !valid) return { ok: false, reason: 'invalid' };
    if (record.state !== 'active') return { ok: false, reason: 'disabled' };
    // The "sign in again" marks stay: they bind every session that began before them. The session this
    // sign-in starts is newer than each (`loginTsAfterMarks`), so it alone may authorize what was revoked.
    return { ok: true, user: toPublic(record) };
  }

  async setState(id: string, state: AdminUser['state']): Promise<void> {
    const record = this.#mustRecord(id);
    record.state = state;
    await this.#save(record);
  }

  async setUserId(id: string, userId: string): Promise<void> {
    const record = this.#mustRecord(id);
    const login = userId.toLowerCase();
    const owner = this.#byLogin.get(login);
    if (owner !== undefined && owner !== id) throw new Error(`user id "${userId}" is already taken`);
    this.#byLogin.delete(record.userId.toLowerCase());
    record.userId = userId;
    this.#byLogin.set(login, id);
    await this.#save(record);
  }

  async setPassword(id: string, password: string): Promise<void> {
    const record = this.#mustRecord(id);
    record.passwordHash = await hashPassword(password);
    await this.#save(record);
  }

  /** Ends every sign-in session of the user that began before `atSeconds` (a revocation's backstop). */
  async signOut(id: string, atSeconds: number): Promise<void> {
    const record = this.#mustRecord(id);
    record.signedOutAt = atSeconds;
    await this.#save(record);
  }

  /**
   * After "all tokens of an application / a resource server": the user signs in again (password) before
   * authorizing that application or reaching that API; their sessions stand for everything else.
   */
  async signOutOf(id: string, keys: readonly string[], atSeconds: number): Promise<void> {
    const record = this.#byId.get(id);
    if (!record || keys.length === 0) return;
    record.signedOutOf = { ...record.signedOutOf };
    for (const key of keys) record.signedOutOf[key] = atSeconds;
    await this.#save(record);
  }

  /**
   * The login time (epoch seconds) for a password sign-in now: now, or one second after the user's
   * latest "sign in again" mark when that mark is this very second, so the new session is strictly newer
   * than every mark (seconds are all a session keeps) while sessions that began before stay bound by them.
   */
  loginTsAfterMarks(id: string, nowSeconds = Math.floor(Date.now() / 1000)): number {
    const marks = Object.values(this.#byId.get(id)?.signedOutOf ?? {});
    return Math.max(nowSeconds, ...marks.map((m) => m + 1));
  }

  /** Whether a session that began at `loginTs` must sign in again before authorizing any of `keys`. */
  mustSignInAgainFor(id: string, loginTs: number | undefined, keys: readonly string[]): boolean {
    const marks = this.#byId.get(id)?.signedOutOf;
    if (!marks) return false;
    // `<=`: a session begun in the revocation's own second is older than it (seconds are all we have);
    // a password sign-in after the mark gets a login time past it (`loginTsAfterMarks`), so it never loops.
    return keys.some((k) => marks[k] !== undefined && (loginTs === undefined || loginTs <= marks[k]!));
  }

  /** Whether a sign-in session of the user that began at `loginTs` (epoch seconds) still stands. */
  sessionStands(id: string, loginTs: number | undefined): boolean {
    const record = this.#byId.get(id);
    if (!record || record.signedOutAt === undefined) return record !== undefined;
    return loginTs !== undefined && loginTs >= record.signedOutAt;
  }

  async #save(record: UserRecord): Promise<void> {
    await this.#persistence?.saveUser(record.id, JSON.stringify(record));
  }

  isTaken(login: string): boolean {
    return this.#byLogin.has(login.toLowerCase());
  }

  #record(ref: string): UserRecord | undefined {
    const direct = this.#byId.get(ref);
    if (direct) return direct;
    const id = this.#byLogin.get(ref.toLowerCase());
    return id === undefined ? undefined : this.#byId.get(id);
  }

  #mustRecord(id: string): UserRecord {
    const record = this.#byId.get(id);
    if (!record) throw new Error(`unknown user ${id}`);
    return record;
  }
}

const DUMMY_HASH = `scrypt$1024$8$1$${randomBytes(16).toString('base64url')}$${randomBytes(32).toString('base64url')}`;

function toPublic(u: UserRecord): AdminUser {
  return {
    id: u.id,
    userId: u.userId,
    email: u.email,
    name: u.name,
    state: u.state,
    ...(u.groups?.length ? { groups: [...u.groups] } : {}),
  };
}
