import { createFakeUpstream, type FakeUpstream } from '@bulwark/testkit';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway, type Gateway } from './gateway.js';

// gpt-4o costs $2.50 in and $10 out per million tokens: each answer below (1,000 in, 1,000 out) costs
// $0.0125, and each call reserves about $0.01 (its short prompt plus max_tokens 1,000) before it runs.
// A $0.05 day lets four calls through (4 × $0.0125 = $0.05 spent) and refuses the fifth.
const usage = { inputTokens: 1000, outputTokens: 1000 };
const limitUsd = 0.05;

let upstream: FakeUpstream;
let gateway: Gateway;
let openai: OpenAI;

beforeAll(async () => {
  upstream = await createFakeUpstream({ defaultBehavior: { kind: 'reply', usage } });
  gateway = await createGateway({
    config: {
      server: { port: 0 },
      providers: {
        gpt: { plugin: 'openai', baseURL: upstream.openaiBaseURL, apiKey: 'sk-test-openai-000000' },
      },
      models: { smart: [{ provider: 'gpt', model: 'gpt-4o' }] },
      cache: false,
      budget: { budgets: [{ scope: 'global', window: 'day', limitUsd }] },
      log: { level: 'error' },
    },
  });
  const url = await gateway.listen();
  openai = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'none', maxRetries: 0 });
});

afterAll(async () => {
  await gateway?.close({ drainTimeoutMs: 0 });
  await upstream?.close();
});

describe('a hard daily budget in the gateway', () => {
  it('serves calls to an alias (priced by its target) until the budget is spent, then answers 402', async () => {
    const answered: string[] = [];
    let refusal: unknown;
    for (let call = 0; call < 10 && refusal === undefined; call += 1) {
      try {
        const completion = await openai.chat.completions.create({
          model: 'smart',
          max_tokens: 1000,
          messages: [{ role: 'user', content: `question ${call}` }],
        });
        answered.push(completion.choices[0]!.message.content ?? '');
      } catch (error) {
        refusal = error;
      }
    }
    expect(answered).toEqual([
      'echo: question 0',
      'echo: question 1',
      'echo: question 2',
      'echo: question 3',
    ]);
    expect(refusal).toBeInstanceOf(OpenAI.APIError);
    const error = refusal as InstanceType<typeof OpenAI.APIError>;
    expect(error.status).toBe(402);
    expect(error.code).toBe('budget_exceeded');
    expect(error.type).toBe('insufficient_quota');
    expect(error.message).toContain('global-day');
    expect(upstream.requests).toHaveLength(4);

    // In process, the same pipeline refuses too, and the spend is exactly four answers.
    await expect(
      gateway.bulwark.chat({
        model: 'smart',
        maxTokens: 1000,
        messages: [{ role: 'user', content: 'more' }],
      }),
    ).rejects.toMatchObject({ code: 'budget_exceeded', budget: 'global-day' });
    const budget = gateway.plan.middleware.find((middleware) => middleware.name === 'budget') as unknown as {
      status(): Promise<Array<{ spentUsd: number; remainingUsd: number }>>;
    };
    const [status] = await budget.status();
    expect(status!.spentUsd).toBeCloseTo(4 * 0.0125, 9);
    expect(status!.remainingUsd).toBeCloseTo(0, 9);
  });

  it('prices provider/model names too', async () => {
    await expect(
      gateway.bulwark.chat({
        model: 'gpt/gpt-4o',
        maxTokens: 1000,
        messages: [{ role: 'user', content: 'x' }],
      }),
    ).rejects.toMatchObject({
      code: 'budget_exceeded',
      message: expect.stringContaining('would be exceeded'),
    });
  });
});
