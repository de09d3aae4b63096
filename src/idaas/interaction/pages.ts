import { escapeHtml } from '../provider/create-provider.ts';

function page(title: string, body: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body><main>${body}</main></body></html>`;
}

export function loginPage(o: { uid: string; clientName: string; login?: string; error?: string }): string {
  return page(
    'Sign in',
    `<h1>Sign in to ${escapeHtml(o.clientName)}</h1>
${o.error ? `<p class="error" role="alert">${escapeHtml(o.error)}</p>` : ''}
<form method="post" action="/interaction/${escapeHtml(o.uid)}/login">
<label>User id or email <input name="login" autocomplete="username" value="${escapeHtml(o.login ?? '')}" required></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Sign in</button>
</form>`,
  );
}

export function consentPage(o: { uid: string; clientName: string; scopes: string[] }): string {
  return page(
    'Authorize',
    `<h1>${escapeHtml(o.clientName)} asks for access</h1>
<ul>${o.scopes.map((s) => `<li>${escapeHtml(s)}</li>`).join('')}</ul>
<form method="post" action="/interaction/${escapeHtml(o.uid)}/confirm"><button type="submit">Allow</button></form>
<form method="post" action="/interaction/${escapeHtml(o.uid)}/abort"><button type="submit">Deny</button></form>`,
  );
}
