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

  it('leaked opens the dialog, and never echoes what followed or a token-like verb', () => {
    const token = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl';
    expect(parseRevokeCommand('leaked')).toEqual({ kind: 'leaked', ignored: false });
    expect(parseRevokeCommand(`leaked ${token}`)).toEqual({ kind: 'leaked', ignored: true });
    const pasted = parseRevokeCommand(token);
    expect(pasted.kind).toBe('invalid');
    expect(JSON.stringify(pasted)).not.toContain(token.slice(0, 8));
  });
});
