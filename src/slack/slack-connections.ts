import type { ConnectionRegistry } from '../connections/connection-registry.ts';
import type { Scope } from '../domain/target.ts';
import { BudgetedIdentityProvider } from '../identity/budgeted-identity-provider.ts';
import type { Capabilities, IdentityProvider } from '../identity/port.ts';
import type { ModalView } from './block-kit.ts';
import type { ListenerDeps } from './deps.ts';
import type { Choice } from './payloads.ts';
import { buildScopeModal } from './views/scope-modal.ts';

/** One connection as the dialog offers it: its id, its kind, and its adapter in the interactive lane. */
export interface SlackConnection {
  id: string;
  kind: string;
  idp: IdentityProvider;
}

/**
 * Every configured connection for the Slack listeners (issue 22), in the configured order: people wait on
 * these look-ups, so each adapter draws from its own connection's reserved interactive share.
 */
export function interactiveConnections(registry: ConnectionRegistry): SlackConnection[] {
  return registry.all.map((c) => ({
    id: c.id,
    kind: c.kind,
    idp: c.idp instanceof BudgetedIdentityProvider ? c.idp.interactive() : c.idp,
  }));
}

type Deps = Pick<ListenerDeps, 'idp' | 'connections'>;

/** The connections the listeners know; without any, the one adapter `idp` (a single-IdP set-up, a test). */
export function connectionsOf(deps: Deps): readonly SlackConnection[] {
  return deps.connections && deps.connections.length > 0
    ? deps.connections
    : [{ id: 'default', kind: deps.idp.name, idp: deps.idp }];
}

/** More than one connection: only then does the dialog ask which, and say where a request runs. */
export function severalConnections(deps: Deps): boolean {
  return connectionsOf(deps).length > 1;
}

/** The connections that can revoke `scope` (by their capabilities), in the configured order. */
export function connectionsOffering(deps: Deps, scope: Scope): SlackConnection[] {
  return connectionsOf(deps).filter((c) => c.idp.capabilities.scopes[scope]);
}

/** The label of a connection in a select: its id and kind (`okta (okta)`, `gtr-notes (gtr)`). */
export function connectionLabel(c: Pick<SlackConnection, 'id' | 'kind'>): string {
  return `${c.id} (${c.kind})`;
}

/** Where a user revocation runs when there are several connections: every one offering the user scope. */
export function everywhereText(deps: Deps): string {
  return `every connected system: ${connectionsOffering(deps, 'user')
    .map((c) => c.id)
    .join(', ')}`;
}

/**
 * The adapter a look-up for `scope` goes to, and the connection a submit names. One connection: `idp`, and
 * no connection named (as before). Several: the user scope is the primary's (the person is picked there;
 * the request runs in every connection); the others the connection `id` names, by default the primary
 * (or the first that offers the scope). Undefined: `id` names no connection offering the scope.
 */
export function chosenConnection(
  deps: Deps,
  scope: Scope,
  id?: string,
): { idp: IdentityProvider; connection?: string } | undefined {
  if (!severalConnections(deps)) return { idp: deps.idp };
  if (scope === 'user' && id === undefined) return { idp: deps.idp };
  const offering = connectionsOffering(deps, scope);
  const c =
    id === undefined
      ? (offering.find((o) => o.id === connectionsOf(deps)[0]!.id) ?? offering[0])
      : offering.find((o) => o.id === id);
  return c ? { idp: c.idp, connection: c.id } : undefined;
}

/**
 * What the dialog may offer: a scope any connection can revoke (the union); why not, from the primary
 * (or the first connection that says); search and listing as the primary has them.
 */
export function offeredCapabilities(deps: Deps): Capabilities {
  const all = connectionsOf(deps);
  const primary = deps.idp.capabilities;
  if (all.length <= 1) return primary;
  const scopes = { ...primary.scopes };
  const unsupportedReasons: Capabilities['unsupportedReasons'] = {};
  for (const s of Object.keys(scopes) as Scope[]) {
    scopes[s] = all.some((c) => c.idp.capabilities.scopes[s]);
    const why = all.map((c) => c.idp.capabilities.unsupportedReasons[s]).find((r) => r !== undefined);
    if (!scopes[s] && why !== undefined) unsupportedReasons[s] = why;
  }
  return { ...primary, scopes, unsupportedReasons };
}

/**
 * The "Revoke Tokens" dialog for `scope`. With several connections: a connection select for the
 * application, API and token scopes (default the primary), the picker searching the one chosen; for the
 * user scope, where it runs. One connection: exactly the dialog of a single-IdP deployment.
 */
export function scopeModalFor(
  deps: Deps & Pick<ListenerDeps, 'leaked'>,
  scope?: Choice,
  connection?: string,
): ModalView {
  const base = {
    idpName: deps.idp.name,
    capabilities: offeredCapabilities(deps),
    leaked: deps.leaked !== undefined,
    ...(scope ? { scope } : {}),
  };
  if (!severalConnections(deps) || !scope || scope === 'leaked') return buildScopeModal(base);
  if (scope === 'user') {
    const pickedIn = connectionsOf(deps)[0]!.id;
    return buildScopeModal({ ...base, everywhere: { text: everywhereText(deps), pickedIn } });
  }
  const chosen = chosenConnection(deps, scope, connection) ?? chosenConnection(deps, scope);
  if (!chosen?.connection) return buildScopeModal(base);
  const offered = connectionsOffering(deps, scope).map((c) => ({ id: c.id, label: connectionLabel(c) }));
  return buildScopeModal({
    ...base,
    connections: { offered, chosen: chosen.connection },
    search: chosen.idp.capabilities.search,
  });
}
