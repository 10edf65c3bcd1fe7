-- A user's standing in a room and event-wide, read in one step (ModerationStore.standing).
-- KEYS: 1 room moderators set, 2 room bans set, 3 event-wide bans set, 4 room mutes hash,
--       5 event-wide mutes hash; ARGV: 1 user, 2 now (ms)
-- Returns {appointed 0|1, banned 0|1, banned event-wide 0|1, room mute, event-wide mute}, each
-- mute false (none), '' (until unmuted) or its end in ms; an expired mute is forgotten, as
-- get_mute.lua forgets it.
local user, now = ARGV[1], tonumber(ARGV[2])

local function mute(key)
  local until_ms = redis.call('HGET', key, user)
  if until_ms and until_ms ~= '' and tonumber(until_ms) <= now then
    redis.call('HDEL', key, user)
    return false
  end
  return until_ms
end

return {redis.call('SISMEMBER', KEYS[1], user), redis.call('SISMEMBER', KEYS[2], user),
        redis.call('SISMEMBER', KEYS[3], user), mute(KEYS[4]), mute(KEYS[5])}
