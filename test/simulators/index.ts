import { OktaSimulator } from './okta.ts';
import type { VendorSimulator } from './types.ts';

/** Every vendor simulator, by vendor: the fault matrix runs each. One line per vendor. */
export const SIMULATORS: Record<string, () => VendorSimulator> = {
  okta: () => new OktaSimulator(),
};
