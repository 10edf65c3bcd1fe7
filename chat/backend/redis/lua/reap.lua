-- Drop the connections of instances whose heartbeat expired (they died without cleaning up).
-- KEYS: 1 presence hash, 2 per-user index, 3 census hash, 4 alive hash
-- ARGV: 1 this instance, 2 heartbeat TTL in ms: the caller's own entry is refreshed (its heartbeat)
-- Returns the records of users left with no live connection (presence_lib.lua reap_room).
return reap_room(KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[1], ARGV[2])
