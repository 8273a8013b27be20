import OpenAI from 'openai';
import { expect, it } from 'vitest';
import { createFakeUpstream } from './index.js';

it('runs the README example', async () => {
  const upstream = await createFakeUpstream();
  const client = new OpenAI({ apiKey: 'sk-test', baseURL: upstream.openaiBaseURL, maxRetries: 0 });

  upstream.enqueue({ kind: 'status', status: 429, headers: { 'retry-after': '2' } });
  const error = await client.chat.completions
    .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] })
    .catch((caught: unknown) => caught);
  expect((error as InstanceType<typeof OpenAI.RateLimitError>).status).toBe(429);

  const completion = await client.chat.completions.create({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'hi' }],
  });
  expect(completion.choices[0]?.message.content).toBe('echo: hi');
  expect(upstream.requests.length).toBe(2);
  await upstream.close();
});
