import { type HttpHandler, HttpResponse, http, passthrough } from 'msw';

/**
 * Stand-ins for the HR vendors' APIs that the sources call for id-only deliveries, refusing what the
 * vendors refuse, as they answer it (documentation cited beside each rule). Used with msw's
 * `onUnhandledFrame: 'error'`: any other host fails the request at once, and an unknown path on a
 * vendor's host gets that vendor's 404, so a wrong request fails a test in seconds, not at a timeout.
 */

export interface VendorApiUrls {
  bamboohr: string;
  hibob: string;
  gusto: string;
  deel: string;
}

export interface VendorCredentials {
  BAMBOOHR_API_KEY: string;
  HIBOB_API_USER: string;
  HIBOB_API_TOKEN: string;
  GUSTO_API_TOKEN: string;
  DEEL_API_TOKEN: string;
}

/** One termination as Gusto keeps it (docs.gusto.com/embedded-payroll/reference/get-v1-employees-employee_id-terminations). */
export interface VendorTermination {
  /** The last day of work, `YYYY-MM-DD`. */
  effectiveDate: string;
}

/**
 * The HR vendor's record of an employee (or contractor), as its API answers look-ups. Stateful: the
 * helpers below (terminate, rehire, leave) change it as the vendor's UI would.
 */
export interface VendorEmployee {
  employeeId: string;
  /** The work email. */
  email: string;
  /** The personal address vendors also keep (Gusto `email`, Deel worker login): never the IdP account. */
  personalEmail?: string;
  /** Last day worked, `YYYY-MM-DD` (the current termination); a past day means the employee has left. */
  lastDay?: string;
  /** Gusto: every termination ever recorded (a rehire keeps the old ones). Default: from `lastDay`. */
  terminations?: VendorTermination[];
  /** Rehired after the terminations so far: Active again (BambooHR keeps the old terminationDate). */
  rehired?: boolean;
  /** HiBob: on leave (parental, sick…), not terminated. */
  onLeave?: boolean;
  /** Gusto: a contractor (GET /v1/contractors/{uuid}), not an employee. */
  contractor?: boolean;
}

export type Vendor = keyof VendorApiUrls;

/** Where the tests' vendor APIs live and the credentials they accept (configure the service with both). */
export const TEST_VENDOR_URLS: VendorApiUrls = {
  bamboohr: 'https://bamboo.vendor.test/api/gateway.php/acme',
  hibob: 'https://hibob.vendor.test',
  gusto: 'https://gusto.vendor.test',
  deel: 'https://deel.vendor.test/rest/v2',
};
export const TEST_VENDOR_CREDENTIALS: VendorCredentials = {
  BAMBOOHR_API_KEY: 'bamboo-api-key',
  HIBOB_API_USER: 'SERVICE-1234',
  HIBOB_API_TOKEN: 'hibob-service-token',
  GUSTO_API_TOKEN: 'gusto-company-token',
  DEEL_API_TOKEN: 'deel-org-token',
};

/** One request a stand-in answered: what was asked and how it was answered. */
export interface VendorCall {
  vendor: Vendor;
  employeeId: string | undefined;
  status: number;
  /** Why a request was refused (absent when answered 200). */
  refused?: string;
}

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/**
 * BambooHR fields the stand-in knows (https://documentation.bamboohr.com/docs/list-of-field-names);
 * referencing another is refused with 406 "The request contains references to non-existent fields"
 * (https://documentation.bamboohr.com/docs/api-details, Standard HTTP Responses).
 */
const BAMBOOHR_FIELDS = new Set([
  'id',
  'firstName',
  'lastName',
  'displayName',
  'workEmail',
  'homeEmail',
  'bestEmail',
  'status',
  'employmentHistoryStatus',
  'hireDate',
  'terminationDate',
  'jobTitle',
  'department',
]);

/** HiBob fields, by path (https://apidocs.hibob.com/docs/people-read-api-contract, field IDs). */
const HIBOB_FIELDS: Record<string, (e: VendorEmployee) => string> = {
  'root.id': (e) => e.employeeId,
  // `root.email` is the work email; the personal one is `home.privateEmail`.
  'root.email': (e) => e.email,
  'root.displayName': (e) => e.email.split('@')[0]!,
  'home.privateEmail': (e) => e.personalEmail ?? `${e.email.split('@')[0]}@home.test`,
  // The lifecycle status tells a leave from a termination (employee.inactivated covers both).
  'internal.lifecycleStatus': (e) =>
    e.lastDay !== undefined && !e.rehired ? 'Terminated' : e.onLeave ? 'Leave' : 'Employed',
};

