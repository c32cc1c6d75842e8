import { defineConfig } from 'vitest/config';

// Several tests run the CLI or real worker threads; the machine has 2 cores.
export default defineConfig({
  test: {
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
