import type { Config } from '../config.ts';
import type { ConnectionSpec } from '../connections/connection-specs.ts';
import { checkGtrApps } from '../connections/gtr-connections.ts';
import { gtrConnectionId } from '../identity/gtr/create-gtr-apps.ts';
import { GtrAppIdentityProvider } from '../identity/gtr/gtr-app-identity-provider.ts';
import { DEFAULT_GTR_RATE_LIMIT, type GtrAppConfig } from '../identity/gtr/gtr-apps-config.ts';
import { type Check, fail, pass } from './check.ts';
import { pingFailure } from './idp-checks.ts';

/**
 * Each `GTR_APPS` app as the connection it is (`gtr-<name>`): its settings agree with the IdP connections,
 * and `ping` (the endpoint resolves from the metadata, Revoker can authenticate). The draft defines no call
 * that tests a credential without revoking someone, so a JWT or bearer token is checked by the app only
 * when it is called: the line says so.
 */
export async function checkGtrAppConnections(
  config: Config,
  specs: readonly ConnectionSpec[],
): Promise<Check[]> {
  if (config.gtrApps.length === 0) return [];
  try {
    checkGtrApps(config.gtrApps, specs);
  } catch (err) {
    return [fail('idp', (err as Error).message, 'change GTR_APPS as named above')];
  }
  const out: Check[] = [];
  for (const app of config.gtrApps) out.push(...(await checkApp(config, app)));
  return out;
}

async function checkApp(config: Config, app: GtrAppConfig): Promise<Check[]> {
  const where = app.endpoint ? `endpoint ${app.endpoint}` : `issuer ${app.issuer}`;
  const label = `connection ${gtrConnectionId(app.name)} (GTR app ${app.name} at ${where}, ${app.rate_limit ?? DEFAULT_GTR_RATE_LIMIT}/s)`;
  const idp = new GtrAppIdentityProvider({ app, timeoutMs: config.IDP_TIMEOUT_MS });
  const checks: Check[] = [
    pass(
      'idp',
      `${label} can revoke: user (one Global Token Revocation request, sub_id ${app.subject_format}; accepted, not observable); cannot: token, application, resourceServer`,
    ),
  ];
  try {
    await idp.ping();
  } catch (err) {
    checks.push(pingFailure(idp, label, err, `fix "auth" of app ${app.name} in GTR_APPS`));
    return checks;
  }
  const found = app.issuer ? 'its metadata names the endpoint' : 'endpoint configured';
  const auth =
    app.auth.method === 'client_credentials'
      ? 'the token endpoint granted Revoker an access token'
      : app.auth.method === 'private_key_jwt'
        ? `Revoker signs its private-key JWT (kid ${app.auth.kid}); the app checks it when called`
        : 'bearer token set; the app checks it when called';
  checks.push(pass('idp', `${label}: ${found}, ${auth}`));
  return checks;
}
