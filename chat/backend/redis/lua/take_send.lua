-- One send's limits in one step (LimitStore.take_send), on Redis' clock: a token of the user's
-- bucket and, with a slow mode, the (room, user) slot; both are taken or neither.
-- KEYS: 1 bucket hash {t: tokens, s: stamp ms}, 2 slow-mode stamp key;
-- ARGV: 1 rate per second, 2 burst, 3 slow mode in ms (0: none, KEYS[2] is not touched)
-- Returns {token wait in seconds as a string ('-1.000' = never: a zero rate), slow ms left}.
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local rate, burst, slow_ms = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local saved = redis.call('HMGET', KEYS[1], 't', 's')
local tokens, stamp = tonumber(saved[1]) or burst, tonumber(saved[2]) or now_ms
tokens = math.min(burst, tokens + math.max(0, now_ms - stamp) / 1000 * rate)
local wait = 0
if tokens < 1 then
  wait = rate > 0 and (1 - tokens) / rate or -1
end
local slow_left = 0
if slow_ms > 0 and redis.call('EXISTS', KEYS[2]) == 1 then
  slow_left = math.max(1, redis.call('PTTL', KEYS[2]))
end
if wait == 0 and slow_left == 0 then
  redis.call('HSET', KEYS[1], 't', tostring(tokens - 1), 's', tostring(now_ms))
  -- a bucket that has refilled is the same as no bucket: let it expire then
  local refill_ms = rate > 0 and math.ceil(burst / rate * 1000) or 86400000
  redis.call('PEXPIRE', KEYS[1], refill_ms + 1000)
  if slow_ms > 0 then
    redis.call('SET', KEYS[2], '1', 'PX', slow_ms)
  end
end
return {string.format('%.3f', wait), slow_left}
