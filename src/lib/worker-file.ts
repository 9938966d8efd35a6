import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * A worker thread's module beside the calling module (`import.meta.url`): the compiled `.js` when it exists
 * (dist/), else the `.ts` source run through tsx (development and tests).
 */
export function workerFile(callerUrl: string, name: string) {
  const js = new URL(`./${name}.js`, callerUrl);
  if (existsSync(fileURLToPath(js))) return { filename: js.href, execArgv: [] as string[] };
  return { filename: new URL(`./${name}.ts`, callerUrl).href, execArgv: ['--import', 'tsx'] };
}
