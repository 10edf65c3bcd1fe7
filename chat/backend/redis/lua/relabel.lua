-- Correct a message's source language (the sender's `relang`): its translations are dropped and
-- the correction is kept beside the entry (streams are append-only), under the key "@lang" of its
-- translations hash value, which rows.live_message reads back as the message's language.
-- KEYS: 1 log stream, 2 meta hash, 3 extra hash
-- ARGV: 1 epoch, 2 stream id, 3 language, 4 author's user id
-- Returns the entry's fields, or false when there is no live message of that id by the author.
if redis.call('HGET', KEYS[2], 'epoch') ~= ARGV[1] then
  return false
end
local entries = redis.call('XRANGE', KEYS[1], ARGV[2], ARGV[2])
if #entries == 0 then
  return false
end
local fields = entries[1][2]
for i = 1, #fields, 2 do
  if fields[i] == 'u' and cjson.decode(fields[i + 1]).id ~= ARGV[4] then
    return false
  end
end
redis.call('HSET', KEYS[3], ARGV[2], cjson.encode({['@lang'] = ARGV[3]}))
return fields
