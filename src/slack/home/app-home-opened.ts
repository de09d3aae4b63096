import { z } from 'zod';
import type { ListenerDeps } from '../deps.ts';
import type { ListenerClient } from '../slack-client.ts';
import { publishHome } from './publish-home.ts';

const AppHomeOpenedSchema = z.object({ user: z.string().min(1), tab: z.string().optional() });

/** `app_home_opened` → `views.publish`. The Messages tab needs nothing from us. */
export async function handleAppHomeOpened(
  args: { event: unknown; client: ListenerClient },
  deps: Pick<ListenerDeps, 'intake' | 'logger' | 'access' | 'reportSummary'>,
): Promise<void> {
  const event = AppHomeOpenedSchema.safeParse(args.event);
  if (!event.success || (event.data.tab !== undefined && event.data.tab !== 'home')) return;
  await publishHome(args.client, event.data.user, deps);
}
