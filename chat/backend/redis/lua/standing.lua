-- A user's standing in a room and event-wide, read in one step (ModerationStore.standing).
-- KEYS: 1 room moderators set, 2 room bans set, 3 event-wide bans set, 4 room mutes hash,
--       5 event-wide mutes hash; ARGV: 1 user, 2 now (ms)
-- Returns {appointed 0|1, banned 0|1, banned event-wide 0|1, room mute, event-wide mute}, each
-- mute false (none), '' (until unmuted) or its end in ms; an expired mute is forgotten, as
-- get_mute.lua forgets it.
return read_standing(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], ARGV[1], ARGV[2])
