import type { SetupServer } from 'msw/node';

/**
 * One vendor operation an adapter uses, as the vendor documents it. The adapter tests hold a table of these
 * (with the reference each row was read from) and every request the adapter makes is checked against it.
 */
export interface VendorOperation {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path template below the base, `{name}` matching one segment: `/api/v1/users/{userId}/sessions`. */
  path: string;
  /** Query parameters the vendor documents for it (`!` suffix: required). Others are refused. */
  query?: readonly string[];
  /** The permission / OAuth scope / role the vendor requires for it. */
  permission: string;
  /** How the vendor pages it (or `none`). */
  pagination: string;
  /** How the vendor signals a rate limit on it. */
  rateLimit: string;
  /** The vendor reference the row was read from. */
  source: string;
  /** Documented values of query parameters (a documented limit such as Okta `limit` ≤ 200, an enum). Optional. */
  values?: Readonly<Record<string, RegExp>>;
  /** Headers the vendor requires (lower-case names), with the form of their values. Optional. */
  headers?: Readonly<Record<string, RegExp>>;
  /** The body: `none` (the vendor documents none), or a check that says why a body is wrong. Optional. */
  body?: 'none' | ((body: string) => string | undefined);
}

/** What of a request, besides method and URL, the contract can check. */
export interface ContractRequest {
  headers?: Headers;
  body?: string;
}

export type VendorContract = Record<string, readonly VendorOperation[]>;

/** Why a request is not in the contract, or undefined when it is. */
export function undocumented(
  contract: VendorContract,
  method: string,
  url: string,
  request: ContractRequest = {},
): string | undefined {
  const u = new URL(url);
  const what = `${method} ${u.origin}${u.pathname}${u.search}`;
  const base = Object.keys(contract)
    .filter((b) => `${u.origin}${u.pathname}`.startsWith(b.replace(/\/+$/, '')))
    .sort((a, b) => b.length - a.length)[0];
  if (base === undefined) return `${what}: no documented base`;
  const basePath = new URL(base).pathname.replace(/\/+$/, '');
  const rel = decodeURIComponent(u.pathname.slice(basePath.length)) || '/';
  const rows = contract[base]!.filter((r) => r.method === method && matches(r.path, rel));
  if (rows.length === 0) return `${what}: undocumented operation`;
  const keys = [...new Set(u.searchParams.keys())];
  const whys: string[] = [];
  for (const row of rows) {
    const allowed = new Set((row.query ?? []).map((q) => q.replace(/!$/, '')));
    const required = (row.query ?? []).filter((q) => q.endsWith('!')).map((q) => q.slice(0, -1));
    if (!keys.every((k) => allowed.has(k)) || !required.every((k) => u.searchParams.has(k))) continue;
    const why =
      valuesWhy(row, u.searchParams) ?? headersWhy(row, request.headers) ?? bodyWhy(row, request.body);
    if (why === undefined) return undefined;
    whys.push(why);
  }
  if (whys.length > 0) return `${what}: ${whys[0]}`;
  const allowed = rows.flatMap((r) => r.query ?? []);
  return `${what}: parameters [${keys.join(', ')}] not as documented [${allowed.join(', ')}]`;
}

function valuesWhy(row: VendorOperation, params: URLSearchParams): string | undefined {
  for (const [name, form] of Object.entries(row.values ?? {})) {
    for (const v of params.getAll(name))
      if (!form.test(v)) return `${name}=${v} is not a documented value (${form})`;
  }
  return undefined;
}

function headersWhy(row: VendorOperation, headers: Headers | undefined): string | undefined {
  if (!headers) return undefined;
  for (const [name, form] of Object.entries(row.headers ?? {})) {
    const v = headers.get(name);
    // Never echo a credential: name the header only.
    if (v === null || !form.test(v)) return `header ${name} missing or not as documented`;
  }
  return undefined;
}

function bodyWhy(row: VendorOperation, body: string | undefined): string | undefined {
  if (body === undefined || row.body === undefined) return undefined;
  if (row.body === 'none') return body === '' ? undefined : 'a body the vendor does not document';
  return row.body(body);
}

/** `{name}` matches a non-empty part of one segment (also inside one: `/servicePrincipals(appId='{appId}')`). */
function matches(template: string, path: string): boolean {
  const pattern = template
    .split(/(\{[^}]+\})/)
    .map((part) => (/^\{.+\}$/.test(part) ? '[^/]+' : part.replace(/[.*+?^$()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${pattern}$`).test(path);
}

/**
 * Checks every request the msw server sees against `contract`; `violations` collects the undocumented ones.
 * A test file asserts `violations` is empty after each test, so an undocumented call fails the test.
 */
export function guardContract(server: SetupServer, contract: VendorContract): { violations: string[] } {
  const violations: string[] = [];
  server.events.on('request:start', async ({ request }) => {
    const body = await request.clone().text();
    const why = undocumented(contract, request.method, request.url, { headers: request.headers, body });
    if (why) violations.push(why);
  });
  return { violations };
}
