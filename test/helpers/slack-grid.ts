import { appHomeOpenedBody, slashCommandBody } from './slack.ts';

/** The Enterprise Grid org of the Grid fixtures. */
export const GRID_ENTERPRISE = { id: 'E0GRID', name: 'Example Org' };

/**
 * An interactive payload as Slack sends it from an org-wide (Enterprise Grid) install: `team` is null,
 * `enterprise` names the org, `is_enterprise_install` is true, and users carry `W…` ids
 * (https://docs.slack.dev/enterprise-grid/ — "Org-wide apps": payloads from org installs).
 */
export function asEnterpriseGrid<T extends object>(payload: T): T {
  return { ...payload, team: null, enterprise: GRID_ENTERPRISE, is_enterprise_install: true };
}

/** A slash command's form body from an org-wide install (`enterprise_id`, `is_enterprise_install=true`). */
export function gridSlashCommandBody(input: Parameters<typeof slashCommandBody>[0]): string {
  const form = new URLSearchParams(slashCommandBody(input));
  form.set('is_enterprise_install', 'true');
  form.set('enterprise_id', GRID_ENTERPRISE.id);
  form.set('enterprise_name', GRID_ENTERPRISE.name);
  return form.toString();
}

/** `app_home_opened` from an org-wide install: `enterprise_id`, `is_enterprise_install`, no `team_id`. */
export function gridAppHomeOpenedBody(userId: string): string {
  const body = JSON.parse(appHomeOpenedBody(userId)) as Record<string, unknown>;
  delete body.team_id;
  return JSON.stringify({
    ...body,
    enterprise_id: GRID_ENTERPRISE.id,
    is_enterprise_install: true,
    authorizations: [
      {
        enterprise_id: GRID_ENTERPRISE.id,
        team_id: null,
        user_id: 'W0REVOKERBOT',
        is_bot: true,
        is_enterprise_install: true,
      },
    ],
  });
}
