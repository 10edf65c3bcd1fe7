-- Forget anonymous profiles nobody saw since a time: at most ARGV[3] of them per call.
-- KEYS: 1 people, 2 people:dirkey, 3 people:dir, 4 people:hidden, 5 people:staff, 6 people:anon
--       (zset id -> ms last saved or counted online), 7 online (zset id -> ms until counted online),
--       8 people:find
-- ARGV: 1 before (ms), 2 now (ms), 3 batch size
-- Returns the ids forgotten; a profile still counted online gets its online time as its score instead.
local due = redis.call('ZRANGEBYSCORE', KEYS[6], '-inf', '(' .. ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local gone = {}
for _, id in ipairs(due) do
  local online = tonumber(redis.call('ZSCORE', KEYS[7], id) or '0')
  if online > tonumber(ARGV[2]) or online >= tonumber(ARGV[1]) then
    redis.call('ZADD', KEYS[6], 'GT', online, id)
  else
    local member = redis.call('HGET', KEYS[2], id)
    if member then redis.call('ZREM', KEYS[3], member) end
    redis.call('HDEL', KEYS[1], id)
    redis.call('HDEL', KEYS[2], id)
    redis.call('HDEL', KEYS[8], id)
    redis.call('SREM', KEYS[4], id)
    redis.call('SREM', KEYS[5], id)
    redis.call('ZREM', KEYS[6], id)
    gone[#gone + 1] = id
  end
end
return gone
