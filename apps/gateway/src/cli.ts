#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { BulwarkError, createEventBus, createJsonLogger, redactSecrets, systemClock } from '@bulwark/core';
import { stringify as toYaml } from 'yaml';
import type { GatewayConfigInput } from './config/config-schema.js';
import { defaultConfig } from './config/default-config.js';
import {
  configMaxBytesFrom,
  readConfigFile,
  substituteEnv,
  validateGatewayConfig,
} from './config/load-config.js';
import { runDemo } from './demo/run-demo.js';
import { startGateway } from './gateway.js';
import { createKey, revokeKeys } from './keys/keys-command.js';
import { buildPlan } from './plan/build-plan.js';

const usage = `Usage:
  bulwark serve [--config FILE] [--port N] [--host H]   start the gateway (config: --config, else $BULWARK_CONFIG, else the built-in default)
  bulwark check-config FILE [--json]                    validate a config and print the resolved plan (no secrets)
  bulwark demo [--seconds N] [--open-seconds N] [--redis URL] [--port N]
                                                        a scripted outage against local fake upstreams (no network, no key)
  bulwark keys create --tenant T [--models a,b] [--rpm N] [--tpm N] [--concurrency N] [--expires-at ISO] [--config FILE]
                                                        make a key in the config's auth.source; prints it once, stores only its SHA-256
  bulwark keys revoke --tenant T [--config FILE]        remove a tenant's keys from auth.source (every replica stops accepting them)
  bulwark --version | --help`;

interface Flags {
  positional: string[];
  values: Map<string, string>;
  switches: Set<string>;
}

function parseArguments(argv: readonly string[]): Flags {
  const flags: Flags = { positional: [], values: new Map(), switches: new Set() };
  for (let index = 0; index < argv.length; index += 1) {
    const argument = argv[index]!;
    if (argument === '--json' || argument === '--help' || argument === '-h' || argument === '--version') {
      flags.switches.add(argument);
    } else if (argument.startsWith('--')) {
      const equals = argument.indexOf('=');
      if (equals !== -1) flags.values.set(argument.slice(2, equals), argument.slice(equals + 1));
      else {
        const value = argv[index + 1];
        if (value === undefined || value.startsWith('--')) fail(`${argument} needs a value`);
        flags.values.set(argument.slice(2), value);
        index += 1;
      }
    } else flags.positional.push(argument);
  }
  return flags;
}

function fail(message: string): never {
  process.stderr.write(`bulwark: ${redactSecrets(message)}\n`);
  process.exit(1);
}

function describeError(error: unknown): string {
  if (BulwarkError.isInstance(error)) return error.message;
  return error instanceof Error ? error.message : String(error);
}

function version(): string {
  const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return manifest.version;
}

function loadRaw(file: string | undefined): { raw: GatewayConfigInput; source: string } {
  if (file) {
    const raw = readConfigFile(file, { maxBytes: configMaxBytesFrom(process.env) });
    return { raw: raw as GatewayConfigInput, source: file };
  }
  return { raw: defaultConfig(process.env), source: 'built-in default' };
}

