import {
  ConfigError,
  type PluginContext,
  type PluginDescriptor,
  type ProviderCapabilities,
  type ProviderV1,
  registerSecret,
  type StandardSchemaV1,
} from '@bulwark/core';
import { createNodeFetch, type NodeFetch } from './node-fetch.js';

/** Throws a `ConfigError` at `path` unless `value` is absent or a positive integer. */
export function checkPositiveInteger(path: string, value: number | undefined): void {
  if (value === undefined) return;
  if (!Number.isInteger(value) || value <= 0) {
    throw new ConfigError({
      path,
      message: `Invalid configuration at ${path}: expected a positive integer, received ${String(value)}`,
    });
  }
}

/** Throws a `ConfigError` at `baseURL` unless it is absent or an http(s) URL; `example` shows a good one. */
export function checkBaseURL(baseURL: string | undefined, example: string): void {
  if (baseURL === undefined) return;
  let parsed: URL;
  try {
    parsed = new URL(baseURL);
  } catch {
    throw new ConfigError({
      path: 'baseURL',
      message: `Invalid configuration at baseURL: ${JSON.stringify(baseURL)} is not a URL (expected e.g. "${example}")`,
    });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ConfigError({
      path: 'baseURL',
      message: `Invalid configuration at baseURL: expected an http(s) URL, received protocol ${parsed.protocol}`,
    });
  }
}

/** What every official-SDK client gets: no SDK retries, Bulwark's timeout and transport, no console logging. */
export interface SdkClientSettings {
  apiKey: string;
  baseURL?: string;
  defaultHeaders?: Record<string, string>;
  maxRetries: 0;
  timeout: number;
  fetch: typeof fetch;
  logLevel: 'off';
}

/** Options of {@link createSdkClient}. */
export interface SdkClientOptions<Client> {
  /** A client the user configured: used as is (every request still passes `maxRetries: 0`). */
  client?: Client;
  /** The API key; when absent, `process.env[apiKeyEnv]`. */
  apiKey?: string;
  /** The environment variable that holds the key (`OPENAI_API_KEY`). */
  apiKeyEnv: string;
  /** Said after the variable's name when the key is missing (`servers that ignore keys accept any string`). */
  apiKeyHint?: string;
  baseURL?: string;
  /** A valid base URL, quoted when `baseURL` does not parse. */
  baseURLExample: string;
  defaultHeaders?: Record<string, string>;
  /** The transport; default a `createNodeFetch()` owned (and closed) by the provider. */
  fetch?: typeof fetch;
  /** Proxy URL for the default transport (see `NodeFetchOptions.proxy`); default from the environment. */
  proxy?: string;
  /** Extra trusted CA certificates (PEM) for the default transport. */
  ca?: string;
  /** The SDK's own timeout (response headers). */
  timeoutMs: number;
  /** Builds the SDK client from the settings (add the SDK's own options here). */
  create(settings: SdkClientSettings): Client;
}

/**
 * The SDK client of a provider: the user's `client`, or one built with the key checked and
 * registered as a secret, the base URL checked, SDK retries off and the transport set. `close()`
 * releases the sockets of a transport it created.
 */
export function createSdkClient<Client>(options: SdkClientOptions<Client>): {
  client: Client;
  close(): void;
} {
  if (options.client) return { client: options.client, close: () => {} };
  const apiKey = options.apiKey ?? process.env[options.apiKeyEnv];
  if (typeof apiKey !== 'string' || apiKey.trim() === '') {
    const hint = options.apiKeyHint ? `; ${options.apiKeyHint}` : '';
    throw new ConfigError({
      path: 'apiKey',
      message: `Invalid configuration at apiKey: an API key is required (set apiKey or ${options.apiKeyEnv}${hint})`,
    });
  }
  checkBaseURL(options.baseURL, options.baseURLExample);
  registerSecret(apiKey);
  let ownFetch: NodeFetch | undefined;
  if (!options.fetch) {
    ownFetch = createNodeFetch({
      ...(options.proxy === undefined ? {} : { proxy: options.proxy }),
      ...(options.ca === undefined ? {} : { ca: options.ca }),
    });
  }
  const client = options.create({
    apiKey,
    ...(options.baseURL === undefined ? {} : { baseURL: options.baseURL }),
    ...(options.defaultHeaders === undefined ? {} : { defaultHeaders: options.defaultHeaders }),
    maxRetries: 0,
    timeout: options.timeoutMs,
    fetch: options.fetch ?? (ownFetch as typeof fetch),
    // SDKs log unparseable chunks verbatim to the console; errors carry them (redacted) instead.
    logLevel: 'off',
  });
  return { client, close: () => ownFetch?.close() };
}

