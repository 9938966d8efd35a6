// The embeddable web-chat widget: a second, library build (no React) into dist/widget/widget.js, one
// classic script (IIFE) that sites load with a <script src="https://HOST/widget.js" data-site-token="…">
// tag. scripts/build.mjs runs it after the dashboard's build; the server serves the file at /widget.js.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = path.dirname(fileURLToPath(import.meta.url));

export default defineConfig({
  root: here,
  publicDir: false,
  build: {
    outDir: path.join(here, '..', '..', 'dist', 'widget'),
    emptyOutDir: true,
    // Runs on other people's sites: a baseline most browsers of the last few years understand.
    target: 'es2020',
    sourcemap: false,
    reportCompressedSize: false,
    lib: {
      entry: path.join(here, 'widget.ts'),
      name: 'SwitchboardWidget',
      formats: ['iife'],
      fileName: () => 'widget.js',
    },
  },
});
