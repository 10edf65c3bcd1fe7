-- Record a connection in a room. KEYS: 1 presence hash, 2 per-user index, 3 census hash, 4 alive hash
-- ARGV: 1 instance, 2 field, 3 user id, 4 record JSON, 5 heartbeat TTL in ms
-- Returns 1 when the user had no live connection in the room before (a record being replaced,
-- as when the reader changes language, counts as one).
refresh(ARGV[1], ARGV[5])
local others = live_fields(KEYS[2], ARGV[3], ARGV[2])
local old = redis.call('HGET', KEYS[1], ARGV[2])
local first = #others == 0 and not old
local old_lang = old and cjson.decode(old).lang or false
local new_lang = cjson.decode(ARGV[4]).lang
if old_lang ~= new_lang then
  if old_lang and not reads(others, old_lang) then
    count(old_lang, -1)
  end
  if not reads(others, new_lang) then
    count(new_lang, 1)
  end
end
others[#others + 1] = ARGV[2]
save_fields(KEYS[2], ARGV[3], others)
redis.call('HSET', KEYS[1], ARGV[2], ARGV[4])
return first and 1 or 0
