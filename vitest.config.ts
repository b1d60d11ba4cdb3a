import { defineConfig } from 'vitest/config';

// Two projects: `node` runs the fast suites (replica, merge, sync protocol, server) in Node;
// `browser` drives real Chromium through puppeteer-core and is started by spec/browser/run.mjs
// (inside a private network namespace when one can be made).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'node',
          include: ['spec/node/**/*.test.ts'],
          environment: 'node',
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'browser',
          include: ['spec/browser/**/*.test.ts'],
          environment: 'node',
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
