-- A node process's heartbeat in the event-wide instances hash (what open_connection.lua counts
-- connections by), on Redis' clock; entries of processes gone for a while are dropped.
-- KEYS: 1 instances hash; ARGV: 1 instance, 2 TTL in ms
local clock = redis.call('TIME')
local now_ms = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
redis.call('HSET', KEYS[1], ARGV[1], tostring(now_ms + tonumber(ARGV[2])))
local stamps = redis.call('HGETALL', KEYS[1])
for i = 1, #stamps, 2 do
  if tonumber(stamps[i + 1]) + 60000 <= now_ms then
    redis.call('HDEL', KEYS[1], stamps[i])
  end
end
return 1
