import { CookieJar } from '../../src/idaas/cookie-jar.ts';

/** Where a browser ends up after following redirects. */
export type Landing =
  | { kind: 'callback'; url: URL }
  | { kind: 'login'; action: string; status: number; html: string }
  | { kind: 'consent'; action: string }
  | { kind: 'error'; status: number; html: string };

/**
 * A user's browser against the embedded IDaaS: one cookie jar that outlives each authorization (so the
 * sign-in session does too), manual redirects, and the login and consent forms as a person fills them.
 */
export class OidcBrowser {
  readonly #jar = new CookieJar();

  /** Opens `url` and follows redirects until the app's `redirectUri` or a page. */
  async open(url: string, redirectUri: string): Promise<Landing> {
    return this.#follow(await this.#request(url), redirectUri);
  }

  /** Submits the login form of a `login` landing. */
  async login(page: Landing, login: string, password: string, redirectUri: string): Promise<Landing> {
    if (page.kind !== 'login') throw new Error(`expected the login page, got ${describe(page)}`);
    return this.#follow(await this.#post(page.action, { login, password }), redirectUri);
  }

  /** Submits the consent form of a `consent` landing. */
  async consent(page: Landing, redirectUri: string): Promise<Landing> {
    if (page.kind !== 'consent') throw new Error(`expected the consent page, got ${describe(page)}`);
    return this.#follow(await this.#post(page.action, {}), redirectUri);
  }

  async #follow(first: Response, redirectUri: string): Promise<Landing> {
    let res = first;
    for (let hop = 0; hop < 20; hop++) {
      if (res.status >= 300 && res.status < 400) {
        const location = new URL(res.headers.get('location') ?? '', res.url);
        await res.arrayBuffer();
        if (location.href.startsWith(redirectUri)) return { kind: 'callback', url: location };
        res = await this.#request(location.href);
        continue;
      }
      const html = await res.text();
      const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1]?.replaceAll('&amp;', '&');
      if (action?.endsWith('/login')) {
        return { kind: 'login', action: new URL(action, res.url).href, status: res.status, html };
      }
      if (action?.endsWith('/confirm') && res.ok)
        return { kind: 'consent', action: new URL(action, res.url).href };
      return { kind: 'error', status: res.status, html };
    }
    throw new Error('too many redirects');
  }

  async #request(url: string, init: RequestInit = {}): Promise<Response> {
    const res = await fetch(url, {
      ...init,
      redirect: 'manual',
      headers: { ...(init.headers as Record<string, string>), cookie: this.#jar.header() },
    });
    this.#jar.store(res);
    return res;
  }

  #post(url: string, form: Record<string, string>): Promise<Response> {
    return this.#request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form),
    });
  }
}

export function describe(page: Landing): string {
  return page.kind === 'callback' ? `callback ${page.url.search}` : `${page.kind} page`;
}
