-- Drop the connections of instances whose heartbeat expired (they died without cleaning up).
-- KEYS: 1 presence hash, 2 per-user index, 3 census hash, 4 alive hash
-- ARGV: 1 this instance, 2 heartbeat TTL in ms: the caller's own entry is refreshed (its heartbeat)
-- Returns the records of users left with no live connection: the caller publishes their
-- presence `leave` (only one node's call removes a record, so only one node announces it).
refresh(ARGV[1], ARGV[2])
local entries = redis.call('HGETALL', KEYS[1])
local gone, announced, uncounted = {}, {}, {}
for i = 1, #entries, 2 do
  local field, raw = entries[i], entries[i + 1]
  if not alive(field) then
    redis.call('HDEL', KEYS[1], field)
    local record = cjson.decode(raw)
    local user = record.id
    local others = live_fields(KEYS[2], user, field)
    local reader = user .. ' ' .. record.lang
    if not uncounted[reader] and not reads(others, record.lang) then
      uncounted[reader] = true
      count(record.lang, -1)
    end
    save_fields(KEYS[2], user, others)
    if #others == 0 and not announced[user] then
      announced[user] = true
      gone[#gone + 1] = raw
    end
  end
end
-- instances that are gone for good leave the alive hash too
local stamps = redis.call('HGETALL', KEYS[4])
for i = 1, #stamps, 2 do
  if tonumber(stamps[i + 1]) <= now_ms then
    redis.call('HDEL', KEYS[4], stamps[i])
  end
end
return gone
