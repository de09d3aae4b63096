import type { Request, Response } from 'express';
import { sendScim } from './scim-error.ts';
import { LIST_SCHEMA, USER_SCHEMA } from './user-resource.ts';

const attr = (name: string, type: string, extra: Record<string, unknown> = {}) => ({
  name,
  type,
  multiValued: false,
  required: false,
  caseExact: false,
  mutability: 'readOnly',
  returned: 'default',
  uniqueness: 'none',
  ...extra,
});

/** The subset of the core User schema this receiver serves (RFC 7643 §4.1). */
const USER = {
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:Schema'],
  id: USER_SCHEMA,
  name: 'User',
  description: 'User as the identity provider knows them; active=false revokes all their tokens',
  attributes: [
    attr('userName', 'string', { required: true, uniqueness: 'server' }),
    attr('displayName', 'string'),
    attr('active', 'boolean', { mutability: 'readWrite' }),
    attr('emails', 'complex', {
      multiValued: true,
      subAttributes: [attr('value', 'string'), attr('type', 'string'), attr('primary', 'boolean')],
    }),
  ],
  meta: { resourceType: 'Schema', location: `/Schemas/${USER_SCHEMA}` },
};

/** GET /Schemas and GET /Schemas/{id}. */
export function schemas(req: Request, res: Response): void {
  const id = req.params.id;
  if (id === undefined) {
    sendScim(res, 200, {
      schemas: [LIST_SCHEMA],
      totalResults: 1,
      startIndex: 1,
      itemsPerPage: 1,
      Resources: [USER],
    });
  } else if (id === USER_SCHEMA) {
    sendScim(res, 200, USER);
  } else {
    sendScim(res, 404, {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'],
      status: '404',
      detail: 'Schema not found',
    });
  }
}
