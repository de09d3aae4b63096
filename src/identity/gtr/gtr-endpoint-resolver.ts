import type { AxiosInstance } from 'axios';
import { z } from 'zod';
import { IdpBadResponseError, IdpUnsupportedError } from '../errors.ts';
import { createIdpHttpClient, parseResponse } from '../http-client.ts';
import { isAllowedGtrUrl } from './gtr-apps-config.ts';

/** What Revoker needs from an app's RFC 8414 metadata (draft-parecki-oauth-global-token-revocation-06 §5). */
export interface GtrEndpointInfo {
  endpoint: string;
  /** `global_token_revocation_endpoint_auth_methods_supported`; undefined: "determined by other means" (§5). */
  authMethods?: string[];
  /** `token_endpoint`, for the client-credentials grant when none is configured. */
  tokenEndpoint?: string;
}

const MetadataSchema = z.object({
  issuer: z.string(),
  global_token_revocation_endpoint: z.string().optional(),
  global_token_revocation_endpoint_auth_methods_supported: z.array(z.string()).optional(),
  token_endpoint: z.string().optional(),
});

/**
 * The app's endpoint: the configured one, or the issuer's metadata read once (and again after a failure).
 * RFC 8414 §3: the metadata lives at `/.well-known/oauth-authorization-server` inserted before the issuer's
 * path; §3.3: its `issuer` must be identical to the issuer asked for, else it is not used.
 */
export class GtrEndpointResolver {
  private readonly http: AxiosInstance;
  private cached: Promise<GtrEndpointInfo> | undefined;

  constructor(
    private readonly o: { appName: string; endpoint?: string; issuer?: string; timeoutMs?: number },
  ) {
    this.http = createIdpHttpClient({
      baseURL: o.issuer ?? o.endpoint ?? 'http://invalid.invalid',
      timeoutMs: o.timeoutMs ?? 10_000,
      idpName: `GTR app ${o.appName}`,
    });
  }

  resolve(): Promise<GtrEndpointInfo> {
    if (this.o.endpoint) return Promise.resolve({ endpoint: this.o.endpoint });
    this.cached ??= this.discover().catch((err: unknown) => {
      this.cached = undefined;
      throw err;
    });
    return this.cached;
  }

  private async discover(): Promise<GtrEndpointInfo> {
    const issuer = this.o.issuer!;
    const u = new URL(issuer);
    const path = u.pathname.replace(/\/+$/, '');
    const url = `${u.origin}/.well-known/oauth-authorization-server${path}`;
    const res = await this.http.get(url);
    const meta = parseResponse(MetadataSchema, res.data, `GTR app ${this.o.appName} metadata`);
    if (meta.issuer.replace(/\/+$/, '') !== issuer.replace(/\/+$/, '')) {
      throw new IdpBadResponseError(
        `GTR app ${this.o.appName}: metadata names another issuer (RFC 8414 §3.3), not used`,
      );
    }
    const endpoint = meta.global_token_revocation_endpoint;
    if (!endpoint) {
      throw new IdpUnsupportedError(
        `GTR app ${this.o.appName}: its metadata names no global_token_revocation_endpoint; configure "endpoint" instead`,
      );
    }
    if (!isAllowedGtrUrl(endpoint)) {
      throw new IdpBadResponseError(
        `GTR app ${this.o.appName}: its global_token_revocation_endpoint is not https (draft §3.1), not used`,
      );
    }
    return {
      endpoint,
      ...(meta.global_token_revocation_endpoint_auth_methods_supported
        ? { authMethods: meta.global_token_revocation_endpoint_auth_methods_supported }
        : {}),
      ...(meta.token_endpoint && isAllowedGtrUrl(meta.token_endpoint)
        ? { tokenEndpoint: meta.token_endpoint }
        : {}),
    };
  }
}
