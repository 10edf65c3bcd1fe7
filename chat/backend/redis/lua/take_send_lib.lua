-- Shared by take_send.lua and send.lua: one send's limits in one step (LimitStore.take_send), on
-- Redis' clock: a token of the user's bucket {t: tokens, s: stamp ms} and, with a slow mode, the
-- (room, user) stamp key; both are taken or neither. slow_ms 0: no slow mode (the key is not touched).
-- Returns {token wait in seconds as a string ('-1.000' = never: a zero rate), slow ms left}.
local function take_send(bucket, slow, rate, burst, slow_ms)
  local now = redis.call('TIME')
  -- arithmetic reads TIME's two strings as numbers once each (tonumber parses a string twice)
  local now_ms = now[1] * 1000 + math.floor(now[2] / 1000)
  local saved = redis.call('HMGET', bucket, 't', 's')
  local tokens, stamp = tonumber(saved[1]) or burst, tonumber(saved[2]) or now_ms
  tokens = math.min(burst, tokens + math.max(0, now_ms - stamp) / 1000 * rate)
  local wait = 0
  if tokens < 1 then
    wait = rate > 0 and (1 - tokens) / rate or -1
  end
  local slow_left = 0
  if slow_ms > 0 and redis.call('EXISTS', slow) == 1 then
    slow_left = math.max(1, redis.call('PTTL', slow))
  end
  if wait == 0 and slow_left == 0 then
    -- the stamp with %d: the digits tostring gives a whole number of ms, without a float's formatting
    redis.call('HSET', bucket, 't', tostring(tokens - 1), 's', string.format('%d', now_ms))
    -- a bucket that has refilled is the same as no bucket: let it expire then
    local refill_ms = rate > 0 and math.ceil(burst / rate * 1000) or 86400000
    redis.call('PEXPIRE', bucket, refill_ms + 1000)
    if slow_ms > 0 then
      redis.call('SET', slow, '1', 'PX', slow_ms)
    end
  end
  return {wait == 0 and '0.000' or string.format('%.3f', wait), slow_left}  -- no format when allowed
end
