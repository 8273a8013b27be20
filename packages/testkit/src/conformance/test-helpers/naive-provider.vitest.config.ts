import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import shared from '../../../../../vitest.shared.js';

// The child run of provider-conformance.test.ts: the suite against the naive provider only, with vitest's default 5 s test timeout.
export default defineConfig({
  ...shared,
  root: fileURLToPath(new URL('../../..', import.meta.url)),
  test: {
    ...shared.test,
    include: ['src/conformance/test-helpers/naive-provider.conformance.ts'],
    testTimeout: 5000,
    typecheck: { enabled: false },
  },
});
