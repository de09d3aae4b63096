import { z } from 'zod';

/** Identifier strings coming from Slack, HR or the CLI: bounded, printable, no control characters. */
export const RefSchema = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[\x21-\x7e\u00a0-\uffff]+$/, 'must not contain whitespace or control characters');

/** A revocation target: exactly one of the four scopes an IDaaS console offers. */
export const TargetSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('token'), userId: RefSchema, tokenId: RefSchema }).strict(),
  z.object({ kind: z.literal('user'), userId: RefSchema }).strict(),
  z.object({ kind: z.literal('application'), applicationId: RefSchema }).strict(),
  z.object({ kind: z.literal('resourceServer'), resourceServerId: RefSchema }).strict(),
]);
export type Target = z.infer<typeof TargetSchema>;
export type Scope = Target['kind'];
export const SCOPES: readonly Scope[] = ['token', 'user', 'application', 'resourceServer'];

/** Human wording, as the console says it. */
export const SCOPE_LABELS: Record<Scope, string> = {
  token: 'an individual token',
  user: 'all tokens for a user',
  application: 'all tokens issued to an application',
  resourceServer: 'all tokens issued to a resource server',
};

/** A stable string for a target: used in job ids, dedupe keys and logs. */
export function targetKey(target: Target): string {
  switch (target.kind) {
    case 'token':
      return `token:${target.userId}:${target.tokenId}`;
    case 'user':
      return `user:${target.userId}`;
    case 'application':
      return `application:${target.applicationId}`;
    case 'resourceServer':
      return `resourceServer:${target.resourceServerId}`;
  }
}

export function describeTarget(target: Target): string {
  switch (target.kind) {
    case 'token':
      return `token ${target.tokenId} of user ${target.userId}`;
    case 'user':
      return `all tokens of user ${target.userId}`;
    case 'application':
      return `all tokens issued to application ${target.applicationId}`;
    case 'resourceServer':
      return `all tokens issued to resource server ${target.resourceServerId}`;
  }
}
