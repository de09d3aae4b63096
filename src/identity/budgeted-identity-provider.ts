import type { Target } from '../domain/target.ts';
import type { IdpBudget, IdpLane } from './idp-budget.ts';
import { withIdpCall } from './idp-call-context.ts';
import type {
  Capabilities,
  IdentityProvider,
  IdpApplication,
  IdpResourceServer,
  IdpUser,
  PermissionProbe,
  RevocationPlan,
  RevokeResult,
  TokenInfo,
  TokenValueRevocation,
  VerifyContext,
  VerifyResult,
} from './port.ts';
import { sanitizeIdpUser } from './sanitize-idp-user.ts';

/**
 * An adapter whose every HTTP call, on every path (look-ups, search, impact, plan, revoke, verify, HR
 * resolution, readiness), takes a permit from the one shared `IdpBudget` and waits out the IdP's 429s
 * there (http-client.ts). The adapter itself is unchanged: the budget travels in the call's context.
 * Every adapter's users pass here, so this is also where their names enter: sanitised (sanitizeIdpUser).
 */
export class BudgetedIdentityProvider implements IdentityProvider {
  readonly name: string;
  /** Present when the adapter has it: the doctor's write-permission probes, through the budget too. */
  readonly probePermissions?: () => Promise<PermissionProbe[]>;
  /** Present when the adapter can revoke by value; its calls (introspection, revocation) draw permits too. */
  readonly tokenValues?: TokenValueRevocation;

  /**
   * @param lane `interactive` for the view a person waits on (Slack), `probe` for readiness; undefined keeps the
   *   caller's lane (`asInteractive`), else `batch`.
   */
  constructor(
    readonly inner: IdentityProvider,
    readonly budget: IdpBudget,
    private readonly lane?: IdpLane,
  ) {
    this.name = inner.name;
    // Forwarded only when the adapter has it, so `revoker doctor` can tell "cannot probe" from "probed".
    const probe = inner.probePermissions?.bind(inner);
    if (probe) this.probePermissions = () => this.run(probe);
    const values = inner.tokenValues;
    if (values) {
      this.tokenValues = {
        inspect: (value) => this.run(() => values.inspect(value)),
        revoke: (value, info) => this.run(() => values.revoke(value, info)),
        ping: () => this.run(() => values.ping()),
      };
    }
  }

  /** The adapter's, read each time: a start-up probe may narrow them (e.g. Auth0 below Enterprise). */
  get capabilities(): Capabilities {
    return this.inner.capabilities;
  }

  /**
   * The same IdP and budget for health probes (`/readyz`'s background refresh): the probe lane's own
   * small share, behind revocations, never the interactive reservation.
   */
  probing(): BudgetedIdentityProvider {
    return new BudgetedIdentityProvider(this.inner, this.budget, 'probe');
  }

  /** The same IdP and budget for calls a person is waiting on: they draw from the reserved share. */
  interactive(): BudgetedIdentityProvider {
    return new BudgetedIdentityProvider(this.inner, this.budget, 'interactive');
  }

  private run<T>(fn: () => Promise<T>): Promise<T> {
    return withIdpCall(this.lane ? { budget: this.budget, lane: this.lane } : { budget: this.budget }, fn);
  }

  searchUsers(query: string, limit?: number): Promise<IdpUser[]> {
    return this.run(async () => (await this.inner.searchUsers(query, limit)).map(sanitizeIdpUser));
  }
  getUser(userId: string): Promise<IdpUser> {
    return this.run(async () => sanitizeIdpUser(await this.inner.getUser(userId)));
  }
  findUserByEmail(email: string): Promise<IdpUser | undefined> {
    return this.run(async () => {
      const user = await this.inner.findUserByEmail(email);
      return user && sanitizeIdpUser(user);
    });
  }
  searchApplications(query: string, limit?: number): Promise<IdpApplication[]> {
    return this.run(() => this.inner.searchApplications(query, limit));
  }
  getApplication(applicationId: string): Promise<IdpApplication> {
    return this.run(() => this.inner.getApplication(applicationId));
  }
  searchResourceServers(query: string, limit?: number): Promise<IdpResourceServer[]> {
    return this.run(() => this.inner.searchResourceServers(query, limit));
  }
  getResourceServer(resourceServerId: string): Promise<IdpResourceServer> {
    return this.run(() => this.inner.getResourceServer(resourceServerId));
  }
  listUserTokens(userId: string): Promise<TokenInfo[]> {
    return this.run(() => this.inner.listUserTokens(userId));
  }
  plan(target: Target): Promise<RevocationPlan> {
    return this.run(() => this.inner.plan(target));
  }
  revoke(step: Target): Promise<RevokeResult> {
    return this.run(() => this.inner.revoke(step));
  }
  verify(target: Target, context?: VerifyContext): Promise<VerifyResult> {
    return this.run(() => this.inner.verify(target, context));
  }
  ping(): Promise<void> {
    return this.run(() => this.inner.ping());
  }
}
