-- Write a meeting and its holds in one step (MeetingStore.update_meeting): nothing changes unless
-- the stored version is the one given and every new hold is free or already this meeting's.
-- KEYS: 1 hash meeting id -> JSON, 2 hash meeting id -> version, 3 set of this meeting's hold
-- keys, 4.. the hold keys asked for (each a string: the meeting id holding it).
-- ARGV: 1 meeting id, 2 expected version, 3 the meeting's JSON at version + 1.
-- Returns 'changed', 'taken' or 'ok'.
local id = ARGV[1]
if redis.call('HGET', KEYS[2], id) ~= ARGV[2] then
  return 'changed'
end
for i = 4, #KEYS do
  local holder = redis.call('GET', KEYS[i])
  if holder and holder ~= id then
    return 'taken'
  end
end
for _, key in ipairs(redis.call('SMEMBERS', KEYS[3])) do
  if redis.call('GET', key) == id then
    redis.call('DEL', key)
  end
end
redis.call('DEL', KEYS[3])
for i = 4, #KEYS do
  redis.call('SET', KEYS[i], id)
  redis.call('SADD', KEYS[3], KEYS[i])
end
redis.call('HSET', KEYS[1], id, ARGV[3])
redis.call('HSET', KEYS[2], id, tostring(tonumber(ARGV[2]) + 1))
return 'ok'
