import type { HrSource } from './source.ts';
import { bamboohrSource } from './sources/bamboohr.ts';
import { deelSource } from './sources/deel.ts';
import { gustoSource } from './sources/gusto.ts';
import { hibobSource } from './sources/hibob.ts';
import { standardSource } from './sources/standard.ts';

/** source name (the `:source` of `/webhooks/hr/:source`) → verifier + normaliser. */
export const HR_SOURCES: Readonly<Record<string, HrSource>> = Object.freeze({
  standard: standardSource,
  bamboohr: bamboohrSource,
  hibob: hibobSource,
  gusto: gustoSource,
  deel: deelSource,
});

export function getHrSource(name: string, sources: Readonly<Record<string, HrSource>> = HR_SOURCES) {
  return Object.hasOwn(sources, name) ? sources[name] : undefined;
}
