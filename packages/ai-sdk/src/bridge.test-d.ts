import { createGoogleGenerativeAI } from '@ai-sdk/google';
import { createOpenAI as createOpenAIV3 } from '@ai-sdk/openai-v3';
import type { LanguageModelV3, LanguageModelV4 } from '@ai-sdk/provider';
import type { Bulwark, ProviderV1 } from '@bulwark/core';
import type { LanguageModel, LanguageModelMiddleware } from 'ai';
import type { LanguageModel as LanguageModelForAI6 } from 'ai-v6';
import { describe, expectTypeOf, it } from 'vitest';
import { type AISDKProviderOptions, bulwarkMiddleware, bulwarkModel, createAISDKProvider } from './index.js';

declare const bulwark: Bulwark;

describe('types of the bridge', () => {
  it('bulwarkModel is a v4 model for ai 7 and a v3 model for ai 6', () => {
    expectTypeOf(bulwarkModel(bulwark, 'fast')).toEqualTypeOf<LanguageModelV4>();
    expectTypeOf(bulwarkModel(bulwark, 'fast')).toExtend<LanguageModel>();
    const v3 = bulwarkModel(bulwark, 'fast', { specificationVersion: 'v3' });
    expectTypeOf(v3).toEqualTypeOf<LanguageModelV3>();
    // ai 6's LanguageModelV3 comes from @ai-sdk/provider 3, whose provider-metadata type drifted from the
    // copy in @ai-sdk/provider 4 this package types against: the same runtime shape, a cast for tsc.
    expectTypeOf(v3 as unknown as LanguageModelForAI6).toExtend<LanguageModelForAI6>();
  });

  it('bulwarkMiddleware is an ai 7 language model middleware', () => {
    expectTypeOf(bulwarkMiddleware()).toExtend<LanguageModelMiddleware>();
  });

  it('createAISDKProvider takes models of both majors, or a factory of them', () => {
    const google = createGoogleGenerativeAI({ apiKey: 'key' });
    const openaiV3 = createOpenAIV3({ apiKey: 'key' });
    expectTypeOf(google('gemini-2.5-flash')).toExtend<AISDKProviderOptions['model']>();
    expectTypeOf(openaiV3.chat('gpt-4o')).toExtend<AISDKProviderOptions['model']>();
    expectTypeOf(createAISDKProvider({ name: 'g', model: (id) => google(id) })).toEqualTypeOf<ProviderV1>();
    // @ts-expect-error a string model id is not a model object
    createAISDKProvider({ name: 'g', model: 'gemini-2.5-flash' });
  });
});
