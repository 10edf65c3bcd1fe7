-- Toggle one person's reaction to a message (`react`): added when they had none with that emoji,
-- taken back when they had. Who reacted is kept in the message's extra hash value under
-- "@r:<emoji>" ({user id: 1}), so trimming or deleting the message removes its reactions with it.
-- KEYS: 1 log stream, 2 meta hash, 3 extra hash
-- ARGV: 1 epoch, 2 stream id, 3 emoji, 4 user id
-- Returns {1 added | 0 taken back, people now reacting with the emoji}, or false when there is no
-- live message of that id.
if redis.call('HGET', KEYS[2], 'epoch') ~= ARGV[1] then
  return false
end
if #redis.call('XRANGE', KEYS[1], ARGV[2], ARGV[2]) == 0 then
  return false
end
local stored = redis.call('HGET', KEYS[3], ARGV[2])
local extra = stored and cjson.decode(stored) or {}
local key = '@r:' .. ARGV[3]
local who = extra[key] or {}
local added = 1
if who[ARGV[4]] then
  who[ARGV[4]] = nil
  added = 0
else
  who[ARGV[4]] = 1
end
local count = 0
for _ in pairs(who) do
  count = count + 1
end
if count == 0 then
  extra[key] = nil
else
  extra[key] = who
end
redis.call('HSET', KEYS[3], ARGV[2], cjson.encode(extra))
return {added, count}
