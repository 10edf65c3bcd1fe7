-- Count a user's connection unless `most` of theirs are open on live nodes.
-- KEYS: 1 the user's connection hash ("<instance> <connection id>" -> 1), 2 the event-wide
--       instances hash (instance -> ms until which it counts, refreshed by beat.lua): both
--       event-wide keys, so one slot on Redis Cluster
-- ARGV: 1 this instance (unused here), 2 field, 3 most
-- Returns 1 when the connection was counted. Fields of processes whose heartbeat is gone (a node
-- that died without closing its connections) are removed on the way.
alive_key = KEYS[2]
local live = 0
for _, field in ipairs(redis.call('HKEYS', KEYS[1])) do
  if field == ARGV[2] then
    return 1
  end
  if alive(field) then
    live = live + 1
  else
    redis.call('HDEL', KEYS[1], field)
  end
end
if live >= tonumber(ARGV[3]) then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[2], 1)
return 1
