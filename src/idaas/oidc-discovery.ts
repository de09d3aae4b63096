import { z } from 'zod';

export const DiscoverySchema = z.object({
  issuer: z.string(),
  authorization_endpoint: z.string(),
  token_endpoint: z.string(),
  userinfo_endpoint: z.string(),
  introspection_endpoint: z.string(),
  revocation_endpoint: z.string(),
});
export type Discovery = z.infer<typeof DiscoverySchema>;

const cache = new Map<string, Promise<Discovery>>();

/** The provider's metadata, fetched once per issuer. */
export function discover(issuerUrl: string): Promise<Discovery> {
  const base = issuerUrl.replace(/\/+$/, '');
  let found = cache.get(base);
  if (!found) {
    found = (async () => {
      const res = await fetch(`${base}/.well-known/openid-configuration`);
      if (!res.ok) throw new Error(`discovery at ${base} answered ${res.status}`);
      return DiscoverySchema.parse(await res.json());
    })();
    found.catch(() => cache.delete(base));
    cache.set(base, found);
  }
  return found;
}

export function basicAuth(clientId: string, clientSecret: string): string {
  const enc = (s: string) => encodeURIComponent(s);
  return `Basic ${Buffer.from(`${enc(clientId)}:${enc(clientSecret)}`).toString('base64')}`;
}

/** Token endpoint call with client authentication (basic when there is a secret, else client_id). */
export async function tokenRequest(
  endpoint: string,
  client: { clientId: string; clientSecret?: string | undefined },
  params: Record<string, string>,
): Promise<Response> {
  const body = new URLSearchParams(params);
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (client.clientSecret) headers.authorization = basicAuth(client.clientId, client.clientSecret);
  else body.set('client_id', client.clientId);
  return fetch(endpoint, { method: 'POST', headers, body });
}
