import { asCodedError } from '../../domain/errors.ts';
import type { ListenerDeps } from '../deps.ts';
import type { ListenerClient } from '../slack-client.ts';
import { buildHomeView, HOME_LIST_LIMIT } from './home-view.ts';

/** Loads the three lists for `userId` and publishes their Home tab. */
export async function publishHome(
  client: ListenerClient,
  userId: string,
  deps: Pick<ListenerDeps, 'intake' | 'logger'>,
  notice?: string,
): Promise<void> {
  const limit = HOME_LIST_LIMIT;
  const [mine, awaiting, hr] = await Promise.all([
    deps.intake.list({ requestedBy: userId, limit }),
    deps.intake.list({ awaitingApprovalFrom: userId, limit }),
    deps.intake.list({ source: 'hr', limit }),
  ]);
  try {
    await client.views.publish({ user_id: userId, view: buildHomeView({ mine, awaiting, hr, notice }) });
  } catch (err) {
    deps.logger.warn({ err: asCodedError(err).code }, 'slack: views.publish failed');
  }
}
