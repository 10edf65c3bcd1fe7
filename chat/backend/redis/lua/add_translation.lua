-- Store a translation with its message, then publish the `translation` event: at most once per
-- (message, language), however often it is asked (a translation worker's job retried after it
-- died, or two nodes translating the same message).
-- KEYS: 1 log stream, 2 meta hash, 3 extra hash
-- ARGV: 1 epoch, 2 stream id, 3 language, 4 text, 5 room channel, 6 the event as JSON,
--       7 the confidence (a number, or "" when unknown), kept beside the text as "@c:<language>"
-- Returns 1, 0 when the message is gone (trimmed, deleted, or its history lost), or 2 when the
-- message already has a translation into that language (nothing stored, nothing published).
if redis.call('HGET', KEYS[2], 'epoch') ~= ARGV[1] then
  return 0
end
if #redis.call('XRANGE', KEYS[1], ARGV[2], ARGV[2]) == 0 then
  return 0
end
local stored = redis.call('HGET', KEYS[3], ARGV[2])
local translations = stored and cjson.decode(stored) or {}
if translations[ARGV[3]] ~= nil then
  return 2
end
translations[ARGV[3]] = ARGV[4]
translations['@c:' .. ARGV[3]] = tonumber(ARGV[7])
redis.call('HSET', KEYS[3], ARGV[2], cjson.encode(translations))
redis.call('PUBLISH', ARGV[5], ARGV[6])
return 1
