import { describe, expect, it } from 'vitest';
import { createEventBus } from './event-bus.js';

describe('event bus', () => {
  it('delivers typed events to listeners and onAny, and unsubscribes', () => {
    const bus = createEventBus();
    const seen: string[] = [];
    const off = bus.on('breaker:state', (event) => seen.push(`${event.provider}:${event.from}->${event.to}`));
    bus.onAny((name) => seen.push(name));
    expect(bus.has('breaker:state')).toBe(true);
    bus.emit('breaker:state', { provider: 'p', model: 'm', from: 'closed', to: 'open' });
    off();
    bus.emit('breaker:state', { provider: 'p', model: 'm', from: 'open', to: 'half-open' });
    expect(seen).toEqual(['p:closed->open', 'breaker:state', 'breaker:state']);
  });

  it('keeps going when a listener throws, and logs it', () => {
    const warnings: string[] = [];
    const logger = { debug() {}, info() {}, error() {}, warn: (message: string) => warnings.push(message) };
    const bus = createEventBus({ logger });
    let delivered = false;
    bus.on('cache:error', () => {
      throw new Error('listener bug');
    });
    bus.on('cache:error', () => {
      delivered = true;
    });
    bus.emit('cache:error', { operation: 'get', error: 'x' });
    expect(delivered).toBe(true);
    expect(warnings).toEqual(['event listener threw']);
  });

  it('reports no listener so emitters can skip building payloads', () => {
    expect(createEventBus().has('call:start')).toBe(false);
  });
});
