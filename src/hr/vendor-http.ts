import axios, { type AxiosRequestConfig } from 'axios';
import type { z } from 'zod';
import { VendorLookupError } from './errors.ts';

/**
 * One call to an HR vendor's API, its answer validated with `schema`. Failures become
 * `VendorLookupError`, retryable for 5xx / 429 / network faults and 401 / 403. Never logs bodies or credentials.
 */
export async function vendorRequest<T extends z.ZodType>(
  vendor: string,
  request: AxiosRequestConfig,
  schema: T,
): Promise<z.infer<T>> {
  let data: unknown;
  try {
    const res = await axios.request({ ...request, validateStatus: () => true, responseType: 'json' });
    if (res.status === 429 || res.status >= 500) {
      throw new VendorLookupError(`${vendor} API answered ${res.status}`, true, res.status);
    }
    if (res.status === 401 || res.status === 403) {
      // Expired or wrong credentials: audited and announced by the processor, retried (an operator may
      // fix them while the vendor's redelivery span lasts).
      throw new VendorLookupError(`${vendor} API refused the credentials (${res.status})`, true, res.status);
    }
    if (res.status < 200 || res.status >= 300) {
      throw new VendorLookupError(`${vendor} API answered ${res.status}`, false, res.status);
    }
    data = res.data;
  } catch (err) {
    if (err instanceof VendorLookupError) throw err;
    throw new VendorLookupError(`${vendor} API unreachable: ${(err as Error).message}`, true);
  }
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    throw new VendorLookupError(`${vendor} API answer unreadable: ${parsed.error.issues[0]?.message}`, false);
  }
  return parsed.data;
}
