import type { AdminApplication, AdminResourceServer } from '../admin-contract.ts';
import type { SeedApplication, SeedResourceServer } from '../seed/seed-schema.ts';

/** The tenant's applications (OAuth clients) and resource servers (APIs), fixed by the seed. */
export class Catalog {
  readonly applications: readonly SeedApplication[];
  readonly resourceServers: readonly SeedResourceServer[];
  readonly #rsByAudience: Map<string, SeedResourceServer>;

  constructor(applications: readonly SeedApplication[], resourceServers: readonly SeedResourceServer[]) {
    this.applications = applications;
    this.resourceServers = resourceServers;
    this.#rsByAudience = new Map(resourceServers.map((r) => [r.audience, r]));
  }

  application(id: string): SeedApplication | undefined {
    return this.applications.find((a) => a.client_id === id || a.name.toLowerCase() === id.toLowerCase());
  }

  /** By id, name or audience. */
  resourceServer(ref: string): SeedResourceServer | undefined {
    return (
      this.#rsByAudience.get(ref) ??
      this.resourceServers.find((r) => r.id === ref || r.name.toLowerCase() === ref.toLowerCase())
    );
  }

  resourceServerIdOfAudience(audience: string): string | undefined {
    return this.#rsByAudience.get(audience)?.id;
  }

  searchApplications(q: string | undefined): AdminApplication[] {
    return this.applications.filter((a) => matches(q, a.client_id, a.name)).map(publicApplication);
  }

  searchResourceServers(q: string | undefined): AdminResourceServer[] {
    return this.resourceServers.filter((r) => matches(q, r.id, r.name, r.audience)).map(publicResourceServer);
  }
}

export function publicApplication(a: SeedApplication): AdminApplication {
  return { id: a.client_id, name: a.name };
}

export function publicResourceServer(r: SeedResourceServer): AdminResourceServer {
  return { id: r.id, name: r.name, audience: r.audience, scopes: [...r.scopes] };
}

function matches(q: string | undefined, ...fields: string[]): boolean {
  const needle = q?.trim().toLowerCase() ?? '';
  return needle === '' || fields.some((f) => f.toLowerCase().includes(needle));
}
