import type { RedisScript } from './redis-client.js';

/** A script registered as `bulwark<Name>` (ioredis `defineCommand`). */
export function defineScript(name: string, lua: string): RedisScript {
  return { name: `bulwark${name}`, lua };
}

/**
 * The script's `now` in ms (and `callerTime`). The last ARGV is the caller's time, or `''` for Redis
 * `TIME` (the default: process clocks and their skew then do not matter). `replicate_commands` makes `TIME` safe before
 * writes on Redis < 5 (a no-op later).
 */
export const luaNow = `
local now = tonumber(ARGV[#ARGV])
local callerTime = now ~= nil
if now == nil then
  if redis.replicate_commands then redis.replicate_commands() end
  local clock = redis.call('TIME')
  now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
end
`;

/** Where a Redis store's scripts take their time from. */
export type TimeSource = 'redis' | 'caller';
