// Compiles src/ to dist/ (tsc -p tsconfig.build.json) and copies every other file under src/ (SQL
// migrations, worker assets) to the same place in dist/, so code that finds files next to itself
// through import.meta.url works the same in both. Then builds the dashboard (web/, Vite) into
// dist/web, which the server serves at `/`, and the embeddable chat widget (web/widget, a second Vite
// library build) into dist/widget/widget.js, served at /widget.js. Server and web parts have their own
// stamps and are rebuilt on their own (the widget goes with the web part: its sources are under web/).
//   node scripts/build.mjs             always rebuild both (npm run build; `prepare` on npm install / npm ci)
//   node scripts/build.mjs --if-stale  rebuild only the part whose sources or build settings changed (before npm start)
//   node scripts/build.mjs --web       the dashboard and the widget only (--if-stale applies too; the end-to-end tests use it)
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
const web = path.join(root, 'web');
const webDist = path.join(dist, 'web');
const widgetDist = path.join(dist, 'widget');
const webStamp = path.join(root, 'dist', '.web-build-stamp');
const webInputs = ['package.json', 'package-lock.json'].map((f) => path.join(root, f));
const ifStale = process.argv.includes('--if-stale');
const webOnly = process.argv.includes('--web');

function newestOf(dirs, files) {
  let newest = 0;
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(p);
      else newest = Math.max(newest, statSync(p).mtimeMs);
    }
    newest = Math.max(newest, statSync(dir).mtimeMs); // a deleted file changes its folder
  };
  for (const d of dirs) walk(d);
  for (const f of files) if (existsSync(f)) newest = Math.max(newest, statSync(f).mtimeMs);
  return newest;
}
const fresh = (stampFile, dirs, files) => existsSync(stampFile) && statSync(stampFile).mtimeMs >= newestOf(dirs, files);

/** Resolves a dev dependency's file, or explains that the build needs dev dependencies. */
function devTool(id, what) {
  try {
    const [pkg, ...rest] = id.split('/');
    // Through package.json: a package's exports need not list its bin files.
    return path.join(path.dirname(createRequire(import.meta.url).resolve(`${pkg}/package.json`)), ...rest);
  } catch {
    // Installed without dev dependencies: keep a dist/ built elsewhere, but say so when there is none.
    const message = `${id.split('/')[0]} is not installed (dev dependency), so ${what} cannot be built: run \`npm install\` with dev dependencies, or ship a built dist/.`;
    if (process.env.npm_lifecycle_event === 'prepare') {
      console.warn(`switchboard build skipped: ${message}`);
      process.exit(0);
    }
    console.error(existsSync(stamp) ? `dist/ is older than its sources. ${message}` : message);
    process.exit(1);
  }
}

function buildServer() {
  const tsc = devTool('typescript/bin/tsc', 'dist/');
  const started = Date.now();
  // No stale module or migration survives a rebuild; the dashboard (dist/web) has its own stamp.
  for (const entry of existsSync(dist) ? readdirSync(dist) : []) {
    if (entry !== 'web' && entry !== 'widget' && entry !== '.web-build-stamp') rmSync(path.join(dist, entry), { recursive: true, force: true });
  }
  execFileSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json')], { stdio: 'inherit', cwd: root });
  cpSync(src, dist, { recursive: true, filter: (p) => statSync(p).isDirectory() || !/\.[cm]?ts$/.test(p) });
  writeFileSync(stamp, `${new Date().toISOString()}\n`);
  console.log(`switchboard: built dist/ in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

function buildWeb() {
  const vite = devTool('vite/bin/vite.js', 'the dashboard');
  const started = Date.now();
  for (const config of [path.join(web, 'vite.config.ts'), path.join(web, 'widget', 'vite.config.ts')]) {
    execFileSync(process.execPath, [vite, 'build', '--config', config, '--logLevel', 'warn'], {
      stdio: 'inherit',
      cwd: root,
      // Always the production build of React, even when started under NODE_ENV=test (the test run's global setup).
      env: { ...process.env, NODE_ENV: 'production' },
    });
  }
  writeFileSync(webStamp, `${new Date().toISOString()}\n`);
  console.log(`switchboard: built the dashboard (dist/web) and the widget (dist/widget) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

if (!webOnly && !(ifStale && fresh(stamp, [src], inputs))) buildServer();
const webBuilt = existsSync(path.join(webDist, 'index.html')) && existsSync(path.join(widgetDist, 'widget.js'));
if (!(ifStale && webBuilt && fresh(webStamp, [web], webInputs))) buildWeb();
