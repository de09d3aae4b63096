/**
 * What the SCIM clients people use send, request by request, each shape with the page that documents it.
 * A client simulator is a function from "what the client wants to do" to the exact HTTP request it makes;
 * the tests send them to the real receiver and ask the embedded IDaaS what happened.
 */

export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

export interface ScimRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path and query under the SCIM base (`/scim/v2`). */
  path: string;
  body?: unknown;
}

const q = (filter: string) => encodeURIComponent(filter);
const randomName = () => `${crypto.randomUUID()}`;

/**
 * Microsoft Entra provisioning service (learn.microsoft.com/entra/identity/app-provisioning/
 * use-scim-to-provision-users-and-groups, "Request/response examples", and
 * application-provisioning-config-problem-scim-compatibility: `"op":"Replace"`, booleans as strings).
 */
export const entra = {
  /** Test Connection: a user and a group that cannot exist; both must answer 200 with no resources. */
  testConnection: (): ScimRequest[] => [
    { method: 'GET', path: `/Users?filter=${q(`userName eq "${randomName()}"`)}` },
    {
      method: 'GET',
      path: `/Groups?excludedAttributes=members&filter=${q(`displayName eq "${randomName()}"`)}`,
    },
  ],
  /** Matching a user before creating: the default matching attribute is userName. */
  findByUserName: (userName: string): ScimRequest => ({
    method: 'GET',
    path: `/Users?filter=${q(`userName eq "${userName}"`)}`,
  }),
  /** Matching on the id the app returned (mapped to externalId by many configurations). */
  findByExternalId: (externalId: string): ScimRequest => ({
    method: 'GET',
    path: `/Users?filter=${q(`externalId eq "${externalId}"`)}`,
  }),
  /** Matching on the work email, as the attribute-mapping page lists it. */
  findByWorkEmail: (email: string): ScimRequest => ({
    method: 'GET',
    path: `/Users?filter=${q(`emails[type eq "work"].value eq "${email}"`)}`,
  }),
  /** Two matching attributes together. */
  findByUserNameAndExternalId: (userName: string, externalId: string): ScimRequest => ({
    method: 'GET',
    path: `/Users?filter=${q(`userName eq "${userName}" and externalId eq "${externalId}"`)}`,
  }),
  /** Soft delete (user disabled or unassigned): "Replace" with the string "False". */
  softDelete: (id: string): ScimRequest => ({
    method: 'PATCH',
    path: `/Users/${id}`,
    body: { schemas: [PATCH_OP], Operations: [{ op: 'Replace', path: 'active', value: 'False' }] },
  }),
  /** Hard delete, 30 days after the soft delete (deleted from Entra). */
  hardDelete: (id: string): ScimRequest => ({ method: 'DELETE', path: `/Users/${id}` }),
  /** An attribute update: Entra patches other attributes, e.g. the enterprise department. */
  updateDepartment: (id: string, department: string): ScimRequest => ({
    method: 'PATCH',
    path: `/Users/${id}`,
    body: {
      schemas: [PATCH_OP],
      Operations: [
        { op: 'Replace', path: `${ENTERPRISE}:department`, value: department },
        { op: 'Add', path: 'displayName', value: `${department} person` },
      ],
    },
  }),
};

/**
 * Okta (developer.okta.com/docs/api/openapi/okta-scim/guides/scim-20, "Update a specific User (PATCH)"
 * and "Update a specific User (PUT)"): OIN integrations PATCH `{op:"replace", value:{active:false}}`;
 * custom app-integration-wizard (AIW) SCIM apps always PUT the full user.
 */
export const okta = {
  findByUserName: (userName: string): ScimRequest => ({
    method: 'GET',
    path: `/Users?filter=${q(`userName eq "${userName}"`)}&startIndex=1&count=100`,
  }),
  deactivate: (id: string): ScimRequest => ({
    method: 'PATCH',
    path: `/Users/${id}`,
    body: { schemas: [PATCH_OP], Operations: [{ op: 'replace', value: { active: false } }] },
  }),
  /** AIW: the whole user, `active` as wanted. */
  put: (
    user: { id: string; userName: string; email: string },
    active: boolean,
    givenName = 'Pat',
  ): ScimRequest => ({
    method: 'PUT',
    path: `/Users/${user.id}`,
    body: {
      schemas: [USER_SCHEMA],
      id: user.id,
      userName: user.userName,
      name: { givenName, familyName: 'Example' },
      emails: [{ primary: true, value: user.email, type: 'work' }],
      displayName: `${givenName} Example`,
      locale: 'en-US',
      externalId: `00u${user.id.slice(-8)}`,
      groups: [],
      active,
    },
  }),
};

/**
 * SailPoint IdentityNow / IdentityIQ SCIM 2.0 connector (documentation.sailpoint.com/connectors/scim2/help/
 * integrating_scim2/supported_features.html and …/patch_operation.html): disables with an `add` of
 * `active`, may qualify the path with the core schema URN (RFC 7644 §3.5.2 allows it), and PUTs the
 * whole user when PATCH is turned off.
 */
export const sailpoint = {
  disable: (id: string): ScimRequest => ({
    method: 'PATCH',
    path: `/Users/${id}`,
    body: { schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'active', value: false }] },
  }),
  disableQualified: (id: string): ScimRequest => ({
    method: 'PATCH',
    path: `/Users/${id}`,
    body: {
      schemas: [PATCH_OP],
      Operations: [{ op: 'replace', path: `${USER_SCHEMA}:active`, value: false }],
    },
  }),
  disableUrnValue: (id: string): ScimRequest => ({
    method: 'PATCH',
    path: `/Users/${id}`,
    body: {
      schemas: [PATCH_OP],
      Operations: [{ op: 'replace', value: { [`${USER_SCHEMA}:active`]: false } }],
    },
  }),
  disableWithPut: (user: { id: string; userName: string }): ScimRequest => ({
    method: 'PUT',
    path: `/Users/${user.id}`,
    body: { schemas: [USER_SCHEMA], id: user.id, userName: user.userName, active: false },
  }),
};