/** `{"internal.lifecycleStatus": v}` ⇒ `{internal: {lifecycleStatus: v}}`, as Bob's answers nest fields. */
function nest(flat: Record<string, string>): Record<string, unknown> {
  const out: Record<string, Record<string, unknown> | string> = {};
  for (const [path, v] of Object.entries(flat)) {
    const [head, ...rest] = path.split('.');
    if (head === 'root' || rest.length === 0) out[rest.length ? rest.join('.') : head!] = v;
    else {
      const inner = (out[head!] ?? {}) as Record<string, unknown>;
      inner[rest.join('.')] = v;
      out[head!] = inner;
    }
  }
  return out;
}

function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Gusto's OAuth state: company access tokens expire 2 hours after issue; refresh tokens are single-use. */
interface GustoToken {
  expiresAt: number;
}

export class HrVendorApis {
  /** `${vendor}:${employeeId}` → the employee. */
  readonly directory = new Map<string, VendorEmployee>();
  readonly calls: VendorCall[] = [];
  /** Gusto access tokens by value; the configured GUSTO_API_TOKEN is one issued "now". */
  private readonly gustoAccess = new Map<string, GustoToken>();
  /** Gusto refresh tokens still exchangeable. */
  private readonly gustoRefresh = new Set<string>();
  /** Milliseconds added to the real clock for Gusto token expiry (`passTime`). */
  private skewMs = 0;
  /** Gusto OAuth application credentials (developer portal). */
  readonly gustoClient = { id: 'gusto-client-id', secret: 'gusto-client-secret' };
  /** Answer Gusto look-ups with this status instead (an outage). */
  gustoOutage: number | undefined;

  constructor(
    readonly urls: VendorApiUrls,
    readonly creds: VendorCredentials,
    private readonly today: () => string = () => new Date().toISOString().slice(0, 10),
  ) {}

  add(vendor: Vendor, e: VendorEmployee): void {
    this.directory.set(`${vendor}:${e.employeeId}`, e);
  }

  /** Records a termination with `lastDay` (past: in effect; future: pending) on the vendor's record. */
  terminate(vendor: Vendor, employeeId: string, lastDay: string): void {
    const e = this.find(vendor, employeeId)!;
    const history = e.terminations ?? (e.lastDay ? [{ effectiveDate: e.lastDay }] : []);
    e.terminations = [...history, { effectiveDate: lastDay }];
    e.lastDay = lastDay;
    e.rehired = false;
  }

  /** Rehired: active again; BambooHR and Gusto keep the old termination on file. */
  rehire(vendor: Vendor, employeeId: string): void {
    const e = this.find(vendor, employeeId)!;
    e.terminations = e.terminations ?? (e.lastDay ? [{ effectiveDate: e.lastDay }] : []);
    e.rehired = true;
  }

  /** Gusto: the pair a company connection starts with (`expires_in` 7200). */
  issueGustoTokens(): { access_token: string; refresh_token: string; expires_in: number } {
    const access = `gat_${Math.random().toString(36).slice(2)}`;
    const refresh = `grt_${Math.random().toString(36).slice(2)}`;
    this.gustoAccess.set(access, { expiresAt: this.now() + 7_200_000 });
    this.gustoRefresh.add(refresh);
    return { access_token: access, refresh_token: refresh, expires_in: 7200 };
  }

  /** Moves Gusto's clock on (e.g. past the 2-hour token lifetime). */
  passTime(ms: number): void {
    this.skewMs += ms;
  }

  private now(): number {
    return Date.now() + this.skewMs;
  }

  /** Whether `auth` carries a Gusto access token that is still valid. */
  private gustoAuthorised(auth: string | null): boolean {
    const token = auth?.startsWith('Bearer ') ? auth.slice(7) : undefined;
    if (!token) return false;
    // The configured static token counts as issued when the simulator was made.
    if (token === this.creds.GUSTO_API_TOKEN && !this.gustoAccess.has(token))
      this.gustoAccess.set(token, { expiresAt: Date.now() + 7_200_000 });
    const t = this.gustoAccess.get(token);
    return t !== undefined && t.expiresAt > this.now();
  }

  /** Calls answered 200 for `vendor` about `employeeId`. */
  answered(vendor: Vendor, employeeId?: string): VendorCall[] {
    return this.calls.filter(
      (c) =>
        c.vendor === vendor && c.status === 200 && (employeeId === undefined || c.employeeId === employeeId),
    );
  }

