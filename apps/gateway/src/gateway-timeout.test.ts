import Anthropic from '@anthropic-ai/sdk';
import { createFakeUpstream } from '@bulwark/testkit';
import { describe, expect, it } from 'vitest';
import { createGateway } from './gateway.js';

describe('deadlines', () => {
  it('answers 504 in the caller format when the total deadline passes, and closes the upstream socket', async () => {
    const upstream = await createFakeUpstream({ defaultBehavior: { kind: 'hang' } });
    const gateway = await createGateway({
      config: {
        server: { port: 0 },
        providers: {
          main: { plugin: 'openai', baseURL: upstream.openaiBaseURL, apiKey: 'sk-test-deadline-00' },
        },
        models: { smart: [{ provider: 'main', model: 'gpt-4o' }] },
        retry: false,
        timeout: { totalMs: 300 },
        log: { level: 'error' },
      },
    });
    try {
      const url = await gateway.listen();
      const client = new Anthropic({ baseURL: url, apiKey: 'none', maxRetries: 0 });
      const error = await client.messages
        .create({ model: 'smart', max_tokens: 10, messages: [{ role: 'user', content: 'slow' }] })
        .catch((thrown: unknown) => thrown);
      expect(error).toBeInstanceOf(Anthropic.APIError);
      expect((error as InstanceType<typeof Anthropic.APIError>).status).toBe(504);
      const body = (error as InstanceType<typeof Anthropic.APIError>).error as {
        type: string;
        error: { type: string; attempts: unknown[] };
      };
      expect(body.type).toBe('error');
      expect(body.error.type).toBe('timeout_error');
      expect(body.error.attempts).toHaveLength(1);
      const deadline = Date.now() + 3000;
      while (upstream.openConnections() > 0 && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 20));
      expect(upstream.openConnections()).toBe(0);
    } finally {
      await gateway.close({ drainTimeoutMs: 0 });
      await upstream.close();
    }
  });
});
