import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    pool: 'forks',
    // Builds the dashboard when stale; the end-to-end tests (test/e2e-*.test.ts) drive the built app.
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Each file opens its own database (an in-memory PGlite, or a fresh PostgreSQL database).
    fileParallelism: true,
  },
});
