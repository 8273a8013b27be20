export type { AttemptTimeoutOptions } from './attempt-timeout.js';
export { createAttemptTimeout } from './attempt-timeout.js';
export type { DeadlineOptions } from './deadline.js';
export { createDeadline } from './deadline.js';
export type { AttemptTimeoutConfig, DeadlineConfig } from './plugin.js';
export {
  attemptTimeoutConfigSchema,
  attemptTimeoutPlugin,
  deadlineConfigSchema,
  deadlinePlugin,
  plugins,
} from './plugin.js';
