-- Forget a connection. KEYS: 1 presence hash, 2 per-user index
-- ARGV: 1 heartbeat key prefix, 2 field, 3 user id
-- Returns 1 when the connection was there and its user has no live connection left.
if redis.call('HDEL', KEYS[1], ARGV[2]) == 0 then
  return 0
end
local others = live_fields(KEYS[2], ARGV[3], ARGV[2])
save_fields(KEYS[2], ARGV[3], others)
return #others == 0 and 1 or 0
