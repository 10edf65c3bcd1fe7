-- Delete a message: its entry leaves the stream (the text is gone from Redis), a tombstone keeps
-- its place in history as a `deleted` placeholder.
-- KEYS: 1 log stream, 2 meta hash, 3 extra hash, 4 gone zset
-- ARGV: 1 epoch, 2 stream id
-- Returns 1, or 0 when there was no such message (or it was deleted already).
if redis.call('HGET', KEYS[2], 'epoch') ~= ARGV[1] then
  return 0
end
local entries = redis.call('XRANGE', KEYS[1], ARGV[2], ARGV[2])
if #entries == 0 then
  return 0
end
local fields, entry = entries[1][2], {}
for i = 1, #fields, 2 do
  entry[fields[i]] = fields[i + 1]
end
redis.call('XDEL', KEYS[1], ARGV[2])
redis.call('HSET', KEYS[3], ARGV[2], cjson.encode({u = entry.u, l = entry.l}))
redis.call('ZADD', KEYS[4], id_ms(ARGV[2]), ARGV[2])
return 1
