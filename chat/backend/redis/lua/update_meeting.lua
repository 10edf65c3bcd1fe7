-- Write a meeting and its holds in one step (MeetingStore.update_meeting): nothing changes unless
-- the stored version is the one given and every new hold is free or already this meeting's.
-- KEYS: 1 hash meeting id -> JSON, 2 hash meeting id -> version, 3 set of this meeting's hold
-- keys, 4 .. 3+ARGV[4] the hold keys the meeting has now (read from KEYS[3] by the caller after it
-- read the meeting: current whenever the version still matches, as every change of them changes
-- the version; checked here all the same), then the hold keys asked for (each a string: the meeting id holding it).
-- ARGV: 1 meeting id, 2 expected version, 3 the meeting's JSON at version + 1, 4 how many old holds.
-- Returns 'changed', 'taken' or 'ok'. Every key it touches is in KEYS.
local id = ARGV[1]
if redis.call('HGET', KEYS[2], id) ~= ARGV[2] then
  return 'changed'
end
local first_new = 4 + tonumber(ARGV[4])
if redis.call('SCARD', KEYS[3]) ~= first_new - 4 then
  return 'changed'  -- the caller's list of old holds is not the meeting's: read again
end
for i = 4, first_new - 1 do
  if redis.call('SISMEMBER', KEYS[3], KEYS[i]) == 0 then
    return 'changed'
  end
end
for i = first_new, #KEYS do
  local holder = redis.call('GET', KEYS[i])
  if holder and holder ~= id then
    return 'taken'
  end
end
for i = 4, first_new - 1 do
  if redis.call('GET', KEYS[i]) == id then
    redis.call('DEL', KEYS[i])
  end
end
redis.call('DEL', KEYS[3])
for i = first_new, #KEYS do
  redis.call('SET', KEYS[i], id)
  redis.call('SADD', KEYS[3], KEYS[i])
end
redis.call('HSET', KEYS[1], id, ARGV[3])
redis.call('HSET', KEYS[2], id, tostring(tonumber(ARGV[2]) + 1))
return 'ok'
