-- Keep the highest role a user was ever seen with in a room (host > moderator > delegate).
-- KEYS: 1 roles hash (user id -> role); ARGV: 1 user id, 2 role
local rank = {delegate = 0, moderator = 1, host = 2}
local known = redis.call('HGET', KEYS[1], ARGV[1])
if not known or (rank[known] or -1) < rank[ARGV[2]] then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end
return 1
