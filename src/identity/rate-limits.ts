/**
 * Each adapter's default IdP call budget (calls per second across every Revoker process), from the
 * vendor's documented quota for the admin API it calls. `IDP_RATE_LIMIT` overrides it (a tenant with a
 * raised or a lower quota). The budget is a smooth rate, so a per-minute quota divided by 60 is never
 * exceeded in any window.
 */
export interface IdpRateLimit {
  perSecond: number;
  /** Where the number comes from. */
  source: string;
}

export const DEFAULT_IDP_RATE_LIMITS = {
  // Ours: no quota of its own (the admin API's fault switch can impose one); 50/s is the benched figure.
  idaas: { perSecond: 50, source: 'embedded IDaaS: no quota; the figure `npm run bench` measures at' },
  // /api/v1/users*: 600 requests per minute per org on most plans (higher on some).
  okta: { perSecond: 10, source: 'https://developer.okta.com/docs/reference/rl-global-mgmt/' },
  // Identity and access: 3,500 resource units per 10 s per app and tenant (S tenants); a call costs 1–5.
  entra: { perSecond: 50, source: 'https://learn.microsoft.com/graph/throttling-limits' },
  // 2,400 queries per minute per user per Google Cloud project ("Limits and Quotas").
  google: { perSecond: 40, source: 'https://developers.google.com/admin-sdk/directory/v1/limits' },
  // Management API: 1,000 requests per minute sustained on Enterprise; lower plans allow less (set it).
  auth0: {
    perSecond: 15,
    source:
      'https://auth0.com/docs/troubleshoot/customer-support/operational-policies/rate-limit-policy/rate-limit-configurations',
  },
  // Keycloak documents no admin-API limit; this protects a self-hosted server.
  keycloak: { perSecond: 50, source: 'Keycloak documents none (self-hosted)' },
  // RFC 7009 names no limit; a generic authorization server is treated like Keycloak.
  oauth: { perSecond: 50, source: 'RFC 7009 defines none' },
} as const satisfies Record<string, IdpRateLimit>;

export type IdpKind = keyof typeof DEFAULT_IDP_RATE_LIMITS;

/** Every kind of identity system an adapter exists for (IDP's values). */
export const IDP_KINDS = Object.keys(DEFAULT_IDP_RATE_LIMITS) as [IdpKind, ...IdpKind[]];
