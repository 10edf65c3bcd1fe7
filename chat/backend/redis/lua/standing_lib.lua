-- Shared by standing.lua and send.lua: a user's standing in a room and event-wide, read in one step.
-- KEYS order as standing.lua's: room moderators set, room bans set, event-wide bans set, room
-- mutes hash, event-wide mutes hash. An expired mute is forgotten, as get_mute.lua forgets it.
-- Returns {appointed 0|1, banned 0|1, banned event-wide 0|1, room mute, event-wide mute}, each
-- mute false (none), '' (until unmuted) or its end in ms.
local function read_standing(moderators, bans, event_bans, mutes, event_mutes, user, now)
  local function mute(key)
    local until_ms = redis.call('HGET', key, user)
    if until_ms and until_ms ~= '' and tonumber(until_ms) <= now then
      redis.call('HDEL', key, user)
      return false
    end
    return until_ms
  end
  return {redis.call('SISMEMBER', moderators, user), redis.call('SISMEMBER', bans, user),
          redis.call('SISMEMBER', event_bans, user), mute(mutes), mute(event_mutes)}
end
