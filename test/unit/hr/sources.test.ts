import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../src/domain/errors.ts';
import { SignatureInvalidError, SignatureStaleError } from '../../../src/hr/errors.ts';
import { HrEventSchema } from '../../../src/hr/hr-event.ts';
import { HR_SOURCES } from '../../../src/hr/registry.ts';
import { type HrSource, IgnoredDelivery } from '../../../src/hr/source.ts';
import { HR_TEST_SECRETS, lower, signHrDelivery } from '../../helpers/hr-signing.ts';
import { nonEmpty } from '../../helpers/wait.ts';

const NOW = new Date('2026-06-01T12:00:00Z');
const SIX_MINUTES = 6 * 60 * 1000;

/** One realistic termination delivery per source, shaped as the vendor documents it. */
const TERMINATIONS: Record<string, unknown> = {
  standard: {
    type: 'employee.terminated',
    data: {
      employeeId: 'E123',
      email: 'alice@example.com',
      effectiveAt: '2026-12-01T00:00:00Z',
      reason: 'left',
    },
  },
  bamboohr: {
    type: 'employee.updated',
    timestamp: '2026-06-01T11:59:00+0000',
    data: { companyId: '12345', employeeId: '67890', changedFields: ['status', 'terminationDate'] },
  },
  hibob: {
    companyId: 601234,
    type: 'employee.left',
    triggeredBy: 'system',
    triggeredAt: '2026-06-01T00:00:00.000Z',
    version: 'v2',
    data: { employeeId: '3332883884017713238' },
  },
  gusto: {
    uuid: '03ffbf0c-48a9-4f1c-932a-546413a26ad1',
    event_type: 'employee.terminated',
    resource_type: 'Company',
    resource_uuid: '5df911a0-e8e9-412d-8aaf-a46ad193dd96',
    entity_type: 'Employee',
    entity_uuid: 'bcfc9744-0ab3-4ef3-ab0d-e728255d659c',
    timestamp: 1780315200,
  },
  deel: {
    data: {
      meta: {
        event_type: 'contract.terminated',
        event_type_id: 'b2a2…',
        organization_id: 'org-1',
        organization_name: 'Acme',
        tracking_id: 'trk-7f3c',
      },
      resource: { id: 'm3x9kq2', completion_date: '2026-06-01' },
    },
    timestamp: '2026-06-01T11:59:30.000Z',
  },
};

const EXPECTED: Record<string, Partial<Record<string, unknown>>> = {
  standard: {
    kind: 'terminate',
    employeeId: 'E123',
    email: 'alice@example.com',
    effectiveAt: '2026-12-01T00:00:00Z',
    eventId: 'msg_fixed',
  },
  bamboohr: { kind: 'terminate', employeeId: '67890', needsLookup: true },
  hibob: { kind: 'terminate', employeeId: '3332883884017713238', needsLookup: true },
  gusto: {
    kind: 'terminate',
    employeeId: 'bcfc9744-0ab3-4ef3-ab0d-e728255d659c',
    eventId: '03ffbf0c-48a9-4f1c-932a-546413a26ad1',
    needsLookup: true,
  },
  deel: {
    kind: 'terminate',
    employeeId: 'm3x9kq2',
    eventId: 'trk-7f3c',
    effectiveAt: '2026-06-01T00:00:00.000Z', // Deel: the contract has ended, so from the start of that day
  },
};

/** Sources that sign a timestamp get a replay window. */
const TIMESTAMPED = new Set(['standard', 'bamboohr']);

function verifyAndRead(
  source: HrSource,
  body: string,
  headers: Record<string, string>,
  now = NOW,
  secret?: string,
) {
  const rawBody = Buffer.from(body);
  source.verify({ headers: lower(headers), rawBody, secret: secret ?? HR_TEST_SECRETS[source.name]!, now });
  return source.normalise(rawBody, lower(headers));
}

