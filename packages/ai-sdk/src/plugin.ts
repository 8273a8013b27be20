import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError, type PluginContext, type PluginDescriptor, type ProviderV1 } from '@bulwark/core';
import { z } from 'zod';
import { createAISDKProvider } from './aisdk-provider.js';
import type { AISDKLanguageModel } from './spec.js';

/**
 * Config of the `ai-sdk` provider plugin:
 * `providers.gemini: { plugin: ai-sdk, package: '@ai-sdk/google', options: { apiKey: '${env:GEMINI_API_KEY}' }, models: [gemini-2.5-flash] }`.
 */
export const aiSdkConfigSchema = z.strictObject({
  /** The AI SDK provider package (`@ai-sdk/google`, `@ai-sdk/google-vertex`, `@ai-sdk/amazon-bedrock`, `@ai-sdk/azure`…). */
  package: z.string().regex(/^(@[a-z0-9-~][a-z0-9-._~]*\/)?[a-z0-9-~][a-z0-9-._~]*$/, 'an npm package name'),
  /** The package's provider factory export. Default: its only `create…` export. */
  factory: z
    .string()
    .regex(/^[A-Za-z_$][\w$]*$/, 'an export name')
    .optional(),
  /** Options of the factory: `apiKey`, `baseURL`, `headers`, `location`/`region`, `project`, `resourceName`… */
  options: z.record(z.string(), z.unknown()).default({}),
  /** Models this provider serves (pass-through routing); any model id may still be a target. */
  models: z.array(z.string().min(1)).optional(),
  /** The kind of API, for telemetry (`gen_ai.system`). Default: the package name without `@ai-sdk/`. */
  system: z.string().min(1).optional(),
});

export type AISDKProviderConfig = z.infer<typeof aiSdkConfigSchema>;

/** An AI SDK provider: a function of the model id with `languageModel`, as every `@ai-sdk/*` factory returns. */
interface AISDKProviderFactoryResult {
  languageModel(modelId: string): AISDKLanguageModel;
}

const isMissing = (error: unknown): boolean => {
  const code = (error as { code?: string } | undefined)?.code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
};

/**
 * Imports the AI SDK package: from here first (installed next to @bulwark/ai-sdk, or hoisted), then
 * from the working directory (installed next to the gateway's config), so either place works.
 */
async function importPackage(name: string, path: string): Promise<Record<string, unknown>> {
  try {
    return (await import(name)) as Record<string, unknown>;
  } catch (error) {
    if (!isMissing(error)) throw error;
    try {
      const resolved = createRequire(join(process.cwd(), 'package.json')).resolve(name);
      return (await import(pathToFileURL(resolved).href)) as Record<string, unknown>;
    } catch (fallbackError) {
      if (!isMissing(fallbackError)) throw fallbackError;
      throw new ConfigError({
        path: `${path}.package`,
        cause: error,
        message: `${path}.package: "${name}" is not installed. Install it next to the gateway: npm install ${name}`,
      });
    }
  }
}

function factoryOf(
  module: Record<string, unknown>,
  config: AISDKProviderConfig,
  path: string,
): (options: Record<string, unknown>) => unknown {
  if (config.factory !== undefined) {
    const named = module[config.factory];
    if (typeof named === 'function') return named as (options: Record<string, unknown>) => unknown;
    throw new ConfigError({
      path: `${path}.factory`,
      message: `${path}.factory: "${config.factory}" is not a function exported by ${config.package}`,
    });
  }
  const candidates = Object.keys(module).filter(
    (key) => /^create[A-Z]/.test(key) && typeof module[key] === 'function',
  );
  // `@ai-sdk/google` exports createGoogleGenerativeAI and its alias createGoogle: the same function.
  const distinct = [...new Set(candidates.map((key) => module[key]))];
  if (distinct.length === 1) return distinct[0] as (options: Record<string, unknown>) => unknown;
  throw new ConfigError({
    path: `${path}.factory`,
    message: `${path}.factory: ${config.package} exports ${candidates.length === 0 ? 'no create… function' : `several factories (${candidates.join(', ')})`}; name the one to use`,
  });
}

/** Creates the provider of one `ai-sdk` config entry. */
export async function createAISDKProviderFromConfig(
  config: AISDKProviderConfig & { name: string },
  path = `providers.${config.name}`,
): Promise<ProviderV1> {
  const module = await importPackage(config.package, path);
  const factory = factoryOf(module, config, path);
  const provider = factory(config.options) as Partial<AISDKProviderFactoryResult> | undefined;
  if (typeof provider?.languageModel !== 'function') {
    throw new ConfigError({
      path: `${path}.factory`,
      message: `${path}.factory: the factory of ${config.package} did not return an AI SDK provider (no languageModel)`,
    });
  }
  const languageModel = provider.languageModel.bind(provider);
  return createAISDKProvider({
    name: config.name,
    model: (modelId) => languageModel(modelId),
    system: config.system ?? config.package.replace(/^@ai-sdk\//, ''),
    ...(config.models === undefined ? {} : { models: config.models }),
  });
}

/**
 * The `ai-sdk` provider plugin: any AI SDK provider package behind Bulwark (and the gateway). The
 * package is an optional peer: install the ones you configure.
 */
export const plugin: PluginDescriptor<'provider', AISDKProviderConfig> = {
  specificationVersion: 'v1',
  kind: 'provider',
  name: 'ai-sdk',
  packageName: '@bulwark/ai-sdk',
  description: 'Any Vercel AI SDK provider package (@ai-sdk/google, -vertex, -amazon-bedrock, -azure…)',
  configSchema: aiSdkConfigSchema,
  create: (config, context: PluginContext) =>
    createAISDKProviderFromConfig({ ...config, name: context.name }, context.path),
};
