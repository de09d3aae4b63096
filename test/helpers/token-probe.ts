import type { Idaas } from '../../src/idaas/index.ts';
import { type ProbeResult, probeTokens } from '../../src/idaas/token-probe.ts';

/** A token pair as a client holds it: which application it was issued to, and (optionally) for which API. */
export interface HeldTokens {
  applicationId: string;
  accessToken: string;
  refreshToken?: string | undefined;
  resourceServerId?: string | null | undefined;
}

/**
 * Probes `held` at the embedded IDaaS the ways a client would notice a revocation — UserInfo (or the
 * API's whoami), introspection, refresh — as the application's own confidential client. A successful
 * refresh rotates the refresh token: `held.refreshToken` is updated so the next probe uses the live one.
 */
export async function probeHeld(idaas: Idaas, held: HeldTokens): Promise<ProbeResult> {
  const app = idaas.seed.applications.find((a) => a.client_id === held.applicationId);
  if (!app?.client_secret) throw new Error(`no confidential client ${held.applicationId}`);
  const res = await probeTokens({
    issuerUrl: idaas.issuer,
    clientId: app.client_id,
    clientSecret: app.client_secret,
    accessToken: held.accessToken,
    ...(held.refreshToken ? { refreshToken: held.refreshToken } : {}),
    ...(held.resourceServerId ? { resourceServerId: held.resourceServerId } : {}),
  });
  if (res.refresh?.result === 'ok' && res.refresh.refreshToken) held.refreshToken = res.refresh.refreshToken;
  return res;
}
