import { Auth0Simulator } from './auth0.ts';
import { KeycloakSimulator } from './keycloak.ts';
import type { VendorSimulator } from './types.ts';

/** Every vendor simulator by vendor (the fault matrix iterates over them): one line per vendor. */
export const SIMULATORS: Record<string, () => VendorSimulator> = {
  auth0: () => new Auth0Simulator(),
  keycloak: () => new KeycloakSimulator(),
};
