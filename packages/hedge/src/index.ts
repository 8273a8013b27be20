export type { AdaptiveDelayOptions, HedgingRouterOptions } from './hedging-router.js';
export { createHedgingRouter } from './hedging-router.js';
export type { LatencyTracker, LatencyTrackerOptions } from './latency-tracker.js';
export { createLatencyTracker } from './latency-tracker.js';
export type { HedgeConfig } from './plugin.js';
export { hedgeConfigSchema, plugin } from './plugin.js';
