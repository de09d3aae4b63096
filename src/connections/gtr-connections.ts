import type { Redis } from 'ioredis';
import { ConfigError } from '../domain/errors.ts';
import { createGtrConnections, gtrConnectionId } from '../identity/gtr/create-gtr-apps.ts';
import type { GtrAppConfig } from '../identity/gtr/gtr-apps-config.ts';
import { CONNECTION_ID, type Connection } from './connection.ts';
import type { ConnectionSpec } from './connection-specs.ts';

/** The kind of a connection that is a `GTR_APPS` app. */
export const GTR_KIND = 'gtr';

/**
 * The issuer `subject_format: iss_sub` names for a person of the primary connection, whose `sub` there is
 * the user id Revoker knows: `{ issuer }`, `{ embedded: true }` (the in-process IDaaS, known once it
 * listens), or `{ refused }` with why. The `sub` must be the id the IdP's directory API gives, or the app
 * would be asked about someone else.
 */
export function issSubIssuerOf(
  spec: ConnectionSpec,
): { issuer: string } | { embedded: true } | { refused: string } {
  const c = spec.config;
  const trim = (u: string) => u.replace(/\/+$/, '');
  switch (spec.kind) {
    case 'idaas':
      if (!c.IDAAS_URL) return { embedded: true };
      return { issuer: trim(c.OAUTH_ISSUER ?? c.IDAAS_URL) };
    case 'okta':
      // The org authorization server's `sub` is the Okta user id (a custom one may use the login instead).
      return c.OKTA_ORG_URL ? { issuer: trim(c.OKTA_ORG_URL) } : { refused: 'OKTA_ORG_URL is unset' };
    case 'google':
      // Google's ID-token `sub` is the account's id, the Directory API user `id`.
      return { issuer: 'https://accounts.google.com' };
    case 'auth0':
      // Auth0's issuer ends with a slash; its `sub` is the Management API's `user_id`.
      return c.AUTH0_DOMAIN ? { issuer: `https://${c.AUTH0_DOMAIN}/` } : { refused: 'AUTH0_DOMAIN is unset' };
    case 'keycloak':
      return c.KEYCLOAK_URL && c.KEYCLOAK_REALM
        ? { issuer: `${trim(c.KEYCLOAK_URL)}/realms/${c.KEYCLOAK_REALM}` }
        : { refused: 'KEYCLOAK_URL or KEYCLOAK_REALM is unset' };
    case 'entra':
      return {
        refused: "Entra's ID-token sub is pairwise (one per application), not the object id Revoker knows",
      };
    case 'oauth':
      return { refused: 'an RFC 7009/7662 server (IDP=oauth) has no directory to find the person in' };
  }
}

/**
 * Checks `GTR_APPS` against the IdP connections before anything starts: each app's connection id
 * (`gtr-<name>`) is valid and names no other connection, and `iss_sub` has an issuer to send.
 */
export function checkGtrApps(apps: readonly GtrAppConfig[], specs: readonly ConnectionSpec[]): string[] {
  const taken = new Set(specs.map((s) => s.id));
  const ids: string[] = [];
  for (const app of apps) {
    const id = gtrConnectionId(app.name);
    if (!CONNECTION_ID.test(id)) {
      throw new ConfigError(
        'GTR_APPS',
        `app "${app.name}": its connection id "${id}" must match ${CONNECTION_ID} (a shorter name)`,
      );
    }
    if (taken.has(id)) {
      throw new ConfigError('GTR_APPS', `app "${app.name}": connection id "${id}" names another connection`);
    }
    taken.add(id);
    ids.push(id);
    const primary = specs[0];
    if (app.subject_format === 'iss_sub' && primary) {
      const issuer = issSubIssuerOf(primary);
      if ('refused' in issuer) {
        throw new ConfigError(
          'GTR_APPS',
          `app "${app.name}": subject_format iss_sub needs the issuer and subject of connection ${primary.id}, which Revoker cannot name: ${issuer.refused}; use email or opaque`,
        );
      }
    }
  }
  return ids;
}

export interface GtrAppConnectionsOptions {
  apps: readonly GtrAppConfig[];
  /** The IdP connections' specs, in order (the first is the primary). */
  specs: readonly ConnectionSpec[];
  /** The primary IdP connection (its adapter finds the person for iss_sub). */
  primary: Connection;
  /** The in-process IDaaS's issuer, when the primary is that one. */
  embeddedIssuer?: string;
  redis: Redis;
  prefix: string;
  interactiveShare?: number;
}

/**
 * One connection per `GTR_APPS` app, after the IdP connections: id `gtr-<name>`, kind `gtr`, its adapter
 * behind its own budget (`{prefix}:gtr:<name>:idp:budget`) and its own `idp-calls.gtr-<name>` queue.
 */
export function gtrAppConnections(o: GtrAppConnectionsOptions): Connection[] {
  if (o.apps.length === 0) return [];
  checkGtrApps(o.apps, o.specs);
  const primarySpec = o.specs[0]!;
  const found = issSubIssuerOf(primarySpec);
  const issuer = 'issuer' in found ? found.issuer : 'embedded' in found ? o.embeddedIssuer : undefined;
  const primary = o.primary;
  const gtr = createGtrConnections([...o.apps], {
    redis: o.redis,
    prefix: o.prefix,
    ...(o.interactiveShare !== undefined ? { interactiveShare: o.interactiveShare } : {}),
    // The person's subject at the primary IdP is its user id there, found by the verified email.
    ...(issuer
      ? {
          issSubOf: async (email: string) => {
            const user = await primary.idp.findUserByEmail(email);
            return user ? { iss: issuer, sub: user.id } : undefined;
          },
        }
      : {}),
  });
  return gtr.map((g) => ({ id: g.id, kind: GTR_KIND, idp: g.idp, budget: g.budget, suffix: `.${g.id}` }));
}
