import os from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    pool: 'forks',
    // Builds the dashboard when stale; the end-to-end tests (test/e2e-*.test.ts) drive the built app.
    globalSetup: ['test/global-setup.ts'],
    // A hang detector, not a speed bound: a loaded host runs the suite two to three times slower than a quiet one.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Each file opens its own database (an in-memory PGlite, or a fresh PostgreSQL database), so files run
    // side by side. Vitest's default is one worker fewer than the cores, a single one on a 2-core machine;
    // two halve the wall time there (much of a file's time is waiting on the database or the browser).
    fileParallelism: true,
    maxWorkers: Number(process.env.TEST_WORKERS) || Math.max(2, os.availableParallelism() - 1),
  },
});
