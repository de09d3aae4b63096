import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    // The Block Kit contract: every Slack payload a test sends is checked; a violation fails that test.
    setupFiles: ['test/helpers/block-kit-contract-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Integration suites start servers and workers; two cores, so keep parallelism modest.
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
  },
});
