-- Replace a message's text (the sender's `edit`): its translations are dropped; the new text, its
-- language and the mark "@edited" are kept beside the entry (streams are append-only) in its extra
-- hash value, which rows.live_message reads back; reactions ("@r:<emoji>") stay.
-- KEYS: 1 log stream, 2 meta hash, 3 extra hash
-- ARGV: 1 epoch, 2 stream id, 3 new text, 4 its language, 5 author's user id
-- Returns {fields, extra JSON as now stored}, or false when there is no live message of that id by
-- the author.
local fields, stored = own_entry(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2], ARGV[5])
if not fields then
  return false
end
local kept = {}
if stored then
  for key, value in pairs(cjson.decode(stored)) do
    if string.sub(key, 1, 3) == '@r:' then
      kept[key] = value
    end
  end
end
kept['@text'] = ARGV[3]
kept['@lang'] = ARGV[4]
kept['@edited'] = 1
local encoded = cjson.encode(kept)
redis.call('HSET', KEYS[3], ARGV[2], encoded)
return {fields, encoded}
