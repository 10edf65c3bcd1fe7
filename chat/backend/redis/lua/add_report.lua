-- Store a report once per (room, message, reporter) and keep the newest ARGV[3]: beyond that the
-- oldest closed report goes first, then the oldest open one.
-- KEYS: 1 seq counter, 2 data hash (seq -> report JSON), 3 all zset, 4 open zset, 5 once hash
-- ("room\0message\0reporter" -> seq), 6 keyof hash (seq -> that field), 7 closed hash (seq -> JSON
-- {state, closed}), 8 the message's set of seqs.
-- ARGV: 1 the once field, 2 the report JSON, 3 reports kept, 4 the prefix of message sets.
-- Returns {seq, report JSON, closed JSON or false}: the new report, or the reporter's earlier one.
local seq = redis.call('HGET', KEYS[5], ARGV[1])
if not seq then
  seq = redis.call('INCR', KEYS[1])
  redis.call('HSET', KEYS[2], seq, ARGV[2])
  redis.call('HSET', KEYS[5], ARGV[1], seq)
  redis.call('HSET', KEYS[6], seq, ARGV[1])
  redis.call('ZADD', KEYS[3], seq, seq)
  redis.call('ZADD', KEYS[4], seq, seq)
  redis.call('SADD', KEYS[8], seq)
  local excess = redis.call('ZCARD', KEYS[3]) - tonumber(ARGV[3])
  while excess > 0 do
    local victim = nil
    local kept = redis.call('ZRANGE', KEYS[3], 0, -1)
    for _, candidate in ipairs(kept) do
      if not redis.call('ZSCORE', KEYS[4], candidate) then
        victim = candidate
        break
      end
    end
    victim = victim or kept[1]
    local field = redis.call('HGET', KEYS[6], victim)
    if field then
      redis.call('HDEL', KEYS[5], field)
      redis.call('SREM', ARGV[4] .. string.match(field, '^([^%z]*%z[^%z]*)%z'), victim)
    end
    redis.call('ZREM', KEYS[3], victim)
    redis.call('ZREM', KEYS[4], victim)
    redis.call('HDEL', KEYS[2], victim)
    redis.call('HDEL', KEYS[6], victim)
    redis.call('HDEL', KEYS[7], victim)
    excess = excess - 1
  end
end
return {tonumber(seq), redis.call('HGET', KEYS[2], seq), redis.call('HGET', KEYS[7], seq)}
