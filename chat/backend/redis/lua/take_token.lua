-- Spend one of a user's send tokens, on Redis' clock. KEYS: 1 bucket hash {t: tokens, s: stamp ms};
-- ARGV: 1 rate per second, 2 burst. Returns the seconds to wait as a string ('0.000' = allowed,
-- '-1.000' = never: a zero rate).
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local saved = redis.call('HMGET', KEYS[1], 't', 's')
local tokens, stamp = tonumber(saved[1]) or burst, tonumber(saved[2]) or now_ms
tokens = math.min(burst, tokens + math.max(0, now_ms - stamp) / 1000 * rate)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
elseif rate > 0 then
  wait = (1 - tokens) / rate
else
  wait = -1
end
redis.call('HSET', KEYS[1], 't', tostring(tokens), 's', tostring(now_ms))
-- a bucket that has refilled is the same as no bucket: let it expire then
local refill_ms = rate > 0 and math.ceil(burst / rate * 1000) or 86400000
redis.call('PEXPIRE', KEYS[1], refill_ms + 1000)
return string.format('%.3f', wait)
