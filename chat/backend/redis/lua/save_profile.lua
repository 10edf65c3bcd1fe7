-- Store a profile and keep the directory's indexes in step with it, in one step (two nodes saving
-- the same user cannot leave a stale directory entry behind).
-- KEYS: 1 people (hash id -> profile JSON), 2 people:dirkey (hash id -> its directory member),
--       3 people:dir (zset, score 0, members "<name casefolded>\0<id>": visible profiles in directory
--       order), 4 people:hidden (set), 5 people:staff (set of hosts and moderators),
--       6 people:anon (zset id -> ms last saved or counted online: anonymous profiles),
--       7 people:find (hash id -> what directory.lua filters by)
-- ARGV: 1 id, 2 profile JSON, 3 directory member, 4 "1" when host or moderator, 5 "1" when anonymous,
--       6 now (ms), 7 the profile's filter fields (see directory.lua)
local old = redis.call('HGET', KEYS[2], ARGV[1])
if old and old ~= ARGV[3] then
  redis.call('ZREM', KEYS[3], old)
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
redis.call('HSET', KEYS[7], ARGV[1], ARGV[7])
if redis.call('SISMEMBER', KEYS[4], ARGV[1]) == 0 then
  redis.call('ZADD', KEYS[3], 0, ARGV[3])
end
if ARGV[4] == '1' then
  redis.call('SADD', KEYS[5], ARGV[1])
else
  redis.call('SREM', KEYS[5], ARGV[1])
end
if ARGV[5] == '1' then
  redis.call('ZADD', KEYS[6], 'GT', ARGV[6], ARGV[1])
else
  redis.call('ZREM', KEYS[6], ARGV[1])
end
return 1
