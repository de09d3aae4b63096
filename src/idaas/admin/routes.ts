import type { z } from 'zod';
import {
  type AdminFaults,
  AdminFaultsSchema,
  type AdminUserPatch,
  AdminUserPatchSchema,
} from '../admin-contract.ts';
import { type Catalog, publicApplication, publicResourceServer } from '../directory/catalog.ts';
import type { UserDirectory } from '../directory/user-directory.ts';
import { type TokenRevoker, toAdminToken } from '../token-revoker.ts';
import { AdminHttpError, notFound } from './admin-http-error.ts';
import type { FaultSwitch } from './fault-switch.ts';

export interface RouteContext {
  users: UserDirectory;
  catalog: Catalog;
  revoker: TokenRevoker;
  faults: FaultSwitch;
}

export interface RouteRequest {
  ctx: RouteContext;
  params: string[];
  query: URLSearchParams;
  body: unknown;
}

export interface AdminRoute {
  method: string;
  pattern: RegExp;
  body?: z.ZodType;
  bypassFaults?: boolean;
  handler(req: RouteRequest): Promise<unknown> | unknown;
}

const SEG = '([^/]+)';
const p = (s: string) => new RegExp(`^${s.replaceAll(':x', SEG)}$`);

function user(ctx: RouteContext, ref: string) {
  const u = ctx.users.find(ref);
  if (!u) throw notFound(`user ${ref}`);
  return u;
}
function application(ctx: RouteContext, ref: string) {
  const a = ctx.catalog.applications.find((x) => x.client_id === ref);
  if (!a) throw notFound(`application ${ref}`);
  return a;
}
function resourceServer(ctx: RouteContext, ref: string) {
  const r = ctx.catalog.resourceServers.find((x) => x.id === ref);
  if (!r) throw notFound(`resource server ${ref}`);
  return r;
}

async function patchUser({ ctx, params, body }: RouteRequest) {
  const current = user(ctx, params[0]!);
  const patch = body as AdminUserPatch;
  let revoke = false;
  if (patch.userId !== undefined && patch.userId !== current.userId) {
    const owner = ctx.users.find(patch.userId);
    if (owner && owner.id !== current.id) {
      throw new AdminHttpError(409, 'conflict', `user id "${patch.userId}" is already taken`);
    }
    await ctx.users.setUserId(current.id, patch.userId);
    revoke = true;
  }
  if (patch.password !== undefined) {
    await ctx.users.setPassword(current.id, patch.password);
    revoke = true;
  }
  if (patch.state !== undefined) {
    await ctx.users.setState(current.id, patch.state);
    if (patch.state === 'disabled') revoke = true;
  }
  const revoked = revoke ? await ctx.revoker.revokeUser(current.id) : [];
  return { ...user(ctx, current.id), revoked };
}

/** Every admin route (ADMIN_PREFIX stripped), as listed in admin-contract.ts. */
export const routes: AdminRoute[] = [
  {
    method: 'GET',
    pattern: p('/users'),
    handler: ({ ctx, query }) => ({ users: ctx.users.search(query.get('q') ?? undefined) }),
  },
  { method: 'GET', pattern: p('/users/:x'), handler: ({ ctx, params }) => user(ctx, params[0]!) },
  { method: 'PATCH', pattern: p('/users/:x'), body: AdminUserPatchSchema, handler: patchUser },
  {
    method: 'GET',
    pattern: p('/users/:x/tokens'),
    handler: async ({ ctx, params }) => {
      const u = user(ctx, params[0]!);
      return { tokens: (await ctx.revoker.list({ kind: 'user', value: u.id })).map(toAdminToken) };
    },
  },
  {
    method: 'DELETE',
    pattern: p('/users/:x/tokens/:x'),
    handler: async ({ ctx, params }) => {
      const u = user(ctx, params[0]!);
      const revoked = await ctx.revoker.revokeToken(u.id, params[1]!);
      if (!revoked) throw notFound(`token ${params[1]} of user ${params[0]}`);
      return { revoked };
    },
  },
  {
    method: 'DELETE',
    pattern: p('/users/:x/tokens'),
    handler: async ({ ctx, params }) => ({
      revoked: await ctx.revoker.revokeUser(user(ctx, params[0]!).id),
    }),
  },
  {
    method: 'GET',
    pattern: p('/applications'),
    handler: ({ ctx, query }) => ({
      applications: ctx.catalog.searchApplications(query.get('q') ?? undefined),
    }),
  },
  {
    method: 'GET',
    pattern: p('/applications/:x'),
    handler: ({ ctx, params }) => publicApplication(application(ctx, params[0]!)),
  },
  {
    method: 'GET',
    pattern: p('/applications/:x/tokens'),
    handler: async ({ ctx, params }) => {
      const a = application(ctx, params[0]!);
      return {
        tokens: (await ctx.revoker.list({ kind: 'application', value: a.client_id })).map(toAdminToken),
      };
    },
  },
  {
    method: 'DELETE',
    pattern: p('/applications/:x/tokens'),
    handler: async ({ ctx, params }) => ({
      revoked: await ctx.revoker.revokeAll({
        kind: 'application',
        value: application(ctx, params[0]!).client_id,
      }),
    }),
  },
  {
    method: 'GET',
    pattern: p('/resource-servers'),
    handler: ({ ctx, query }) => ({
      resourceServers: ctx.catalog.searchResourceServers(query.get('q') ?? undefined),
    }),
  },
  {
    method: 'GET',
    pattern: p('/resource-servers/:x'),
    handler: ({ ctx, params }) => publicResourceServer(resourceServer(ctx, params[0]!)),
  },
  {
    method: 'GET',
    pattern: p('/resource-servers/:x/tokens'),
    handler: async ({ ctx, params }) => {
      const r = resourceServer(ctx, params[0]!);
      return { tokens: (await ctx.revoker.list({ kind: 'resourceServer', value: r.id })).map(toAdminToken) };
    },
  },
  {
    method: 'DELETE',
    pattern: p('/resource-servers/:x/tokens'),
    handler: async ({ ctx, params }) => ({
      revoked: await ctx.revoker.revokeResourceServer(resourceServer(ctx, params[0]!).id),
    }),
  },
  {
    method: 'PUT',
    pattern: p('/faults'),
    body: AdminFaultsSchema,
    bypassFaults: true,
    handler: ({ ctx, body }) => ctx.faults.set(body as AdminFaults),
  },
  { method: 'GET', pattern: p('/faults'), bypassFaults: true, handler: ({ ctx }) => ctx.faults.current() },
  { method: 'GET', pattern: p('/stats'), bypassFaults: true, handler: ({ ctx }) => ctx.faults.stats() },
];
