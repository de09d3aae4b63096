import { createHmac } from 'node:crypto';

/**
 * Signs HR deliveries the way each vendor documents it, written independently of src/hr so the tests
 * check the verifiers against the vendors' schemes rather than against themselves.
 */
export function signHrDelivery(
  source: string,
  secret: string,
  body: string,
  now: Date = new Date(),
  deliveryId = `msg_${now.getTime()}_${Math.random().toString(36).slice(2, 8)}`,
): Record<string, string> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  switch (source) {
    case 'standard': {
      // whsec_<base64 key>; HMAC-SHA256 over "id.timestamp.body", base64, "v1," prefix.
      const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
      const ts = String(Math.floor(now.getTime() / 1000));
      const sig = createHmac('sha256', key).update(`${deliveryId}.${ts}.${body}`).digest('base64');
      return {
        ...headers,
        'webhook-id': deliveryId,
        'webhook-timestamp': ts,
        'webhook-signature': `v1,${sig}`,
      };
    }
    case 'bamboohr': {
      const ts = now.toISOString().replace(/\.\d{3}Z$/, '+0000');
      const sig = createHmac('sha256', secret)
        .update(body + ts)
        .digest('hex');
      return { ...headers, 'X-BambooHR-Timestamp': ts, 'X-BambooHR-Signature': sig };
    }
    case 'hibob':
      return { ...headers, 'Bob-Signature': createHmac('sha512', secret).update(body).digest('base64') };
    case 'gusto':
      return { ...headers, 'X-Gusto-Signature': createHmac('sha256', secret).update(body).digest('hex') };
    case 'deel':
      return {
        ...headers,
        'x-deel-signature': createHmac('sha256', secret).update(`POST${body}`).digest('hex'),
      };
    default:
      throw new Error(`no signer for ${source}`);
  }
}

/** Lower-cases header names, as node hands them to the verifiers. */
export function lower(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}

export const HR_TEST_SECRETS: Record<string, string> = {
  standard: `whsec_${Buffer.from('standard-webhooks-test-key-0123456789').toString('base64')}`,
  bamboohr: 'bamboo-private-key',
  hibob: 'hibob-secret',
  gusto: 'gusto-verification-token',
  deel: 'deel-signing-key',
};

/**
 * POSTs an HR delivery to a running Revoker (`baseUrl`) at `/webhooks/hr/:source`, signed as `source`'s
 * vendor signs it unless `headers` are given. Returns the status and the JSON answer.
 */
export async function deliverHr(
  baseUrl: string,
  source: string,
  body: string,
  headers: Record<string, string> = signHrDelivery(source, HR_TEST_SECRETS[source]!, body),
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${baseUrl}/webhooks/hr/${source}`, { method: 'POST', headers, body });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
}
