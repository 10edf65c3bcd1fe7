-- Slow mode for one (room, user). KEYS: 1 stamp key; ARGV: 1 the slow mode in ms.
-- Returns the ms left to wait: 0 = allowed, and this send is recorded.
if redis.call('SET', KEYS[1], '1', 'PX', ARGV[1], 'NX') then
  return 0
end
return math.max(1, redis.call('PTTL', KEYS[1]))
