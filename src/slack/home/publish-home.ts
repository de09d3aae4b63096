import { asCodedError } from '../../domain/errors.ts';
import type { KnownBlock } from '../block-kit.ts';
import type { ListenerDeps } from '../deps.ts';
import type { ListenerClient } from '../slack-client.ts';
import { buildHomeView, HOME_LIST_LIMIT } from './home-view.ts';
import { buildReportSummaryBlocks } from './report-summary.ts';

/** Loads the three lists for `userId` and publishes their Home tab. */
export async function publishHome(
  client: ListenerClient,
  userId: string,
  deps: Pick<ListenerDeps, 'intake' | 'logger' | 'access' | 'reportSummary'>,
  notice?: string,
): Promise<void> {
  const limit = HOME_LIST_LIMIT;
  // HR/SCIM offboardings (names, dates, reasons) are for admins and approvers only.
  const staff = await deps.access.isStaff(userId);
  const [mine, awaiting, hr, scim] = await Promise.all([
    deps.intake.list({ requestedBy: userId, limit }),
    deps.intake.list({ awaitingApprovalFrom: userId, limit }),
    staff ? deps.intake.list({ source: 'hr', limit }) : [],
    staff ? deps.intake.list({ source: 'scim', limit }) : [],
  ]);
  // The offboarding summary likewise: admins and approvers only (deny by default).
  const summary = staff ? await summaryBlocks(deps) : [];
  const offboarding = staff
    ? [...hr, ...scim].sort((a, b) => b.createdAt.localeCompare(a.createdAt)).slice(0, limit)
    : undefined;
  try {
    const view = buildHomeView({ mine, awaiting, hr: offboarding, notice });
    await client.views.publish({ user_id: userId, view: { ...view, blocks: [...summary, ...view.blocks] } });
  } catch (err) {
    deps.logger.warn({ err: asCodedError(err).code }, 'slack: views.publish failed');
  }
}

/** The summary's blocks; a failure to build it (Redis away) leaves it out rather than the whole tab. */
async function summaryBlocks(deps: Pick<ListenerDeps, 'logger' | 'reportSummary'>): Promise<KnownBlock[]> {
  if (!deps.reportSummary) return [];
  try {
    return buildReportSummaryBlocks(await deps.reportSummary());
  } catch (err) {
    deps.logger.warn({ err: asCodedError(err).code }, 'slack: offboarding summary unavailable');
    return [];
  }
}
