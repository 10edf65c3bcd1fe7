-- Close every open report of one message. KEYS: 1 the message's set of seqs, 2 open zset,
-- 3 closed hash (seq -> JSON {state, closed}); ARGV: 1 that JSON.
-- Returns the seqs it closed (none when none was open, so one of two racing callers gets them).
local done = {}
for _, seq in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if redis.call('ZREM', KEYS[2], seq) == 1 then
    redis.call('HSET', KEYS[3], seq, ARGV[1])
    table.insert(done, seq)
  end
end
return done
