import express, { type NextFunction, type Request, type Response } from 'express';
import type { Redis } from 'ioredis';
import type { RefusalRecorder } from '../audit/refusal-log.ts';
import type { AuditLog } from '../audit/types.ts';
import type { IdentityProvider } from '../identity/port.ts';
import type { Intake } from '../intake/types.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { bearerAuth } from './auth.ts';
import { rejectScim, type ScimContext } from './context.ts';
import { ScimDeactivationStore } from './deactivation-store.ts';
import { getGroup, listGroups } from './groups.ts';
import { resourceTypes } from './resource-types.ts';
import { schemas } from './schemas.ts';
import { sendScimError } from './scim-error.ts';
import { serviceProviderConfig } from './service-provider-config.ts';
import { deleteUser } from './users-delete.ts';
import { getUser } from './users-get.ts';
import { listUsers } from './users-list.ts';
import { patchUser, putUser } from './users-patch.ts';

export interface ScimRouterDeps {
  /** `SCIM_TOKEN`: the bearer every SCIM client must present. */
  token: string;
  idp: IdentityProvider;
  intake: Intake;
  audit: AuditLog;
  /** Refusals counted per minute instead of one audit entry each (see RedisRefusalLog). */
  refusals?: RefusalRecorder;
  /** Where SCIM deactivations are remembered (`{prefix}:scim:*`). */
  redis: Redis;
  /** Key prefix (REVOKER_PREFIX). */
  prefix: string;
  /** Counts SCIM calls (`webhooks{source="scim"}`) and rejections; optional. */
  metrics?: Pick<Metrics, 'webhooks' | 'rejections'>;
  /** Default: no logging. */
  logger?: Logger;
  /** Actor id of the SCIM client in requests and audit; default `scim-client`. */
  clientId?: string;
  /** Largest PATCH body; default `1mb`. */
  limit?: string | number;
}

/** SCIM 2.0 receiver (RFC 7643/7644), mounted at `/scim/v2`: deactivate or delete a user ⇒ revoke all. */
export function createScimRouter(deps: ScimRouterDeps): express.Router {
  const ctx: ScimContext = {
    idp: deps.idp,
    intake: deps.intake,
    audit: deps.audit,
    ...(deps.refusals ? { refusals: deps.refusals } : {}),
    store: new ScimDeactivationStore(deps.redis, deps.prefix),
    metrics: deps.metrics,
    logger: deps.logger,
    clientId: deps.clientId ?? 'scim-client',
  };
  const router = express.Router();
  router.use(bearerAuth(deps.token, ctx));

  const raw = express.raw({ type: () => true, limit: deps.limit ?? '1mb' });
  const body = (req: Request, res: Response, next: NextFunction) =>
    raw(req, res, (err?: unknown) => {
      if (!err) return next();
      const tooLarge = (err as { type?: string }).type === 'entity.too.large';
      void rejectScim(
        ctx,
        res,
        tooLarge ? 413 : 400,
        tooLarge ? 'payload_too_large' : 'unreadable_body',
        tooLarge ? 'Payload too large' : 'Unreadable body',
        tooLarge ? undefined : 'invalidSyntax',
      );
    });

  router.get('/ServiceProviderConfig', serviceProviderConfig);
  router.get('/ResourceTypes', resourceTypes);
  router.get('/Schemas', schemas);
  router.get('/Schemas/:id', schemas);
  router.get('/Users', listUsers(ctx));
  router.get('/Users/:id', getUser(ctx));
  router.patch('/Users/:id', body, patchUser(ctx));
  router.delete('/Users/:id', deleteUser(ctx));
  router.post('/Users', (_req, res) =>
    // Creation belongs to the IdP; Revoker only acts on deprovisioning.
    sendScimError(res, 501, 'Revoker does not create users; it revokes tokens when users are deactivated'),
  );
  router.put('/Users/:id', body, putUser(ctx));
  router.get('/Groups', listGroups(ctx));
  router.get('/Groups/:id', getGroup);
  router.use((_req, res) => sendScimError(res, 404, 'Resource not found'));
  return router;
}