/**
 * Runs a provider factory for a plugin entry: a `ConfigError` it throws names the option by its
 * path in the config file (`providers.main.baseURL`), not by the option name alone.
 */
export function atConfigPath<T>(context: Pick<PluginContext, 'path'>, create: () => T): T {
  try {
    return create();
  } catch (error) {
    if (ConfigError.isInstance(error)) {
      const path = `${context.path}.${(error as ConfigError).path}`;
      throw new ConfigError({
        path,
        message: error.message.replace(/at [\w.]+:/, `at ${path}:`),
        cause: error,
      });
    }
    throw error;
  }
}

/**
 * A provider plugin descriptor whose `create` names the provider after its config entry and reports
 * a `ConfigError` at the option's path in the config file ({@link atConfigPath}).
 */
export function providerPlugin<Config>(definition: {
  name: string;
  packageName: string;
  description: string;
  configSchema: StandardSchemaV1<unknown, Config>;
  create(config: Config & { name: string }): ProviderV1;
}): PluginDescriptor<'provider', Config> {
  return {
    specificationVersion: 'v1',
    kind: 'provider',
    name: definition.name,
    packageName: definition.packageName,
    description: definition.description,
    configSchema: definition.configSchema,
    create: (config, context) =>
      atConfigPath(context, () => definition.create({ ...config, name: context.name })),
  };
}

/** The options every SDK-based provider takes; a provider's own options extend them. */
export interface SdkProviderOptions<Client> {
  /** Instance name targets refer to. Default the provider's kind (`openai`, `anthropic`). */
  name?: string;
  /** API key. Default the provider's environment variable (`OPENAI_API_KEY`, `ANTHROPIC_API_KEY`). */
  apiKey?: string;
  /** Base URL of the API. Default the SDK's. */
  baseURL?: string;
  /** Headers sent with every request. */
  defaultHeaders?: Record<string, string>;
  /**
   * A configured SDK client to use instead of creating one (`apiKey`, `baseURL`, `defaultHeaders` and
   * the SDK-specific options are then ignored). Its own retries never run: every request the provider
   * makes passes `maxRetries: 0`, so Bulwark's retry layer counts each attempt once, and `timeoutMs`
   * replaces the client's own timeout.
   */
  client?: Client;
  /**
   * The `fetch` the SDK sends requests with (ignored with `client`). Default: `createNodeFetch()` on
   * `node:http` with keep-alive sockets, which costs about half the CPU per call of Node 20's built-in
   * fetch; pass `globalThis.fetch` to use the built-in one.
   */
  fetch?: typeof fetch;
  /** Models this provider is known to serve (used for pass-through routing). */
  models?: readonly string[];
  /**
   * How long the SDK waits for response headers before the attempt fails with
   * `TimeoutError { phase: 'first-token' }`. Default 600 000 ms. Bulwark's own timeout middleware and
   * the call deadline abort earlier through the call's signal.
   */
  timeoutMs?: number;
  /** Overrides of the advertised capabilities (e.g. `{ vision: false }` for a text-only local model). */
  capabilities?: Partial<ProviderCapabilities>;
  /**
   * Take calls in the provider's own wire format as sent (`ProviderV1.passthrough`, used by the
   * gateway when the client speaks the same API). Default true; false sends every call through the
   * normalized mapping (translation), with Bulwark's own request validation.
   */
  passthrough?: boolean;
  /**
   * An `http://[user:pass@]host:port` proxy for every call of the default transport (HTTPS through a
   * `CONNECT` tunnel). Default: `HTTPS_PROXY` / `HTTP_PROXY` unless `NO_PROXY` exempts the upstream
   * (loopback is proxied too unless listed). Ignored with `fetch` or `client`.
   */
  proxy?: string;
  /** Extra trusted CA certificates (PEM) for HTTPS upstreams (a TLS-inspecting corporate proxy's). */
  ca?: string;
}
