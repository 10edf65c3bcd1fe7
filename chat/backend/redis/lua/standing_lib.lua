-- Shared by standing.lua and send.lua: a user's standing in a room and event-wide, read in one step.
-- KEYS order as standing.lua's: room moderators set, room bans set, event-wide bans set, room
-- mutes hash, event-wide mutes hash. An expired mute is forgotten, as get_mute.lua forgets it.
-- Returns {appointed 0|1, banned 0|1, banned event-wide 0|1, room mute, event-wide mute}, each
-- mute false (none), '' (until unmuted) or its end in ms. `now` (ms) is the caller's string, read
-- as a number only when there is a mute to compare it with.
local function read_standing(moderators, bans, event_bans, mutes, event_mutes, user, now)
  local function mute(key)
    local until_ms = redis.call('HGET', key, user)
    if until_ms and until_ms ~= '' and tonumber(until_ms) <= tonumber(now) then
      redis.call('HDEL', key, user)
      return false
    end
    return until_ms
  end
  -- Most rooms have no moderator, ban or mute and most events no event-wide sanction, and an empty
  -- set or hash is no key: where none of a group's keys exists, its answers are known without
  -- reading them. One EXISTS over all five answers the common case; when some exist, one over the
  -- room's three tells the groups apart (EXISTS counts each key named: the rest is event-wide).
  local appointed, banned, room_mute, banned_event, event_mute = 0, 0, false, 0, false
  local found = redis.call('EXISTS', moderators, bans, mutes, event_bans, event_mutes)
  if found > 0 then
    local in_room = redis.call('EXISTS', moderators, bans, mutes)
    if in_room > 0 then
      appointed, banned, room_mute = redis.call('SISMEMBER', moderators, user), redis.call('SISMEMBER', bans, user),
        mute(mutes)
    end
    if found > in_room then
      banned_event, event_mute = redis.call('SISMEMBER', event_bans, user), mute(event_mutes)
    end
  end
  return {appointed, banned, banned_event, room_mute, event_mute}
end
