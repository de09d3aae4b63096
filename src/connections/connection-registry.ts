import { ConfigError } from '../domain/errors.ts';
import type { IdentityProvider } from '../identity/port.ts';
import { CONNECTION_ID, type Connection } from './connection.ts';
import { UnknownConnectionError } from './unknown-connection-error.ts';

/**
 * The connections this process is configured for, in the order configured. The first is the primary: it
 * keeps the queue and budget names of a single-IdP deployment, and a request or job that names no
 * connection (one made before connections existed) belongs to it.
 */
export class ConnectionRegistry {
  readonly all: readonly Connection[];
  private readonly byId: Map<string, Connection>;

  constructor(connections: readonly Connection[]) {
    if (connections.length === 0) throw new ConfigError('IDP', 'names no connection');
    this.byId = new Map();
    for (const c of connections) {
      if (!CONNECTION_ID.test(c.id))
        throw new ConfigError('CONNECTIONS_FILE', `connection id "${c.id}" must match ${CONNECTION_ID}`);
      if (this.byId.has(c.id)) throw new ConfigError('CONNECTIONS_FILE', `connection id "${c.id}" twice`);
      this.byId.set(c.id, c);
    }
    this.all = connections;
  }

  /** One connection around an adapter (a single-IdP process, a test): the primary, with the legacy names. */
  static single(idp: IdentityProvider, id = 'default'): ConnectionRegistry {
    return new ConnectionRegistry([{ id, kind: idp.name, idp, suffix: '' }]);
  }

  get primary(): Connection {
    return this.all[0]!;
  }

  get ids(): string[] {
    return this.all.map((c) => c.id);
  }

  get(id: string): Connection | undefined {
    return this.byId.get(id);
  }

  /** The connection a request or job names (none: the primary); throws when this process has no such one. */
  of(id: string | undefined): Connection {
    if (id === undefined) return this.primary;
    const c = this.byId.get(id);
    if (!c) throw new UnknownConnectionError(id, this.ids);
    return c;
  }
}
