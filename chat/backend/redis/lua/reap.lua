-- Drop the connections of instances whose heartbeat expired (they died without cleaning up).
-- KEYS: 1 presence hash, 2 per-user index; ARGV: 1 heartbeat key prefix
-- Returns the records of users left with no live connection: the caller publishes their
-- presence `leave` (only one node's call removes a record, so only one node announces it).
local entries = redis.call('HGETALL', KEYS[1])
local gone, announced = {}, {}
for i = 1, #entries, 2 do
  local field, raw = entries[i], entries[i + 1]
  if not alive(field) then
    redis.call('HDEL', KEYS[1], field)
    local user = cjson.decode(raw).id
    local others = live_fields(KEYS[2], user, field)
    save_fields(KEYS[2], user, others)
    if #others == 0 and not announced[user] then
      announced[user] = true
      gone[#gone + 1] = raw
    end
  end
end
return gone
