import { afterEach } from 'vitest';
import { takeViolations } from './block-kit-contract.ts';

// Every test file runs this (vitest setupFiles): a payload Slack would refuse fails the test that sent it.
afterEach(() => {
  const found = takeViolations();
  if (found.length > 0) {
    throw new Error(
      `Block Kit contract: ${found[0]}${found.length > 1 ? ` (+${found.length - 1} more)` : ''}`,
    );
  }
});
