import { describe, expect, it, onTestFinished } from 'vitest';
import { ConnectionRegistry } from '../../../src/connections/connection-registry.ts';
import { parseRevokeCommand } from '../../../src/slack/commands/parse-revoke-command.ts';
import { buildApprovalMessage } from '../../../src/slack/messages/approval-message.ts';
import { type SlackConnection, scopeModalFor } from '../../../src/slack/slack-connections.ts';
import { FakeSlackIdp } from '../../helpers/fake-intake-slack.ts';
import { slackTestPipeline } from '../../helpers/slack-intake.ts';

/** The primary IdP (no resource servers), an Okta-like one (all four) and a GTR app (user scope only). */
function threeConnections(): SlackConnection[] {
  const idaas = new FakeSlackIdp();
  idaas.capabilities = {
    ...idaas.capabilities,
    scopes: { ...idaas.capabilities.scopes, resourceServer: false },
    unsupportedReasons: { resourceServer: 'No APIs here.' },
  };
  const okta = new FakeSlackIdp();
  const gtr = new FakeSlackIdp();
  gtr.capabilities = {
    scopes: { token: false, user: true, application: false, resourceServer: false },
    unsupportedReasons: { token: 'Only all of a user.', application: 'Only all of a user.' },
    listTokens: false,
    search: false,
  };
  return [
    { id: 'idaas', kind: 'idaas', idp: idaas },
    { id: 'okta', kind: 'okta', idp: okta },
    { id: 'gtr-notes', kind: 'gtr', idp: gtr },
  ];
}

type Blocks = readonly { type: string; block_id?: string }[];
const select = (blocks: Blocks) =>
  blocks.find((b) => b.block_id === 'connection_block') as unknown as
    | {
        accessory: {
          options: { text: { text: string }; value: string }[];
          initial_option?: { value: string };
        };
      }
    | undefined;
const picker = (blocks: Blocks) => blocks.find((b) => b.type === 'input') as { block_id: string };

describe('the dialog with several connections (issue 22)', () => {
  it('offers, per scope, the connections that offer it (default the primary); one connection: no select, as before', () => {
    const connections = threeConnections();
    const deps = { idp: connections[0]!.idp, connections };

    const app = scopeModalFor(deps, 'application').blocks;
    expect(select(app)?.accessory.options.map((o) => [o.text.text, o.value])).toEqual([
      ['idaas (idaas)', 'idaas'],
      ['okta (okta)', 'okta'],
    ]);
    expect(select(app)?.accessory.initial_option?.value).toBe('idaas');
    expect(picker(app).block_id).toBe('target_block.application.idaas');

    // The primary has no APIs: still offered (another connection has them), defaulting to that one.
    const api = scopeModalFor(deps, 'resourceServer');
    expect(select(api.blocks)?.accessory.options.map((o) => o.value)).toEqual(['okta']);
    expect(JSON.parse(api.private_metadata!)).toEqual({ scope: 'resourceServer', connection: 'okta' });
    expect(JSON.stringify(scopeModalFor(deps).blocks)).toContain('"value":"resourceServer"');

    // A connection id that does not offer the scope falls back to the default.
    expect(picker(scopeModalFor(deps, 'token', 'gtr-notes').blocks).block_id).toBe(
      'target_block.token.idaas',
    );

    const user = scopeModalFor(deps, 'user').blocks;
    expect(select(user)).toBeUndefined();
    expect(JSON.stringify(user)).toContain('Runs in every connected system: idaas, okta, gtr-notes');

    const one = { idp: connections[0]!.idp, connections: connections.slice(0, 1) };
    const single = scopeModalFor(one, 'application');
    expect(select(single.blocks)).toBeUndefined();
    expect(picker(single.blocks).block_id).toBe('target_block.application');
    expect(JSON.parse(single.private_metadata!)).toEqual({ scope: 'application' });
    expect(JSON.stringify(scopeModalFor(one, 'user').blocks)).not.toContain('every connected system');
  });

  it('/revoke takes --idp <id> for a token, an app or an API, never for a user', () => {
    expect(parseRevokeCommand('app CRM --idp okta')).toEqual({
      kind: 'application',
      ref: 'CRM',
      connection: 'okta',
    });
    expect(parseRevokeCommand('api --idp=Okta billing')).toEqual({
      kind: 'resourceServer',
      ref: 'billing',
      connection: 'okta',
    });
    expect(parseRevokeCommand('token tok_1 alice --idp okta')).toMatchObject({ connection: 'okta' });
    expect(parseRevokeCommand('app CRM --idp').kind).toBe('invalid');
    expect(parseRevokeCommand('user alice --idp okta')).toMatchObject({
      kind: 'invalid',
      message: expect.stringContaining('runs in every one'),
    });
    // Whatever follows `leaked` is still ignored, never parsed.
    expect(parseRevokeCommand('leaked --idp okta')).toEqual({ kind: 'leaked', ignored: true });
  });

  it('the approval message names the connection only when several are configured', async () => {
    const idp = new FakeSlackIdp();
    const registry = ConnectionRegistry.single(idp, 'okta');
    const pipe = await slackTestPipeline({ idp, connections: registry });
    onTestFinished(() => pipe.close());
    const { request } = await pipe.intake.submit({
      target: { kind: 'application', applicationId: 'app_crm' },
      reason: 'r',
      source: 'slack',
      requestedBy: { source: 'slack', id: 'U0REQ' },
    });
    const target = (m: ReturnType<typeof buildApprovalMessage>) =>
      JSON.stringify(m.blocks).match(/\*Target\*\\n[^"]*/)?.[0];
    expect(target(buildApprovalMessage(request))).toBe(
      '*Target*\\nall tokens issued to application app_crm (CRM)',
    );
    expect(target(buildApprovalMessage(request, { severalConnections: true }))).toBe(
      '*Target*\\nall tokens issued to application app_crm (CRM) in okta',
    );
  });
});
