import { describe, expect, it } from 'vitest';
import { parseRevokeCommand } from '../../../src/slack/commands/parse-revoke-command.ts';

describe('parseRevokeCommand', () => {
  it.each([
    ['', { kind: 'modal' }],
    ['help', { kind: 'help' }],
    ['token tok_1 alice@example.com', { kind: 'token', tokenId: 'tok_1', user: 'alice@example.com' }],
    ['user <mailto:a@b.c|a@b.c>', { kind: 'user', ref: 'a@b.c' }],
    ['  user   usr_1 ', { kind: 'user', ref: 'usr_1' }],
    ['app CRM', { kind: 'application', ref: 'CRM' }],
    [
      'api https://api.example.com/billing',
      { kind: 'resourceServer', ref: 'https://api.example.com/billing' },
    ],
    ['status req_123', { kind: 'status', requestId: 'req_123' }],
  ])('%j', (text, expected) => {
    expect(parseRevokeCommand(text)).toEqual(expected);
  });

  it('refuses wrong arity and unknown verbs', () => {
    expect(parseRevokeCommand('token tok_1').kind).toBe('invalid');
    expect(parseRevokeCommand('user a b').kind).toBe('invalid');
    expect(parseRevokeCommand('explode now')).toMatchObject({
      kind: 'invalid',
      message: expect.stringContaining('explode'),
    });
  });
});
