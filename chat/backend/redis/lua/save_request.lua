-- Store a contact request, unless it comes from someone its target has not talked to (a stranger)
-- and the target has `cap` such requests waiting already: the count and the write in one step.
-- KEYS: 1 requests hash, 2 the sender's request-id set, 3 the target's, 4 the target's stranger zset
--       (request id -> expiry ms)
-- ARGV: 1 request id, 2 request JSON, 3 stranger (1/0), 4 cap (-1: none), 5 expires (ms), 6 now (ms)
-- Returns 1 when stored, 0 when the cap refused it.
if ARGV[3] == '1' then
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', ARGV[6])  -- expired: waiting no more
  local cap = tonumber(ARGV[4])
  if cap >= 0 and redis.call('ZCARD', KEYS[4]) >= cap then
    return 0
  end
  redis.call('ZADD', KEYS[4], ARGV[5], ARGV[1])
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('SADD', KEYS[3], ARGV[1])
return 1
