import { createEventBus, type PluginContext, silentLogger, systemClock, validateConfig } from '@bulwark/core';
import { describe, expect, it } from 'vitest';
import { otelConfigSchema, plugin } from './plugin.js';
import type { Tracing } from './tracing.js';

describe('otel plugin', () => {
  it('validates its config and creates the call-level tracing middleware', async () => {
    expect(plugin).toMatchObject({ kind: 'middleware', name: 'otel', packageName: '@bulwark/otel' });
    const config = await validateConfig(otelConfigSchema, { recordContent: true }, 'otel');
    const context: PluginContext = {
      name: 'otel',
      path: 'otel',
      clock: systemClock,
      logger: silentLogger,
      events: createEventBus(),
      create: () => Promise.reject(new Error('not used')),
    };
    const tracing = (await plugin.create(config, context)) as Tracing;
    expect(tracing).toMatchObject({ specificationVersion: 'v1', name: 'otel', stage: 'observe' });
    expect(tracing.attempt).toMatchObject({ name: 'otel-attempt', level: 'target' });
    await expect(validateConfig(otelConfigSchema, { recordContent: 'yes' }, 'otel')).rejects.toThrow(
      /otel\.recordContent/,
    );
    await expect(validateConfig(otelConfigSchema, { sampleRate: 1 }, 'otel')).rejects.toThrow(/otel/);
  });
});
