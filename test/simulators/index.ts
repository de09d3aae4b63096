import { Auth0Simulator } from './auth0.ts';
import { EntraSimulator } from './entra.ts';
import { GoogleSimulator } from './google.ts';
import { KeycloakSimulator } from './keycloak.ts';
import { OktaSimulator } from './okta.ts';
import type { VendorSimulator } from './types.ts';

/** Every vendor simulator, by vendor: the fault matrix runs each. One line per vendor. */
export const SIMULATORS: Record<string, () => VendorSimulator> = {
  okta: () => new OktaSimulator(),
  auth0: () => new Auth0Simulator(),
  keycloak: () => new KeycloakSimulator(),
  entra: () => new EntraSimulator(),
  google: () => new GoogleSimulator(),
};
