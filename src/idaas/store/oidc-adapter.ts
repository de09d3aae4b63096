import type { Adapter, AdapterPayload as OidcPayload } from 'oidc-provider';
import type { AdapterPayload, TokenStore } from './token-store.ts';

/** oidc-provider's per-model adapter, a thin view over the shared TokenStore. */
export class OidcAdapter implements Adapter {
  constructor(
    private readonly store: TokenStore,
    private readonly model: string,
  ) {}

  upsert(id: string, payload: OidcPayload, expiresIn: number): Promise<void> {
    return this.store.upsert(this.model, id, payload as AdapterPayload, expiresIn);
  }

  async find(id: string): Promise<OidcPayload | undefined> {
    return (await this.store.find(this.model, id)) as OidcPayload | undefined;
  }

  async findByUid(uid: string): Promise<OidcPayload | undefined> {
    return (await this.store.findByUid(this.model, uid)) as OidcPayload | undefined;
  }

  async findByUserCode(userCode: string): Promise<OidcPayload | undefined> {
    return (await this.store.findByUserCode(this.model, userCode)) as OidcPayload | undefined;
  }

  consume(id: string): Promise<void> {
    return this.store.consume(this.model, id);
  }

  destroy(id: string): Promise<void> {
    return this.store.destroy(this.model, id);
  }

  revokeByGrantId(grantId: string): Promise<void> {
    return this.store.revokeByGrantId(this.model, grantId);
  }
}
