import { ValidationError } from '../../domain/errors.ts';
import type { DeliveryHeaders } from '../source.ts';

/** JSON.parse of a verified body, as a coded error (⇒ 400 with the reason). */
export function parseJson(rawBody: Buffer): unknown {
  try {
    return JSON.parse(rawBody.toString('utf8'));
  } catch {
    throw new ValidationError('body is not JSON');
  }
}

/**
 * A verified body as JSON or, when the vendor posts an HTML form (`application/x-www-form-urlencoded`,
 * BambooHR's "Form Post" encoding: `type=employee.updated&data[employeeId]=67890&data[changedFields][0]=status`),
 * as the same nested object: `a[b][0]=x` ⇒ `{a: {b: ["x"]}}`.
 */
export function parseBody(rawBody: Buffer, headers: DeliveryHeaders): unknown {
  const type = (headers['content-type'] ?? '').toLowerCase();
  const text = rawBody.toString('utf8');
  if (
    type.includes('application/x-www-form-urlencoded') ||
    (!type.includes('json') && /^[\w[\]%.-]+=/.test(text))
  ) {
    return parseForm(text);
  }
  return parseJson(rawBody);
}

type Tree = { [key: string]: Tree | string };

function parseForm(text: string): unknown {
  const root: Tree = {};
  for (const [key, value] of new URLSearchParams(text)) {
    const path = key.match(/^[^[\]]+|\[[^[\]]*\]/g)?.map((p) => p.replace(/^\[|\]$/g, ''));
    if (!path || path.length === 0 || path.length > 8) throw new ValidationError('unreadable form field');
    let node = root;
    path.forEach((part, i) => {
      // `__proto__` and friends never become keys.
      if (part === '__proto__' || part === 'constructor' || part === 'prototype')
        throw new ValidationError('unreadable form field');
      if (i === path.length - 1) node[part] = value;
      else {
        let next = node[part];
        if (typeof next !== 'object') {
          next = {};
          node[part] = next;
        }
        node = next;
      }
    });
  }
  return arrays(root);
}

/** Objects whose keys are 0..n-1 become arrays (`changedFields[0]`, `employees[0]`). */
function arrays(node: Tree | string): unknown {
  if (typeof node === 'string') return node;
  const keys = Object.keys(node);
  const out = Object.fromEntries(keys.map((k) => [k, arrays(node[k]!)]));
  if (keys.length > 0 && keys.every((k, i) => k === String(i))) return keys.map((k) => out[k]);
  return out;
}

export function issuesOf(error: { issues: { path: PropertyKey[]; message: string }[] }): string[] {
  return error.issues.map((i) => `${i.path.map(String).join('.') || '(body)'}: ${i.message}`);
}
