import { WebClient } from '@slack/web-api';
import type { Config } from '../config.ts';
import { type Check, fail, pass } from './check.ts';

/**
 * Bot scopes and the Web API methods Revoker calls that need them (src/slack/): keep in step with the code
 * and manifest.json. Views (`views.open/push/update/publish`) need no scope of their own.
 * Scopes per method: https://docs.slack.dev/reference/methods/chat.postMessage (chat:write),
 * https://docs.slack.dev/reference/methods/conversations.open (im:write),
 * https://docs.slack.dev/reference/methods/usergroups.users.list (usergroups:read),
 * https://docs.slack.dev/reference/methods/users.info (users:read; the email needs users:read.email).
 */
export const SLACK_SCOPES_USED: Readonly<Record<string, string>> = {
  commands: 'the /revoke slash command',
  'chat:write': 'chat.postMessage, chat.update, chat.postEphemeral (approvals, progress, notices)',
  'im:write': 'conversations.open (DMs to requesters)',
  'usergroups:read':
    'usergroups.users.list (S… user groups in SLACK_ADMIN_USERS, SLACK_APPROVER_USERS, workflows)',
  'users:read': 'users.info (who clicked Cancel on a scheduled offboarding)',
  'users:read.email': "users.info's email (the person being offboarded can never cancel their own)",
};

/**
 * `auth.test` (the token works), the granted scopes (Slack returns them in the `x-oauth-scopes` header of
 * every Web API answer; @slack/web-api exposes it as `response_metadata.scopes`), and the bot's membership
 * of every channel it posts to (`conversations.info` → `channel.is_member`).
 */
export async function checkSlack(config: Config, workflowChannels: readonly string[]): Promise<Check[]> {
  const mode = config.SLACK_APP_TOKEN
    ? 'Socket Mode'
    : config.SLACK_SIGNING_SECRET
      ? 'HTTP'
      : 'notifications only';
  if (!config.SLACK_BOT_TOKEN)
    return [pass('slack', 'off (SLACK_BOT_TOKEN unset): no /revoke, no approvals in Slack')];
  const client = new WebClient(config.SLACK_BOT_TOKEN, {
    slackApiUrl: config.SLACK_API_URL,
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
  });
  const checks: Check[] = [];
  let scopes: string[];
  try {
    const auth = await client.auth.test();
    scopes = auth.response_metadata?.scopes ?? [];
    checks.push(
      pass(
        'slack',
        `token valid (auth.test): bot ${auth.user_id ?? '?'} in team ${auth.team_id ?? '?'}, ${mode}`,
      ),
    );
  } catch (err) {
    checks.push(
      fail(
        'slack',
        `auth.test refused the token: ${slackError(err)}`,
        'set SLACK_BOT_TOKEN to the Bot User OAuth Token (xoxb-…) from OAuth & Permissions, after installing the app',
      ),
    );
    return checks;
  }
  const missing = Object.keys(SLACK_SCOPES_USED).filter((s) => !scopes.includes(s));
  checks.push(
    missing.length === 0
      ? pass('slack', `scopes cover what Revoker calls (${Object.keys(SLACK_SCOPES_USED).join(', ')})`)
      : fail(
          'slack',
          `token lacks ${missing.map((s) => `${s} (${SLACK_SCOPES_USED[s]})`).join('; ')}`,
          `add the bot scope(s) ${missing.join(', ')} under OAuth & Permissions (or manifest.json) and reinstall the app`,
        ),
  );
  const channels = new Map<string, string>();
  if (config.SLACK_APPROVALS_CHANNEL)
    channels.set(config.SLACK_APPROVALS_CHANNEL, 'approvals channel (SLACK_APPROVALS_CHANNEL)');
  if (config.SLACK_NOTIFY_CHANNEL)
    channels.set(config.SLACK_NOTIFY_CHANNEL, 'notify channel (SLACK_NOTIFY_CHANNEL)');
  for (const c of workflowChannels) if (!channels.has(c)) channels.set(c, 'a workflow notify step');
  for (const [channel, role] of channels) checks.push(await membership(client, channel, role));
  return checks;
}

async function membership(client: WebClient, channel: string, role: string): Promise<Check> {
  const invite = `invite the bot: in ${channel}, /invite @Revoker (or add the app in the channel's Integrations tab)`;
  try {
    const info = await client.conversations.info({ channel });
    const name = info.channel?.name ? `#${info.channel.name}` : channel;
    return info.channel?.is_member
      ? pass('slack', `bot is a member of ${name}, the ${role}`)
      : fail(
          'slack',
          `bot is not a member of ${name}, the ${role}: its messages there fail (not_in_channel)`,
          invite,
        );
  } catch (err) {
    const code = slackError(err);
    if (code === 'missing_scope')
      return fail(
        'slack',
        `cannot check ${channel}, the ${role}: the token lacks channels:read (groups:read for a private channel)`,
        'add the bot scopes channels:read and groups:read so membership can be checked, and reinstall',
      );
    // A private channel the bot is not in answers channel_not_found, like one that does not exist.
    return fail(
      'slack',
      `${channel}, the ${role}: ${code}`,
      `check the channel id; for a private channel, ${invite}`,
    );
  }
}

function slackError(err: unknown): string {
  const data = (err as { data?: { error?: string } }).data;
  return data?.error ?? (err as Error).message;
}
