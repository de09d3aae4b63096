import { EntraSimulator } from './entra.ts';
import { GoogleSimulator } from './google.ts';
import type { VendorSimulator } from './types.ts';

/** Every vendor simulator, by vendor: the fault matrix runs each. One line per vendor. */
export const SIMULATORS: Record<string, () => VendorSimulator> = {
  entra: () => new EntraSimulator(),
  google: () => new GoogleSimulator(),
};
