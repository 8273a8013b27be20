import { defineScript, luaNow } from './redis-script.js';

/*
 * The GCRA math of `@bulwark/limiter` (`gcra.ts`) as Lua, one theoretical arrival time per dimension key.
 * ARGV holds, per dimension, `cost|delta`, `emission` (ms per unit) and `tolerance` (burst × emission),
 * then the script's own arguments, then the time (`luaNow`).
 * Every key is passed in KEYS and shares one hash tag, so the scripts run on Redis Cluster.
 */

const readTats = `
local tats = {}
for i = 1, #KEYS do
  local stored = tonumber(redis.call('GET', KEYS[i]))
  if stored == nil or stored < now then stored = now end
  tats[i] = stored
end
-- A key outlives its debt by a second; on the caller's clock, which may run apart from Redis' (virtual
-- time in tests, skewed hosts), by a minute.
local slack = 1000
if callerTime then slack = 60000 end
local function store(i, tat)
  redis.call('SET', KEYS[i], string.format('%.3f', tat), 'PX', math.max(1, math.ceil(tat - now)) + slack)
end
`;

/** Returns `{allowed (1|0), retryAfterMs}`; charges every dimension or none. */
export const acquireScript = defineScript(
  'LimiterAcquire',
  `${luaNow}${readTats}
local wait = 0
for i = 1, #KEYS do
  local cost = tonumber(ARGV[i * 3 - 2])
  if cost > 0 then
    local emission = tonumber(ARGV[i * 3 - 1])
    local tolerance = tonumber(ARGV[i * 3])
    local allowAt = math.min(tats[i] + cost * emission - tolerance, tats[i])
    if allowAt - now > wait then wait = allowAt - now end
  end
end
if wait > 0 then return {0, math.ceil(wait)} end
for i = 1, #KEYS do
  local cost = tonumber(ARGV[i * 3 - 2])
  if cost > 0 then store(i, tats[i] + cost * tonumber(ARGV[i * 3 - 1])) end
end
return {1, 0}
`,
);

/** Charges (positive) or refunds (negative) units; a refund never makes a bucket more than full. */
export const adjustScript = defineScript(
  'LimiterAdjust',
  `${luaNow}${readTats}
for i = 1, #KEYS do
  local delta = tonumber(ARGV[i * 3 - 2])
  if delta ~= 0 then store(i, math.max(tats[i] + delta * tonumber(ARGV[i * 3 - 1]), now)) end
end
return 1
`,
);

/** Empties every bucket and keeps it empty for ARGV[#KEYS * 3 + 1] ms. */
export const pauseScript = defineScript(
  'LimiterPause',
  `${luaNow}${readTats}
local duration = tonumber(ARGV[#KEYS * 3 + 1])
for i = 1, #KEYS do
  local emptyAt = now + duration + tonumber(ARGV[i * 3])
  if emptyAt > tats[i] then store(i, emptyAt) end
end
return 1
`,
);
