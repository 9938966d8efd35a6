// Builds the dashboard (dist/web) before the test run when its sources changed: the end-to-end tests
// drive the built app, as `npm start` serves it. A no-op when the build is current.
import { execFileSync } from 'node:child_process';
import path from 'node:path';

export default function setup() {
  execFileSync(process.execPath, [path.join(import.meta.dirname, '..', 'scripts', 'build.mjs'), '--web', '--if-stale'], { stdio: 'inherit' });
}
