-- The records of live instances' connections, as one JSON array (one decode in Python, none
-- here: the relay asks for a room's members with every message).
-- KEYS: 1 presence hash, 2 per-user index (unused), 3 census hash (unused), 4 alive hash
local entries = redis.call('HGETALL', KEYS[1])
local live = {}
for i = 1, #entries, 2 do
  if alive(entries[i]) then
    live[#live + 1] = entries[i + 1]
  end
end
return '[' .. table.concat(live, ',') .. ']'
