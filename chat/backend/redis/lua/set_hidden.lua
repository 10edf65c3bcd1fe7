-- Hide a profile from the directory (or show it again): the hidden set and the directory index together.
-- KEYS: 1 people:hidden (set), 2 people:dirkey (hash id -> directory member), 3 people:dir (zset)
-- ARGV: 1 id, 2 "1" to hide, "0" to show
local member = redis.call('HGET', KEYS[2], ARGV[1])
if ARGV[2] == '1' then
  redis.call('SADD', KEYS[1], ARGV[1])
  if member then redis.call('ZREM', KEYS[3], member) end
else
  redis.call('SREM', KEYS[1], ARGV[1])
  if member then redis.call('ZADD', KEYS[3], 0, member) end
end
return 1
