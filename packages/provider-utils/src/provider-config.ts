import { z } from 'zod';

/** Config-file form of the capability overrides (`capabilities: { vision: false }`). */
export const capabilitiesConfigSchema = z.strictObject({
  streaming: z.boolean().optional(),
  tools: z.boolean().optional(),
  vision: z.boolean().optional(),
  jsonMode: z.boolean().optional(),
  embeddings: z.boolean().optional(),
  maxContextTokens: z.int().positive().optional(),
});

/**
 * Config-file fields of `SdkProviderOptions` a provider plugin accepts (everything but `client`
 * and `fetch`); spread it into the plugin's `z.strictObject({ ... })` beside the provider's own keys.
 */
export const sdkProviderConfigShape = {
  apiKey: z.string().min(1).optional(),
  baseURL: z.url({ protocol: /^https?$/ }).optional(),
  defaultHeaders: z.record(z.string(), z.string()).optional(),
  models: z.array(z.string().min(1)).optional(),
  timeoutMs: z.int().positive().optional(),
  capabilities: capabilitiesConfigSchema.optional(),
  passthrough: z.boolean().optional(),
  proxy: z.string().min(1).optional(),
  ca: z.string().min(1).optional(),
};
