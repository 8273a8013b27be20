import { defineScript, luaNow } from './redis-script.js';

/*
 * `acquireBreaker` and `recordBreaker` of `@bulwark/breaker` (breaker-store.ts) as Lua over one JSON
 * snapshot per key, with Redis `TIME` as the clock. ARGV[1..10] is the policy in `policyArgs` order;
 * replies are JSON. The last ARGV is the time (`luaNow`). Every number read from the snapshot is checked for nil before arithmetic.
 */
const common = `${luaNow}
local P = {
  failureThreshold = tonumber(ARGV[1]), failureRatio = tonumber(ARGV[2]), minimumCalls = tonumber(ARGV[3]),
  windowMs = tonumber(ARGV[4]), bucketMs = tonumber(ARGV[5]), cooldownMs = tonumber(ARGV[6]),
  maxCooldownMs = tonumber(ARGV[7]), cooldownMultiplier = tonumber(ARGV[8]), halfOpenProbes = tonumber(ARGV[9]),
  probeTimeoutMs = tonumber(ARGV[10]), ttlMs = tonumber(ARGV[11])
}
local function list(value)
  if type(value) ~= 'table' then return {} end
  return value
end
local function load()
  local raw = redis.call('GET', KEYS[1])
  local s = {}
  if raw then s = cjson.decode(raw) end
  s.state = (s.state == 'open' or s.state == 'half-open') and s.state or 'closed'
  s.epoch = tonumber(s.epoch) or 0
  s.consecutiveFailures = tonumber(s.consecutiveFailures) or 0
  s.buckets = list(s.buckets)
  s.probes = list(s.probes)
  s.opens = tonumber(s.opens) or 0
  s.probeSuccesses = tonumber(s.probeSuccesses) or 0
  s.nextProbeId = tonumber(s.nextProbeId) or 1
  s.openedAt = tonumber(s.openedAt)
  s.openUntil = tonumber(s.openUntil)
  return s
end
local function save(s)
  redis.call('SET', KEYS[1], cjson.encode(s), 'PX', P.ttlMs)
end
local function cooldownFor(opens)
  local grown = P.cooldownMs * (P.cooldownMultiplier ^ math.max(0, opens - 1))
  return math.min(math.max(P.cooldownMs, P.maxCooldownMs), grown)
end
local function open(s, reason)
  local from = s.state
  s.opens = s.opens + 1
  s.state = 'open'
  s.epoch = s.epoch + 1
  s.openedAt = now
  s.openUntil = now + cooldownFor(s.opens)
  s.consecutiveFailures = 0
  s.buckets = {}
  s.probes = {}
  s.probeSuccesses = 0
  return { from = from, to = 'open', reason = reason }
end
`;

export const breakerAcquireScript = defineScript(
  'BreakerAcquire',
  `${common}
local s = load()
if s.state == 'closed' then return cjson.encode({ allowed = true, state = 'closed', epoch = s.epoch }) end
local transition = nil
if s.state == 'open' then
  local remaining = (s.openUntil or 0) - now
  if remaining > 0 then return cjson.encode({ allowed = false, state = 'open', retryAfterMs = remaining }) end
  s.state = 'half-open'
  s.epoch = s.epoch + 1
  s.probes = {}
  s.probeSuccesses = 0
  transition = { from = 'open', to = 'half-open', reason = 'cooldown-elapsed' }
end
local live = {}
for _, probe in ipairs(s.probes) do
  if type(probe) == 'table' and tonumber(probe[2]) and tonumber(probe[2]) > now then table.insert(live, probe) end
end
s.probes = live
if #s.probes + s.probeSuccesses < P.halfOpenProbes then
  local probe = s.nextProbeId
  s.nextProbeId = probe + 1
  table.insert(s.probes, { probe, now + P.probeTimeoutMs })
  save(s)
  return cjson.encode({ allowed = true, state = 'half-open', epoch = s.epoch, probe = probe, transition = transition })
end
save(s)
local soonest = nil
for _, probe in ipairs(s.probes) do
  if soonest == nil or probe[2] < soonest then soonest = probe[2] end
end
local retryAfterMs = P.probeTimeoutMs
if soonest then retryAfterMs = math.max(1, soonest - now) end
return cjson.encode({ allowed = false, state = 'half-open', retryAfterMs = retryAfterMs, transition = transition })
`,
);

/** ARGV[12] ticket epoch, ARGV[13] probe id or '', ARGV[14] outcome. */
export const breakerRecordScript = defineScript(
  'BreakerRecord',
  `${common}
local epoch = tonumber(ARGV[12])
local probeId = tonumber(ARGV[13])
local outcome = ARGV[14]
local s = load()
if epoch ~= s.epoch then return cjson.encode({ state = s.state }) end
if s.state == 'half-open' then
  local slot = nil
  for index, probe in ipairs(s.probes) do
    if tonumber(probe[1]) == probeId then slot = index end
  end
  if probeId == nil or slot == nil then return cjson.encode({ state = 'half-open' }) end
  table.remove(s.probes, slot)
  if outcome == 'failure' then
    local transition = open(s, 'probe-failed')
    save(s)
    return cjson.encode({ state = 'open', transition = transition })
  end
  if outcome == 'success' then
    s.probeSuccesses = s.probeSuccesses + 1
    if s.probeSuccesses >= P.halfOpenProbes then
      s.state = 'closed'
      s.epoch = s.epoch + 1
      s.opens = 0
      s.consecutiveFailures = 0
      s.buckets = {}
      s.probes = {}
      s.probeSuccesses = 0
      save(s)
      return cjson.encode({ state = 'closed', transition = { from = 'half-open', to = 'closed', reason = 'probes-succeeded' } })
    end
  end
  save(s)
  return cjson.encode({ state = 'half-open' })
end
if s.state ~= 'closed' or outcome == 'ignored' then return cjson.encode({ state = s.state }) end
local oldest = now - P.windowMs
local kept = {}
for _, bucket in ipairs(s.buckets) do
  if type(bucket) == 'table' and tonumber(bucket[1]) and tonumber(bucket[1]) + P.bucketMs > oldest then
    table.insert(kept, bucket)
  end
end
s.buckets = kept
local start = now - (now % P.bucketMs)
local last = s.buckets[#s.buckets]
if last == nil or last[1] ~= start then
  last = { start, 0, 0 }
  table.insert(s.buckets, last)
end
last[2] = (tonumber(last[2]) or 0) + 1
if outcome == 'success' then
  s.consecutiveFailures = 0
  save(s)
  return cjson.encode({ state = 'closed' })
end
last[3] = (tonumber(last[3]) or 0) + 1
s.consecutiveFailures = s.consecutiveFailures + 1
if P.failureThreshold > 0 and s.consecutiveFailures >= P.failureThreshold then
  local transition = open(s, 'consecutive')
  save(s)
  return cjson.encode({ state = 'open', transition = transition })
end
if P.failureRatio > 0 then
  local calls = 0
  local failures = 0
  for _, bucket in ipairs(s.buckets) do
    calls = calls + (tonumber(bucket[2]) or 0)
    failures = failures + (tonumber(bucket[3]) or 0)
  end
  if calls >= P.minimumCalls and failures >= P.failureRatio * calls then
    local transition = open(s, 'ratio')
    save(s)
    return cjson.encode({ state = 'open', transition = transition })
  end
end
save(s)
return cjson.encode({ state = 'closed' })
`,
);
