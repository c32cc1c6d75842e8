import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Several tests run the CLI or real worker threads; the machine has 2 cores.
// `import ... from 'm3fg'` in tests means this repository's sources (the package exports the built dist/).
export default defineConfig({
  resolve: {
    alias: [{ find: /^m3fg$/, replacement: fileURLToPath(new URL('./index.ts', import.meta.url)) }],
  },
  test: {
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
