import type { Violation } from './sources.ts';

/** Thrown by a rule to stop at the first violation (Slack reports the first error it meets). */
export class ViolationFound extends Error {
  constructor(readonly violation: Violation) {
    super(violation.rule);
  }
}
