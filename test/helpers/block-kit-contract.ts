import {
  type CheckContext,
  checkSlackPayload,
  describeViolation,
  type PayloadKind,
  type Violation,
} from '../../src/slack-contract/index.ts';

/**
 * The Block Kit contract as every test sees it. Each Slack stand-in (SlackApiStub, the Socket Mode
 * stand-in, the unit tests' fake client, `postSlack`'s reading of acks) passes every payload it receives
 * through `enforce`; a violation is recorded here, and the global `afterEach` in
 * block-kit-contract-setup.ts (vitest `setupFiles`) fails the test with the first one. A test cannot
 * skip it: only `takeViolations` (for tests that reintroduce a defect on purpose) clears the record.
 */
const recorded: string[] = [];
/** Views the stand-ins served, by view id: a submission's `errors` must name one of its input blocks. */
const views = new Map<string, unknown>();

export function enforce(kind: PayloadKind, payload: unknown, ctx: CheckContext = {}): Violation | undefined {
  const v = checkSlackPayload(kind, payload, ctx);
  if (v) recorded.push(describeViolation(kind, v));
  return v;
}

/**
 * The observer of the one Web API stand-in (SlackWebApi) in tests: every finding is recorded (the test
 * fails), every answered view is remembered (a submission's `errors` must name its input blocks).
 */
export const testObserver = {
  violation(method: string, v: Violation): void {
    recorded.push(describeViolation(method, v));
  },
  answered(_method: string, args: Record<string, unknown>, answer: Record<string, unknown>): void {
    const view = (answer.view as { id?: string } | undefined)?.id;
    if (view && args.view) rememberView(view, args.view);
  },
};

export function rememberView(viewId: string, view: unknown): void {
  views.set(viewId, typeof view === 'string' ? JSON.parse(view) : view);
}

export function servedView(viewId: string): unknown {
  return views.get(viewId);
}

/** Returns and clears what was recorded (tests that provoke a violation on purpose). */
export function takeViolations(): string[] {
  return recorded.splice(0, recorded.length);
}
