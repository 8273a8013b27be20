import type { Bulwark } from '@bulwark/core';

/** Decides whether a key may call a model name. */
export type ModelAllowlist = (model: string, bulwark: Bulwark) => boolean;

const patternOf = (pattern: string): RegExp =>
  new RegExp(
    `^${pattern
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );

/**
 * A key's `models`: aliases by name, pass-through models by `provider/model` patterns (`*` matches any
 * run of characters, `gpt/*` every model of the `gpt` provider). An alias is allowed when a pattern
 * matches its name; any other name when a pattern matches it, or matches every `provider/model` it
 * resolves to (a bare `gpt-4o` served by the `gpt` provider is `gpt/gpt-4o`).
 */
export function createModelAllowlist(patterns: readonly string[]): ModelAllowlist {
  const expressions = patterns.map(patternOf);
  const matches = (name: string): boolean => expressions.some((expression) => expression.test(name));
  return (model, bulwark) => {
    if (matches(model)) return true;
    if (bulwark.aliases.includes(model)) return false;
    try {
      const { targets } = bulwark.resolve(model);
      return targets.length > 0 && targets.every((target) => matches(`${target.provider}/${target.model}`));
    } catch {
      // An unknown model is not this key's to learn about: refused like any other it may not use.
      return false;
    }
  };
}
