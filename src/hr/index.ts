/** HR offboarding: webhook receiver, durable intake queue, processor and worker. */

export { type HrConfig, HrEnvSchema, loadHrConfig } from '../config/hr-settings.ts';
export { SignatureInvalidError, SignatureStaleError, VendorLookupError } from './errors.ts';
export { type HrEvent, type HrEventKind, HrEventSchema } from './hr-event.ts';
export {
  HrEmployeeBusyError,
  type HrOutcome,
  type HrProcessorDeps,
  pendingKey,
  processHrEvent,
} from './hr-event-processor.ts';
export {
  createHrEventQueue,
  type EnqueueStatus,
  enqueueHrEvent,
  HR_EVENTS_QUEUE,
  type HrEventQueue,
  type HrEventQueueOptions,
  hrDedupeKey,
} from './hr-event-queue.ts';
export { type HrEventWorkerOptions, startHrEventWorker } from './hr-event-worker.ts';
export { createHrRouter, type HrRouterDeps } from './hr-router.ts';
export { getHrSource, HR_SOURCES } from './registry.ts';
export { signHrDelivery } from './signing.ts';
export type { DeliveryHeaders, HrSource, VerifyInput } from './source.ts';
