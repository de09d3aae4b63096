import { z } from 'zod';
import { asCodedError } from '../../domain/errors.ts';
import { gate } from '../access.ts';
import type { PlainTextOption } from '../block-kit.ts';
import type { ListenerDeps } from '../deps.ts';
import { plainText } from '../escape.ts';
import { ActionId, BlockId, connectionOfBlock } from '../ids.ts';
import { applicationLabel, resourceServerLabel, userLabel } from '../labels.ts';
import { parseMetadata, ScopeMetadataSchema, viewValue } from '../payloads.ts';
import { withinDeadline } from '../slack-client.ts';
import { chosenConnection } from '../slack-connections.ts';

const BlockSuggestionSchema = z.object({
  type: z.literal('block_suggestion'),
  user: z.object({ id: z.string().min(1).max(64) }),
  value: z.string().max(256).default(''),
  block_id: z.string().max(255).optional(),
  view: z
    .object({
      private_metadata: z.string().optional(),
      state: z.object({ values: z.record(z.string(), z.record(z.string(), z.unknown())) }).optional(),
    })
    .optional(),
});

const SelectedConnection = z.object({ selected_option: z.object({ value: z.string().min(1).max(64) }) });

/**
 * The connection a search is for (several connections): the one the picker's own block names, else the
 * one the view's connection select shows, else the one the dialog was rendered for.
 */
function connectionOf(payload: z.infer<typeof BlockSuggestionSchema>, rendered: string | undefined) {
  const values = payload.view?.state?.values ?? {};
  const selected = viewValue(values, BlockId.Connection, ActionId.ConnectionSelect, SelectedConnection);
  return connectionOfBlock(payload.block_id) ?? selected?.selected_option.value ?? rendered;
}

/** Slack drops an options answer that takes longer than 3 s; answer empty instead. */
export const OPTIONS_BUDGET_MS = 2500;
const LIMIT = 20;

/** Options for the target picker (`block_suggestion`): an IdP search for the scope in the modal. */
export async function searchTargetOptions(body: unknown, deps: ListenerDeps): Promise<PlainTextOption[]> {
  const parsed = BlockSuggestionSchema.safeParse(body);
  if (!parsed.success) return [];
  const meta = parseMetadata(ScopeMetadataSchema, parsed.data.view?.private_metadata);
  const scope = meta?.scope;
  // Deny by default: no search (no IdP call, nothing listed) for anyone who may not request this scope.
  // The leaked-token choice has no picker: nothing to search.
  if (!scope || scope === 'leaked') return [];
  const started = Date.now();
  // The access check counts against the same 2.5 s as the search (a user-group look-up can be slow).
  const allowed = await withinDeadline(
    gate(deps, parsed.data.user.id, scope, `options.${scope}`),
    OPTIONS_BUDGET_MS,
  );
  if (!allowed.settled || !('value' in allowed) || allowed.value !== undefined) return [];
  const q = parsed.data.value.trim();
  // The user scope searches the primary (the request runs in every connection); the others the chosen one.
  const chosen = chosenConnection(
    deps,
    scope,
    scope === 'user' ? undefined : connectionOf(parsed.data, meta?.connection),
  );
  if (!chosen) return [];
  const idp = chosen.idp;
  const search = async (): Promise<{ label: string; value: string }[]> => {
    switch (scope) {
      case 'user':
      case 'token':
        return (await idp.searchUsers(q, LIMIT)).map((u) => ({ label: userLabel(u), value: u.id }));
      case 'application':
        return (await idp.searchApplications(q, LIMIT)).map((a) => ({
          label: applicationLabel(a),
          value: a.id,
        }));
      case 'resourceServer':
        return (await idp.searchResourceServers(q, LIMIT)).map((r) => ({
          label: resourceServerLabel(r),
          value: r.id,
        }));
      default:
        return [];
    }
  };
  const result = await withinDeadline(search(), Math.max(0, OPTIONS_BUDGET_MS - (Date.now() - started)));
  if (!result.settled) return [];
  if ('error' in result) {
    deps.logger.warn({ err: asCodedError(result.error).code }, 'slack: option search failed');
    return [];
  }
  // plain_text is not parsed by Slack, so names are shown as they are, only cut to the 75-char limit.
  return result.value
    .filter((o) => o.value.length <= 150)
    .slice(0, LIMIT)
    .map((o) => ({ text: { type: 'plain_text', text: plainText(o.label) }, value: o.value }));
}

export async function handleTargetOptions(
  args: { body: unknown; ack: (response: { options: PlainTextOption[] }) => Promise<void> },
  deps: ListenerDeps,
): Promise<void> {
  await args.ack({ options: await searchTargetOptions(args.body, deps) });
}
