-- A user's mute, forgetting it once expired. KEYS: 1 mutes hash; ARGV: 1 user, 2 now (ms)
-- Returns false (not muted), '' (until unmuted) or the end in ms.
local until_ms = redis.call('HGET', KEYS[1], ARGV[1])
if until_ms and until_ms ~= '' and tonumber(until_ms) <= tonumber(ARGV[2]) then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return false
end
return until_ms
