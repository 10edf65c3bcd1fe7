-- Count a user's connection unless `most` of theirs are open on live nodes.
-- KEYS: 1 the user's connection hash ("<instance> <connection id>" -> 1)
-- ARGV: 1 heartbeat key prefix, 2 field, 3 most
-- Returns 1 when the connection was counted. Fields of processes whose heartbeat is gone (a node
-- that died without closing its connections) are removed on the way.
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
