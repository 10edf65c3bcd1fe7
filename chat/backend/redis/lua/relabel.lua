-- Correct a message's source language (the sender's `relang`): its translations are dropped and
-- the correction is kept beside the entry (streams are append-only), under the key "@lang" of its
-- translations hash value, which rows.live_message reads back as the message's language.
-- KEYS: 1 log stream, 2 meta hash, 3 extra hash
-- ARGV: 1 epoch, 2 stream id, 3 language, 4 author's user id
-- Returns the entry's fields and the message's extra JSON as now stored, or false when there is no
-- live message of that id by the author.
local fields, stored = own_entry(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2], ARGV[4])
if not fields then
  return false
end
-- what is not a translation (an edit, reactions: keys starting with '@' other than '@c:') stays
local kept = {}
if stored then
  for key, value in pairs(cjson.decode(stored)) do
    if string.sub(key, 1, 1) == '@' and string.sub(key, 1, 3) ~= '@c:' then
      kept[key] = value
    end
  end
end
kept['@lang'] = ARGV[3]
redis.call('HSET', KEYS[3], ARGV[2], cjson.encode(kept))
return {fields, cjson.encode(kept)}
