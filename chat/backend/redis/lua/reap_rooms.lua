-- reap.lua for several rooms in one call (one Redis only: the rooms' keys are in many slots), so a
-- node's heartbeat costs one script call per chunk of its rooms, not one per room (issue 27).
-- KEYS: reap.lua's four for each room, one room after another
-- ARGV: 1 this instance, 2 heartbeat TTL in ms
-- Returns, for each room in order, the records of users left with no live connection.
local results = {}
for base = 0, #KEYS - 4, 4 do
  results[#results + 1] = reap_room(KEYS[base + 1], KEYS[base + 2], KEYS[base + 3], KEYS[base + 4], ARGV[1], ARGV[2])
end
return results
