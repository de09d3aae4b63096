import type { Request, Response } from 'express';
import { sendScim } from './scim-error.ts';
import { LIST_SCHEMA, USER_SCHEMA } from './user-resource.ts';

const USER_TYPE = {
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:ResourceType'],
  id: 'User',
  name: 'User',
  endpoint: '/Users',
  schema: USER_SCHEMA,
  meta: { resourceType: 'ResourceType' },
};

/** GET /ResourceTypes: Users only. */
export function resourceTypes(_req: Request, res: Response): void {
  sendScim(res, 200, {
    schemas: [LIST_SCHEMA],
    totalResults: 1,
    startIndex: 1,
    itemsPerPage: 1,
    Resources: [USER_TYPE],
  });
}
