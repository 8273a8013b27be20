import { createPluginRegistry, createVirtualClock } from '@bulwark/core';
import { describe, expect, it } from 'vitest';
import { defaultTotalMs, plugins } from './plugin.js';

describe('timeout plugins', () => {
  it('share one config: the deadline takes totalMs (default two minutes), the attempt timeout the rest', async () => {
    const registry = createPluginRegistry({ plugins: [...plugins], clock: createVirtualClock() });
    const section = { totalMs: 5000, firstTokenMs: 100, idleMs: 50 };
    const deadline = await registry.create('middleware', 'deadline', section, 'timeout');
    const timeout = await registry.create('middleware', 'timeout', section, 'timeout');
    expect(deadline).toMatchObject({ name: 'deadline', stage: 'deadline' });
    expect(timeout).toMatchObject({ stage: 'timeout' });
    expect(defaultTotalMs).toBe(120_000);
    await expect(registry.create('middleware', 'deadline', {}, 'timeout')).resolves.toMatchObject({
      stage: 'deadline',
    });
    await expect(registry.create('middleware', 'timeout', { idle: 5 }, 'timeout')).rejects.toThrow(
      /timeout: Unrecognized key: "idle"/,
    );
  });
});
