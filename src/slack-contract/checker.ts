import type { Violation } from './sources.ts';
import { ViolationFound } from './violation-found.ts';

/**
 * What the rule families report to: `fail` stops at the first rule Slack enforces (with the error Slack
 * answers for this kind of payload); `note` keeps a Revoker-only rule (never a Slack error) and goes on, so a
 * stand-in still answers as Slack would.
 */
export class Checker {
  readonly notes: Violation[] = [];
  /** focus_on_load seen in the current view (Slack allows one). */
  focused = false;

  constructor(readonly error: Violation['error']) {}

  fail(rule: string, path: string, source: string, error: Violation['error'] = this.error): never {
    throw new ViolationFound({ rule, path, source, error });
  }

  note(rule: string, path: string, source: string): void {
    this.notes.push({ rule, path, source, error: 'revoker_rule' });
  }
}
