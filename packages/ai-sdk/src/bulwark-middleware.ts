import type { LanguageModelV4, LanguageModelV4Middleware } from '@ai-sdk/provider';
import { type Bulwark, type BulwarkOptions, createBulwark, type Target } from '@bulwark/core';
import { createAISDKProvider } from './aisdk-provider.js';
import { type BulwarkCallProviderOptions, bulwarkModel } from './bulwark-model.js';
import type { AISDKLanguageModel } from './spec.js';

export interface BulwarkMiddlewareOptions extends Omit<BulwarkOptions, 'providers' | 'models'> {
  /** Models to fall back to, in order, when the wrapped model fails (any provider, v4 or v3). */
  fallbacks?: readonly AISDKLanguageModel[];
  /** Call options used for every call (merged under `providerOptions.bulwark`). */
  defaults?: BulwarkCallProviderOptions;
}

const alias = 'wrapped';

/**
 * The `wrapLanguageModel` form, for code that keeps its own model objects:
 * `wrapLanguageModel({ model: openai('gpt-4o'), middleware: bulwarkMiddleware({ middleware: [cache],
 * fallbacks: [anthropic('claude-sonnet-4-5')] }) })`. Each wrapped model gets a Bulwark of its own (made
 * on first use) whose first target is that model and whose next targets are the fallbacks, with the
 * given Bulwark middleware around them; `providerMetadata.bulwark` then tells which one answered.
 */
export function bulwarkMiddleware(options: BulwarkMiddlewareOptions = {}): LanguageModelV4Middleware {
  const { fallbacks = [], defaults, ...bulwarkOptions } = options;
  const instances = new WeakMap<object, Bulwark>();
  const bulwarkFor = (model: LanguageModelV4): Bulwark => {
    let bulwark = instances.get(model);
    if (bulwark) return bulwark;
    const models = [model, ...fallbacks];
    const providers = models.map((each, index) =>
      createAISDKProvider({ name: index === 0 ? 'model' : `fallback-${index}`, model: each }),
    );
    const targets: Target[] = models.map((each, index) => ({
      provider: providers[index]?.name ?? 'model',
      model: each.modelId,
    }));
    bulwark = createBulwark({
      ...bulwarkOptions,
      providers,
      models: { [alias]: targets },
      passThrough: false,
    });
    instances.set(model, bulwark);
    return bulwark;
  };
  const modelFor = (model: LanguageModelV4) =>
    bulwarkModel(bulwarkFor(model), alias, {
      provider: model.provider,
      ...(defaults === undefined ? {} : { defaults }),
    });
  return {
    specificationVersion: 'v4',
    wrapGenerate: ({ model, params }) => modelFor(model).doGenerate(params),
    wrapStream: ({ model, params }) => modelFor(model).doStream(params),
  };
}
