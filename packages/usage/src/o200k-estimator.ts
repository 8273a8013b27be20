import { ConfigError, type TokenEstimatorV1 } from '@bulwark/core';

/** What `loadO200kTokenEstimator` needs of the tokenizer module (`gpt-tokenizer/encoding/o200k_base`). */
export interface O200kEncoder {
  countTokens(text: string, options?: { disallowedSpecial?: Set<string> }): number;
}

/** Special-token text (`<|endoftext|>`) in a prompt is counted as ordinary text, never refused. */
const noSpecialTokens = { disallowedSpecial: new Set<string>() };

/** The package that provides the exact estimator: an optional peer of `@bulwark/usage`. */
export const o200kTokenizerPackage = 'gpt-tokenizer';

/**
 * An exact token estimator backed by OpenAI's o200k tokenizer (`gpt-tokenizer`, an optional peer: `npm
 * install gpt-tokenizer`). Exact for GPT-4o-family and newer OpenAI models; other providers' tokenizers
 * differ, so for them it is a close estimate rather than their count. Rejects with a `ConfigError`
 * naming the package when it is not installed.
 *
 * ```ts
 * const tokenEstimator = await loadO200kTokenEstimator();
 * const usage = createUsageTracker({ tokenEstimator });
 * ```
 */
export async function loadO200kTokenEstimator(
  options: {
    /** Loads the tokenizer module; tests and bundlers pass their own. */
    importer?: () => Promise<O200kEncoder>;
  } = {},
): Promise<TokenEstimatorV1> {
  const importer =
    options.importer ??
    (() =>
      import(/* @vite-ignore */ `${o200kTokenizerPackage}/encoding/o200k_base`) as Promise<O200kEncoder>);
  let encoder: O200kEncoder;
  try {
    encoder = await importer();
  } catch (error) {
    throw new ConfigError({
      path: 'tokenEstimator',
      message: `The o200k token estimator needs the optional package ${o200kTokenizerPackage}: npm install ${o200kTokenizerPackage}`,
      cause: error,
    });
  }
  return {
    specificationVersion: 'v1',
    name: 'o200k',
    exact: true,
    countText: (text) => (text.length === 0 ? 0 : encoder.countTokens(text, noSpecialTokens)),
  };
}
