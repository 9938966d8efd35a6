// `npm run dev`: the API (tsx watch, port 3000), the dashboard (Vite's dev server, port 5173, with
// /api proxied to the API) and the chat widget rebuilt on change into dist/widget (served by the API at
// /widget.js, re-read when it changes) side by side; Ctrl-C stops them all.
import { spawn } from 'node:child_process';

const run = (script) => spawn('npm', ['run', '--silent', script], { stdio: 'inherit' });
const children = [run('dev:api'), run('dev:web'), run('dev:widget')];
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