async function serve(flags: Flags): Promise<void> {
  const file = flags.values.get('config') ?? process.env.BULWARK_CONFIG;
  const { raw, source } = loadRaw(file);
  const config = validateGatewayConfig(substituteEnv(raw, process.env));
  const port = flags.values.get('port');
  const host = flags.values.get('host');
  if (port !== undefined && !/^\d+$/.test(port))
    fail(`--port must be a number from 0 to 65535 (got "${port}")`);
  const gateway = await startGateway({
    config,
    ...(file === undefined ? {} : { configDirectory: dirname(resolve(file)) }),
    ...(port === undefined ? {} : { port: Number(port) }),
    ...(host === undefined ? {} : { host }),
  });
  process.stdout.write(
    `Bulwark gateway listening on ${gateway.url} (config: ${source})\n` +
      `  models: ${gateway.bulwark.aliases.join(', ') || '(pass-through only)'}\n` +
      `  try: curl ${gateway.url}/v1/chat/completions -H 'content-type: application/json' -d '{"model":"${gateway.bulwark.aliases[0] ?? 'MODEL'}","messages":[{"role":"user","content":"Hello"}]}'\n`,
  );
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`Received ${signal}: draining in-flight calls, then exiting\n`);
    gateway.close().then(
      () => process.exit(0),
      (error: unknown) => fail(`shutdown failed: ${describeError(error)}`),
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

async function checkConfig(flags: Flags): Promise<void> {
  const file = flags.positional[1];
  if (!file) fail(`check-config needs a FILE\n${usage}`);
  const raw = readConfigFile(file, { maxBytes: configMaxBytesFrom(process.env) });
  const config = validateGatewayConfig(substituteEnv(raw, process.env));
  const logger = createJsonLogger({ level: 'error' });
  const plan = await buildPlan(config, {
    logger,
    events: createEventBus({ logger }),
    clock: systemClock,
    configDirectory: dirname(resolve(file)),
  });
  try {
    const description = plan.describe();
    const text = flags.switches.has('--json')
      ? `${JSON.stringify(description, null, 2)}\n`
      : toYaml(description);
    process.stdout.write(`# ${file}: valid\n${redactSecrets(text)}`);
  } finally {
    await plan.close();
  }
}

function wholeNumber(flags: Flags, name: string): number | undefined {
  const value = flags.values.get(name);
  if (value === undefined) return undefined;
  if (!/^\d{1,6}$/.test(value)) fail(`--${name} must be a whole number (got "${value.slice(0, 20)}")`);
  return Number(value);
}

async function demo(flags: Flags): Promise<void> {
  const seconds = wholeNumber(flags, 'seconds');
  if (seconds === 0) fail('--seconds must be at least 1');
  const counts = await runDemo({
    ...(seconds === undefined ? {} : { seconds }),
    openSeconds: wholeNumber(flags, 'open-seconds') ?? 0,
    port: wholeNumber(flags, 'port') ?? 0,
    redis: flags.values.get('redis'),
  });
  process.exitCode = counts.failed === 0 ? 0 : 1;
}

async function keys(flags: Flags): Promise<void> {
  const action = flags.positional[1];
  const tenant = flags.values.get('tenant');
  if ((action !== 'create' && action !== 'revoke') || tenant === undefined)
    fail(`keys needs create or revoke and --tenant\n${usage}`);
  const { raw } = loadRaw(flags.values.get('config') ?? process.env.BULWARK_CONFIG);
  const config = validateGatewayConfig(substituteEnv(raw, process.env));
  if (action === 'revoke') {
    const removed = await revokeKeys(config, tenant);
    process.stdout.write(`revoked ${removed} key(s) of ${tenant}\n`);
    return;
  }
  const models = flags.values.get('models');
  const limits: { rpm?: number; tpm?: number; concurrency?: number } = {};
  for (const name of ['rpm', 'tpm', 'concurrency'] as const) {
    const value = wholeNumber(flags, name);
    if (value !== undefined) limits[name] = value;
  }
  const key = await createKey(config, {
    tenant,
    models: models
      ?.split(',')
      .map((model) => model.trim())
      .filter((model) => model !== ''),
    limits,
    expiresAt: flags.values.get('expires-at'),
  });
  process.stderr.write(`Key for ${tenant} (shown once; only its SHA-256 is stored):\n`);
  process.stdout.write(`${key}\n`);
}

async function main(): Promise<void> {
  const flags = parseArguments(process.argv.slice(2));
  if (flags.switches.has('--version')) {
    process.stdout.write(`${version()}\n`);
    return;
  }
  const command = flags.positional[0];
  if (
    flags.switches.has('--help') ||
    flags.switches.has('-h') ||
    command === undefined ||
    command === 'help'
  ) {
    process.stdout.write(`${usage}\n`);
    return;
  }
  if (command === 'serve') return serve(flags);
  if (command === 'check-config') return checkConfig(flags);
  if (command === 'demo') return demo(flags);
  if (command === 'keys') return keys(flags);
  fail(`unknown command "${command}"\n${usage}`);
}

main().catch((error: unknown) => fail(describeError(error)));
