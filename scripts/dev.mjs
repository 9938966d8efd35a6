// `npm run dev`: the API (tsx watch, port 3000) and the dashboard (Vite's dev server, port 5173, with
// /api proxied to the API) side by side; Ctrl-C stops both.
import { spawn } from 'node:child_process';

const run = (script) => spawn('npm', ['run', '--silent', script], { stdio: 'inherit' });
const children = [run('dev:api'), run('dev:web')];
console.log('switchboard dev: dashboard on http://localhost:5173 (API on http://localhost:3000)');
const stop = () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
for (const c of children) c.on('exit', (code) => {
  stop();
  process.exitCode = code ?? 0;
});
