// Compiles src/ to dist/ (tsc -p tsconfig.build.json) and copies every other file under src/ (SQL
// migrations, worker assets) to the same place in dist/, so code that finds files next to itself
// through import.meta.url works the same in both.
//   node scripts/build.mjs             always rebuild (npm run build; `prepare` on npm install / npm ci)
//   node scripts/build.mjs --if-stale  rebuild only when a file under src/ or a build setting changed (before npm start)
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const src = path.join(root, 'src');
const dist = path.join(root, 'dist');
const stamp = path.join(dist, '.build-stamp');
const inputs = ['package.json', 'tsconfig.json', 'tsconfig.build.json'].map((f) => path.join(root, f));

function newestInput() {
  let newest = 0;
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(p);
      else newest = Math.max(newest, statSync(p).mtimeMs);
    }
    newest = Math.max(newest, statSync(dir).mtimeMs); // a deleted file changes its folder
  };
  walk(src);
  for (const f of inputs) newest = Math.max(newest, statSync(f).mtimeMs);
  return newest;
}

if (process.argv.includes('--if-stale') && existsSync(stamp) && statSync(stamp).mtimeMs >= newestInput()) process.exit(0);

let tsc;
try {
  tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
} catch {
  // Installed without dev dependencies: keep a dist/ built elsewhere, but say so when there is none.
  const message = 'TypeScript is not installed (dev dependency), so dist/ cannot be built: run `npm install` with dev dependencies, or ship a built dist/.';
  if (process.env.npm_lifecycle_event === 'prepare') {
    console.warn(`switchboard build skipped: ${message}`);
    process.exit(0);
  }
  console.error(existsSync(stamp) ? `dist/ is older than src/. ${message}` : message);
  process.exit(1);
}

const started = Date.now();
rmSync(dist, { recursive: true, force: true }); // no stale module or migration survives a rebuild
execFileSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json')], { stdio: 'inherit', cwd: root });
cpSync(src, dist, { recursive: true, filter: (p) => statSync(p).isDirectory() || !/\.[cm]?ts$/.test(p) });
writeFileSync(stamp, `${new Date().toISOString()}\n`);
console.log(`switchboard: built dist/ in ${((Date.now() - started) / 1000).toFixed(1)} s`);