  private find(vendor: Vendor, id: string): VendorEmployee | undefined {
    return this.directory.get(`${vendor}:${id}`);
  }

  private left(e: VendorEmployee): boolean {
    return e.lastDay !== undefined && e.lastDay < this.today();
  }

  private refuse(
    vendor: Vendor,
    employeeId: string | undefined,
    status: number,
    why: string,
    body?: unknown,
  ) {
    this.calls.push({ vendor, employeeId, status, refused: why });
    return body === undefined
      ? new HttpResponse(null, { status })
      : HttpResponse.json(body as Record<string, unknown>, { status });
  }

  private answer(vendor: Vendor, employeeId: string | undefined, body: Record<string, unknown>) {
    this.calls.push({ vendor, employeeId, status: 200 });
    return HttpResponse.json(body);
  }

  handlers(): HttpHandler[] {
    const { urls, creds } = this;
    return [
      // Revoker's own HTTP server and the embedded IDaaS run on loopback: real traffic, not vendors.
      http.all(/^https?:\/\/(127\.0\.0\.1|localhost)(:\d+)?\//, () => passthrough()),

      // BambooHR — GET {base}/v1/employees/{id}?fields=a,b (https://documentation.bamboohr.com/reference/get-employee).
      http.get(`${urls.bamboohr}/v1/employees/:id`, ({ request, params }) => {
        const id = String(params.id);
        // API keys go over HTTP Basic, key as user, any password (https://documentation.bamboohr.com/docs/getting-started).
        const auth = request.headers.get('authorization') ?? '';
        if (
          !auth.startsWith('Basic ') ||
          Buffer.from(auth.slice(6), 'base64').toString().split(':')[0] !== creds.BAMBOOHR_API_KEY
        )
          return this.refuse('bamboohr', id, 401, 'API key missing or wrong');
        // `fields` is required: the API answers only the fields asked for (get-employee reference).
        const asked = (new URL(request.url).searchParams.get('fields') ?? '').split(',').filter(Boolean);
        if (asked.length === 0) return this.refuse('bamboohr', id, 400, 'no fields asked');
        const unknown = asked.filter((f) => !BAMBOOHR_FIELDS.has(f));
        if (unknown.length)
          return this.refuse('bamboohr', id, 406, `non-existent fields ${unknown.join(',')}`);
        const e = this.find('bamboohr', id);
        if (!e) return this.refuse('bamboohr', id, 404, 'no such employee');
        // An employee with a last day is terminated; BambooHR writes an unset date as 0000-00-00.
        // A rehire makes the employee Active again; whether the old terminationDate is cleared is
        // undocumented, so the stand-in keeps it (the worst case for a reader that trusts the date).
        const terminated = e.lastDay !== undefined && !e.rehired;
        const record: Record<string, string> = {
          workEmail: e.email,
          homeEmail: e.personalEmail ?? `${e.email.split('@')[0]}@home.test`,
          status: terminated ? 'Inactive' : 'Active',
          employmentHistoryStatus: terminated ? 'Terminated' : 'Full-Time',
          terminationDate: e.lastDay ?? '0000-00-00',
          firstName: e.email.split('@')[0]!,
        };
        const fields = Object.fromEntries(asked.filter((f) => f !== 'id').map((f) => [f, record[f] ?? null]));
        // "XML is the default. To request JSON data, set the HTTP header Accept to application/json"
        // (bamboohr.com/api/documentation/employees.php, as quoted in BambooHR/bhr-api-php#13).
        if (!(request.headers.get('accept') ?? '').includes('application/json')) {
          this.calls.push({
            vendor: 'bamboohr',
            employeeId: id,
            status: 200,
            refused: 'XML (no Accept: application/json)',
          });
          const xml = `<?xml version="1.0"?>\n<employee id="${escapeXml(e.employeeId)}">${Object.entries(
            fields,
          )
            .map(([k, v]) => `<field id="${k}">${escapeXml(v ?? '')}</field>`)
            .join('')}</employee>`;
          return new HttpResponse(xml, {
            status: 200,
            headers: { 'content-type': 'text/xml; charset=utf-8' },
          });
        }
        return this.answer('bamboohr', id, { id: e.employeeId, ...fields });
      }),
      // Any other path under the company's gateway: "Either the URL given is not a valid API or the ID …
      // is invalid" ⇒ 404 (https://documentation.bamboohr.com/docs/api-details).
      http.all(`${urls.bamboohr}/*`, () =>
        this.refuse('bamboohr', undefined, 404, 'not a BambooHR API path'),
      ),

      // HiBob — POST /v1/people/search {fields, filters, showInactive}
      // (https://apidocs.hibob.com/reference/post_people-search, https://apidocs.hibob.com/docs/people-read-api-contract).
      http.post(`${urls.hibob}/v1/people/search`, async ({ request }) => {
        // Service users authenticate with Basic id:token (https://apidocs.hibob.com/docs/api-service-users).
        if (request.headers.get('authorization') !== basic(creds.HIBOB_API_USER, creds.HIBOB_API_TOKEN))
          return this.refuse('hibob', undefined, 401, 'service user missing or wrong');
        let body: { fields?: unknown; filters?: unknown; showInactive?: unknown };
        try {
          body = (await request.json()) as typeof body;
        } catch {
          return this.refuse('hibob', undefined, 400, 'body is not JSON', { error: 'Bad Request' });
        }
        const filters = Array.isArray(body.filters) ? body.filters : body.filters === undefined ? [] : null;
        if (filters === null) return this.refuse('hibob', undefined, 400, 'filters is not an array');
        // Each filter: {fieldPath, operator: "equals", values: [...]}; every filter applies (AND), any of
        // its values matches (OR); `equals` is the documented operator.
        const predicates: ((e: VendorEmployee) => boolean)[] = [];
        for (const f of filters as { fieldPath?: unknown; operator?: unknown; values?: unknown }[]) {
          const read = typeof f.fieldPath === 'string' ? HIBOB_FIELDS[f.fieldPath] : undefined;
          if (!read || f.operator !== 'equals' || !Array.isArray(f.values) || f.values.length === 0)
            return this.refuse('hibob', undefined, 400, `unsupported filter ${JSON.stringify(f)}`, {
              error: 'Bad Request',
            });
          const values = new Set(f.values.map(String));
          predicates.push((e) => values.has(read(e)));
        }
        const asked = Array.isArray(body.fields) ? body.fields.map(String) : Object.keys(HIBOB_FIELDS);
        // showInactive defaults to false: former employees are left out unless asked for.
        const employees = [...this.directory.entries()]
          .filter(([k]) => k.startsWith('hibob:'))
          .map(([, e]) => e)
          .filter((e) => body.showInactive === true || !this.left(e))
          .filter((e) => predicates.every((p) => p(e)))
          // Unknown or unpermitted fields are silently omitted, not refused (people-read-api-contract).
          .map((e) =>
            nest(
              Object.fromEntries(asked.filter((p) => HIBOB_FIELDS[p]).map((p) => [p, HIBOB_FIELDS[p]!(e)])),
            ),
          );
        const ids = employees.map((e) => e.id).filter(Boolean);
        return this.answer('hibob', ids.length === 1 ? String(ids[0]) : undefined, { employees });
      }),
      http.all(`${urls.hibob}/*`, () => this.refuse('hibob', undefined, 404, 'not a HiBob API path')),

      // Gusto — POST /oauth/token with the refresh token: a new pair; the refresh token is single-use
      // (docs.gusto.com/embedded-payroll/docs/company-access-tokens; reference refresh-access-token).
      http.post(`${urls.gusto}/oauth/token`, async ({ request }) => {
        const body = (await request.json().catch(() => ({}))) as Record<string, unknown>;
        if (body.client_id !== this.gustoClient.id || body.client_secret !== this.gustoClient.secret)
          return this.refuse('gusto', undefined, 401, 'wrong client', { error: 'invalid_client' });
        if (body.grant_type !== 'refresh_token' || typeof body.refresh_token !== 'string')
          return this.refuse('gusto', undefined, 400, 'not a refresh', { error: 'invalid_request' });
        if (!this.gustoRefresh.delete(body.refresh_token))
          return this.refuse('gusto', undefined, 400, 'refresh token used or revoked', {
            error: 'invalid_grant',
          });
        return this.answer('gusto', undefined, { ...this.issueGustoTokens(), token_type: 'bearer' });
      }),

      // Gusto — GET /v1/employees/{uuid}, Bearer company access token, which expires 2 hours after issue
      // ("If an access token is expired you will receive 401 Unauthorized errors", company-access-tokens)
      // (https://docs.gusto.com/embedded-payroll/reference/get-v1-employees).
      http.get(`${urls.gusto}/v1/employees/:id`, ({ request, params }) => {
        const id = String(params.id);
        if (this.gustoOutage) return this.refuse('gusto', id, this.gustoOutage, 'outage');
        if (!this.gustoAuthorised(request.headers.get('authorization')))
          return this.refuse('gusto', id, 401, 'token missing, wrong or expired');
        const e = this.find('gusto', id);
        if (!e || e.contractor) return this.refuse('gusto', id, 404, 'no such employee');
        const today = this.today();
        const history = e.terminations ?? (e.lastDay ? [{ effectiveDate: e.lastDay }] : []);
        // `active`: "whether the termination has gone into effect" — after its last day
        // (https://docs.gusto.com/embedded-payroll/reference/get-v1-employees-employee_id-terminations).
        const terminations = history.map((t, i) => ({
          uuid: `term-${e.employeeId}-${i}`,
          version: '1',
          employee_uuid: e.employeeId,
          active: t.effectiveDate < today,
          cancelable: t.effectiveDate >= today,
          effective_date: t.effectiveDate,
          run_termination_payroll: false,
        }));
        return this.answer('gusto', id, {
          uuid: e.employeeId,
          first_name: e.email.split('@')[0],
          last_name: 'Example',
          // `email` is the personal address; `work_email` the work one.
          email: e.personalEmail ?? `${e.email.split('@')[0]}.home@personal.test`,
          work_email: e.email,
          terminated: !e.rehired && terminations.some((t) => t.active),
          terminations,
        });
      }),
      // Gusto — GET /v1/contractors/{uuid}: `email` (sign-up, often personal), `work_email`, `is_active`
      // (https://docs.gusto.com/embedded-payroll/reference/get-v1-contractors-contractor_uuid,
      // changelog "Added work_email read and write for contractors").
      http.get(`${urls.gusto}/v1/contractors/:id`, ({ request, params }) => {
        const id = String(params.id);
        if (!this.gustoAuthorised(request.headers.get('authorization')))
          return this.refuse('gusto', id, 401, 'token missing, wrong or expired');
        const e = this.find('gusto', id);
        if (!e?.contractor) return this.refuse('gusto', id, 404, 'no such contractor');
        const dismissed = e.lastDay !== undefined && !e.rehired;
        return this.answer('gusto', id, {
          uuid: e.employeeId,
          type: 'Individual',
          email: e.personalEmail ?? `${e.email.split('@')[0]}.home@personal.test`,
          work_email: e.email,
          is_active: !(dismissed && e.lastDay! < this.today()),
          dismissal_date: dismissed ? e.lastDay : null,
        });
      }),
      http.all(`${urls.gusto}/*`, () => this.refuse('gusto', undefined, 404, 'not a Gusto API path')),

      // Deel — GET /rest/v2/contracts/{id}, Bearer token (https://developer.deel.com/reference/getcontract):
      // the worker's `email` is the address they sign in to Deel with (often personal).
      http.get(`${urls.deel}/contracts/:id`, ({ request, params }) => {
        const id = String(params.id);
        if (request.headers.get('authorization') !== `Bearer ${creds.DEEL_API_TOKEN}`)
          return this.refuse('deel', id, 401, 'token missing or wrong');
        const e = this.find('deel', id);
        if (!e) return this.refuse('deel', id, 404, 'no such contract');
        return this.answer('deel', id, {
          data: {
            id: e.employeeId,
            title: 'Contractor',
            type: 'ongoing_time_based',
            status: 'terminated',
            termination_date: e.lastDay,
            worker: {
              id: `w-${e.employeeId}`,
              first_name: e.email.split('@')[0],
              email: e.personalEmail ?? `${e.email.split('@')[0]}@gmail.test`,
            },
          },
        });
      }),
      // Deel — GET /rest/v2/people/{worker_id}: `work_email` and typed `emails`
      // (https://developer.deel.com/reference/getpeoplebyid).
      http.get(`${urls.deel}/people/:id`, ({ request, params }) => {
        const id = String(params.id);
        if (request.headers.get('authorization') !== `Bearer ${creds.DEEL_API_TOKEN}`)
          return this.refuse('deel', id, 401, 'token missing or wrong');
        const e = this.find('deel', id.replace(/^w-/, ''));
        if (!e) return this.refuse('deel', id, 404, 'no such person');
        const personal = e.personalEmail ?? `${e.email.split('@')[0]}@gmail.test`;
        return this.answer('deel', e.employeeId, {
          data: {
            id,
            work_email: e.email,
            emails: [
              { type: 'work', value: e.email },
              { type: 'personal', value: personal },
            ],
          },
        });
      }),
      http.all(`${urls.deel}/*`, () => this.refuse('deel', undefined, 404, 'not a Deel API path')),
    ];
  }
}
