import type { Request, Response } from 'express';
import { sendScim } from './scim-error.ts';

/** GET /ServiceProviderConfig (RFC 7643 §5): what this receiver supports. */
export function serviceProviderConfig(_req: Request, res: Response): void {
  sendScim(res, 200, {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'],
    documentationUri: 'https://github.com/revoker/revoker#scim',
    patch: { supported: true },
    bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
    filter: { supported: true, maxResults: 200 },
    changePassword: { supported: false },
    sort: { supported: false },
    etag: { supported: false },
    authenticationSchemes: [
      {
        type: 'oauthbearertoken',
        name: 'Bearer token',
        description: 'Authorization: Bearer <SCIM_TOKEN>',
        primary: true,
      },
    ],
    meta: { resourceType: 'ServiceProviderConfig' },
  });
}
