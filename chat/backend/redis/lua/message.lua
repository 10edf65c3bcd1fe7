-- Read one live message (what a rule checks before acting on it, such as who wrote it).
-- KEYS: 1 log stream, 2 meta hash, 3 extra hash
-- ARGV: 1 epoch, 2 stream id
-- Returns {fields, translations or false}, or false when there is no live message of that id.
if redis.call('HGET', KEYS[2], 'epoch') ~= ARGV[1] then
  return false
end
local entries = redis.call('XRANGE', KEYS[1], ARGV[2], ARGV[2])
if #entries == 0 then
  return false
end
return {entries[1][2], redis.call('HGET', KEYS[3], ARGV[2])}
