/**
 * Where `${env:…}` put values into a config: each path with the text as written (`${env:KEY}`), and
 * each value taken from the environment with the reference it came from. Every such value is a
 * secret until proven otherwise: errors and `check-config` show the reference, never the value.
 */
export interface EnvSubstitutions {
  /** Path (`providers.main.apiKey`) → the string as written in the file. */
  readonly paths: ReadonlyMap<string, string>;
  /** Value read from the environment → the reference it replaced (`${env:KEY}`). */
  readonly values: ReadonlyMap<string, string>;
}

const substitutionsByConfig = new WeakMap<object, EnvSubstitutions>();

/** The `${env:…}` substitutions behind a config returned by `substituteEnv` or `validateGatewayConfig`. */
export function envSubstitutionsOf(config: unknown): EnvSubstitutions | undefined {
  return typeof config === 'object' && config !== null ? substitutionsByConfig.get(config) : undefined;
}

/** Ties substitutions to a config object (a validated config inherits its input's). */
export function rememberSubstitutions(config: unknown, substitutions: EnvSubstitutions | undefined): void {
  if (substitutions && typeof config === 'object' && config !== null)
    substitutionsByConfig.set(config, substitutions);
}
