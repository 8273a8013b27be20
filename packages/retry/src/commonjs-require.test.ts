import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const packageFolder = fileURLToPath(new URL('..', import.meta.url));

// A CommonJS program: require() of the built ES modules through the `default` export condition
// (require(esm), Node >= 20.19), then a whole call through core, a middleware and a provider.
const program = `
const { createBulwark } = require('@bulwark/core');
const { createRetry } = require('@bulwark/retry');
const { createMockProvider } = require('@bulwark/provider-mock');
const bulwark = createBulwark({
  providers: [createMockProvider({ chunkDelayMs: 0 })],
  models: { default: [{ provider: 'mock', model: 'mock-1' }] },
  middleware: [createRetry({ maxAttempts: 2 })],
});
bulwark
  .chat({ model: 'default', messages: [{ role: 'user', content: 'hello from commonjs' }] })
  .then((answer) => console.log(JSON.stringify({ text: answer.text, provider: answer.provider })));
`;

describe('CommonJS consumers', () => {
  it("require() the built core, retry and a provider and make a call (the exports' default condition)", async () => {
    const { stdout } = await run(
      process.execPath,
      ['--no-warnings', '--input-type=commonjs', '--eval', program],
      { cwd: packageFolder, timeout: 20_000 },
    );
    const answer = JSON.parse(stdout.trim());
    expect(answer.provider).toBe('mock');
    expect(answer.text).toContain('hello from commonjs');
  });
});
