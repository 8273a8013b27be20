import type { GatewayConfigInput } from './config-schema.js';

/** `${env:NAME}`: the key stays in the environment and is resolved at start-up. */
const envReference = (name: string): string => `\${env:${name}}`;

/**
 * The config used when none is given: loopback on port 8787, the memory cache, in-memory breaker and
 * limiter, retries and timeouts at their defaults. With `OPENAI_API_KEY` and/or `ANTHROPIC_API_KEY`
 * set it serves those providers (the keys stay in the environment: the config refers to them);
 * otherwise the mock provider, so it runs with no key and no network.
 */
export function defaultConfig(env: Record<string, string | undefined> = process.env): GatewayConfigInput {
  const openai = Boolean(env.OPENAI_API_KEY);
  const anthropic = Boolean(env.ANTHROPIC_API_KEY);
  const providers: GatewayConfigInput['providers'] = {};
  const fast: Array<{ provider: string; model: string }> = [];
  const smart: Array<{ provider: string; model: string }> = [];
  if (openai) {
    providers.openai = { plugin: 'openai', apiKey: envReference('OPENAI_API_KEY') };
    fast.push({ provider: 'openai', model: 'gpt-4o-mini' });
    smart.push({ provider: 'openai', model: 'gpt-4o' });
  }
  if (anthropic) {
    providers.anthropic = { plugin: 'anthropic', apiKey: envReference('ANTHROPIC_API_KEY') };
    fast.push({ provider: 'anthropic', model: 'claude-3-5-haiku-latest' });
    smart.push({ provider: 'anthropic', model: 'claude-sonnet-4-20250514' });
  }
  if (!openai && !anthropic) {
    providers.mock = { plugin: 'mock' };
    fast.push({ provider: 'mock', model: 'mock-fast' });
    smart.push({ provider: 'mock', model: 'mock-smart' });
  }
  return {
    server: { host: '127.0.0.1', port: 8787 },
    providers,
    models: { fast, smart },
    cache: { store: { plugin: 'memory' } },
    limiter: { store: { plugin: 'memory' } },
  };
}
