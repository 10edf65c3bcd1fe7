-- Forget a connection. KEYS: 1 presence hash, 2 per-user index, 3 census hash, 4 alive hash
-- ARGV: 1 instance (unused here), 2 field, 3 user id
-- Returns 1 when the connection was there and its user has no live connection left.
local old = redis.call('HGET', KEYS[1], ARGV[2])
if not old then
  return 0
end
redis.call('HDEL', KEYS[1], ARGV[2])
local others = live_fields(KEYS[2], ARGV[3], ARGV[2])
local lang = cjson.decode(old).lang
if not reads(others, lang) then
  count(lang, -1)
end
save_fields(KEYS[2], ARGV[3], others)
return #others == 0 and 1 or 0
