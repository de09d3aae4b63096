import { describe, expect, it } from 'vitest';
import { isSecretKey, maskSecrets, maskString, scrubStrings } from '../../../src/http/mask.ts';

describe('maskSecrets', () => {
  it('masks secret-looking keys at any depth and keeps ids and counts', () => {
    expect(
      maskSecrets({
        tokenId: 'tok_1',
        token_ids: ['tok_2'],
        access_token: 'at',
        idToken: 'it',
        clientSecret: 'cs',
        Password: 'pw',
        webhookSignature: 'sig',
        cookie: 'c=1',
        tokensRevoked: 3,
        list: [{ refreshToken: 'rt', userId: 'u_1' }],
      }),
    ).toEqual({
      tokenId: 'tok_1',
      token_ids: ['tok_2'],
      access_token: '***',
      idToken: '***',
      clientSecret: '***',
      Password: '***',
      webhookSignature: '***',
      cookie: '***',
      tokensRevoked: 3,
      list: [{ refreshToken: '***', userId: 'u_1' }],
    });
  });

  it('masks whole objects under secret keys, and emails anywhere', () => {
    expect(maskSecrets({ credentials: { user: 'x' }, note: 'mail a.b@c.example now', email: null })).toEqual({
      credentials: '***',
      note: 'mail *** now',
      email: null,
    });
  });

  it('leaves non-objects alone and does not mutate its input', () => {
    const input = { secret: 's' };
    maskSecrets(input);
    expect(input).toEqual({ secret: 's' });
    expect(maskSecrets(42)).toBe(42);
    expect(maskSecrets(undefined)).toBeUndefined();
  });
});

describe('maskString / scrubStrings', () => {
  it('scrubs JWTs and bearer credentials out of free text', () => {
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.c2lnbmF0dXJl';
    expect(maskString(`failed with ${jwt}`)).toBe('failed with ***');
    expect(maskString('Authorization: Bearer abc.def-ghi')).toBe('Authorization: Bearer ***');
  });

  it('scrubStrings keeps keys (so dashboard responses stay usable)', () => {
    expect(scrubStrings({ token: 'plain', logs: ['sent to x@y.example'] })).toEqual({
      token: 'plain',
      logs: ['sent to ***'],
    });
  });

  it('isSecretKey', () => {
    expect(isSecretKey('refresh_token')).toBe(true);
    expect(isSecretKey('tokenId')).toBe(false);
    expect(isSecretKey('applicationId')).toBe(false);
  });
});