describe.each(Object.keys(TERMINATIONS))('HR source %s', (name) => {
  const source = HR_SOURCES[name]!;
  const secret = HR_TEST_SECRETS[name]!;
  const body = JSON.stringify(TERMINATIONS[name]);

  it('accepts a delivery signed as the vendor signs it and normalises it', () => {
    const events = verifyAndRead(source, body, signHrDelivery(name, secret, body, NOW, 'msg_fixed'));
    expect(events).toHaveLength(1);
    expect(HrEventSchema.parse(events[0])).toMatchObject({ source: name, ...EXPECTED[name] });
  });

  it('gives the same dedupe key to a re-delivery of the same event', () => {
    const later = new Date(NOW.getTime() + 60_000);
    const a = verifyAndRead(source, body, signHrDelivery(name, secret, body, NOW, 'msg_fixed'));
    const b = verifyAndRead(source, body, signHrDelivery(name, secret, body, later, 'msg_fixed'), later);
    expect(b[0]!.eventId).toBe(a[0]!.eventId);
  });

  it('refuses a delivery signed with another secret', () => {
    const wrong =
      name === 'standard' ? `whsec_${Buffer.from('another-key-entirely').toString('base64')}` : 'wrong';
    expect(() => verifyAndRead(source, body, signHrDelivery(name, wrong, body, NOW))).toThrow(
      SignatureInvalidError,
    );
  });

  it('refuses an altered body', () => {
    const headers = signHrDelivery(name, secret, body, NOW);
    const altered = body.replace(/"(E123|67890|3332883884017713238|bcfc9744|m3x9kq2)/, '"X$1');
    expect(altered).not.toBe(body);
    expect(() => verifyAndRead(source, altered, headers)).toThrow(SignatureInvalidError);
  });

  it('refuses a delivery without a signature', () => {
    expect(() => verifyAndRead(source, body, { 'content-type': 'application/json' })).toThrow(
      SignatureInvalidError,
    );
  });

  it.runIf(TIMESTAMPED.has(name))(
    'refuses a stale or future timestamp (5-minute window, injected clock)',
    () => {
      const old = new Date(NOW.getTime() - SIX_MINUTES);
      expect(() => verifyAndRead(source, body, signHrDelivery(name, secret, body, old))).toThrow(
        SignatureStaleError,
      );
      const ahead = new Date(NOW.getTime() + SIX_MINUTES);
      expect(() => verifyAndRead(source, body, signHrDelivery(name, secret, body, ahead))).toThrow(
        SignatureStaleError,
      );
      const fine = new Date(NOW.getTime() - 4 * 60 * 1000);
      expect(() => verifyAndRead(source, body, signHrDelivery(name, secret, body, fine))).not.toThrow();
    },
  );

  it('reports a verified but malformed payload as a validation error', () => {
    for (const bad of ['{not json', JSON.stringify({ type: 42 }), JSON.stringify([1, 2])]) {
      expect(() => verifyAndRead(source, bad, signHrDelivery(name, secret, bad, NOW))).toThrow(
        ValidationError,
      );
    }
  });

  it('signs in src/hr exactly as the independent test signer does', () => {
    const mine = lower(signHrDelivery(name, secret, body, NOW, 'msg_fixed'));
    const theirs = source.sign(secret, Buffer.from(body), NOW, 'msg_fixed');
    for (const [k, v] of nonEmpty(Object.entries(theirs), 'signature header')) expect(mine[k]).toBe(v);
  });
});

describe('vendor specifics', () => {
  const sign = (name: string, body: string) =>
    signHrDelivery(name, HR_TEST_SECRETS[name]!, body, NOW, 'msg_1');

  it('standard: termination_cancelled ⇒ cancel', () => {
    const body = JSON.stringify({ type: 'employee.termination_cancelled', data: { employeeId: 'E1' } });
    expect(verifyAndRead(HR_SOURCES.standard!, body, sign('standard', body))[0]).toMatchObject({
      kind: 'cancel',
    });
  });

  it('standard: accepts any valid entry among several signatures (secret rotation)', () => {
    const body = JSON.stringify(TERMINATIONS.standard);
    const h = sign('standard', body);
    h['webhook-signature'] = `v1,AAAA ${h['webhook-signature']}`;
    expect(verifyAndRead(HR_SOURCES.standard!, body, h)).toHaveLength(1);
  });

  it('bamboohr: a change that does not touch status or termination is ignored', () => {
    const body = JSON.stringify({
      type: 'employee.updated',
      timestamp: '2026-06-01T11:59:00+0000',
      data: { employeeId: '1', changedFields: ['jobTitle'] },
    });
    expect(() => verifyAndRead(HR_SOURCES.bamboohr!, body, sign('bamboohr', body))).toThrow(IgnoredDelivery);
  });

  it('bamboohr: field-based payload with posted fields needs no lookup; batches give one event each', () => {
    const body = JSON.stringify({
      employees: [
        {
          id: '5',
          action: 'Updated',
          timestamp: '2026-06-01T11:59:00+0000',
          changedFields: ['Status'],
          fields: {
            Status: { value: 'Inactive' },
            'Work Email': 'ash@example.com',
            'Termination Date': '2026-06-30',
          },
        },
        {
          id: '6',
          action: 'Updated',
          changedFields: ['Employment Status'],
          fields: { 'Employment Status': 'Full-Time', 'Work Email': 'bo@example.com', Status: 'Active' },
        },
        { id: '7', action: 'Updated', changedFields: ['Job Title'], fields: {} },
      ],
    });
    const events = verifyAndRead(HR_SOURCES.bamboohr!, body, sign('bamboohr', body));
    expect(events).toHaveLength(2);
    expect(events[0]).toMatchObject({
      employeeId: '5',
      kind: 'terminate',
      email: 'ash@example.com',
      effectiveAt: '2026-07-01T00:00:00.000Z',
    });
    expect(events[0]!.needsLookup).toBeUndefined();
    expect(events[1]).toMatchObject({ employeeId: '6', kind: 'cancel', email: 'bo@example.com' });
  });

  it('hibob: the connection ping is verified and ignored; activated ⇒ cancel', () => {
    for (const ping of ['Ping test', '{"text":"Ping test"}']) {
      expect(() => verifyAndRead(HR_SOURCES.hibob!, ping, sign('hibob', ping))).toThrow(IgnoredDelivery);
    }
    const body = JSON.stringify({ ...(TERMINATIONS.hibob as object), type: 'employee.activated' });
    expect(verifyAndRead(HR_SOURCES.hibob!, body, sign('hibob', body))[0]).toMatchObject({ kind: 'cancel' });
  });

  it('gusto: both spellings of termination effective, cancel and rehire', () => {
    const base = TERMINATIONS.gusto as Record<string, unknown>;
    const kinds: Record<string, string> = {
      'employee.termination_effective': 'terminate',
      'employee.terminated_effective': 'terminate',
      'employee.termination_cancelled': 'cancel',
      'employee.rehired': 'cancel',
    };
    for (const [type, kind] of Object.entries(kinds)) {
      const body = JSON.stringify({ ...base, event_type: type });
      expect(verifyAndRead(HR_SOURCES.gusto!, body, sign('gusto', body))[0]).toMatchObject({ kind, type });
    }
    const other = JSON.stringify({ ...base, event_type: 'employee.updated' });
    expect(() => verifyAndRead(HR_SOURCES.gusto!, other, sign('gusto', other))).toThrow(IgnoredDelivery);
  });

  it('deel: the worker email in the resource (a Deel login, maybe personal) is never used; others ignored', () => {
    const t = TERMINATIONS.deel as { data: { meta: object; resource: object } };
    const body = JSON.stringify({
      data: { meta: t.data.meta, resource: { ...t.data.resource, worker: { email: 'dee@gmail.test' } } },
    });
    const [event] = verifyAndRead(HR_SOURCES.deel!, body, sign('deel', body));
    expect(event!.email).toBeUndefined();
    expect(event!.needsLookup).toBe(true);
    // Unrelated events, even with a list as resource, and simulations: acknowledged, ignored.
    for (const other of [
      { data: { meta: { event_type: 'contract.created' }, resource: { id: 'x' } } },
      { data: { meta: { event_type: 'timesheets.reviewed' }, resource: [{ id: 'x' }] } },
      { ...(TERMINATIONS.deel as object), is_simulation: true },
    ]) {
      const raw = JSON.stringify(other);
      expect(() => verifyAndRead(HR_SOURCES.deel!, raw, sign('deel', raw))).toThrow(IgnoredDelivery);
    }
  });
});

describe('zone-less vendor times are read on the source clock (issue 24 item 11, issue 23)', () => {
  // BambooHR shows `X-BambooHR-Timestamp` as ISO-8601; a tenant whose timestamp carries no offset means its
  // own wall time. 12:00Z is 05:00 in Los Angeles (PDT) on 2026-06-01.
  const body = JSON.stringify(TERMINATIONS.bamboohr);
  const wall = '2026-06-01T05:00:00';
  const headers = lower({
    'X-BambooHR-Timestamp': wall,
    'X-BambooHR-Signature': hmacHex(HR_TEST_SECRETS.bamboohr!, body + wall),
  });
  const source = HR_SOURCES.bamboohr!;
  const verify = (timeZone?: string) =>
    source.verify({
      headers,
      rawBody: Buffer.from(body),
      secret: HR_TEST_SECRETS.bamboohr!,
      now: NOW,
      ...(timeZone ? { timeZone } : {}),
    });

  it('a signed timestamp without an offset is the wall time in HR_BAMBOOHR_TIME_ZONE, not the server zone', () => {
    expect(() => verify('America/Los_Angeles')).not.toThrow();
    // Read in UTC the same wall time is seven hours old: outside the 5-minute window.
    expect(() => verify()).toThrow(SignatureStaleError);
    const [event] = source.normalise(Buffer.from(body), headers, {
      timeZone: 'America/Los_Angeles',
      offboardingAt: { kind: 'end-of-day' },
    });
    expect(event?.occurredAt).toBe(NOW.toISOString());
  });
});

function hmacHex(secret: string, data: string): string {
  return createHmac('sha256', secret).update(data).digest('hex');
}
