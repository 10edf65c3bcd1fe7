-- One send's limits in one step (LimitStore.take_send), on Redis' clock: a token of the user's
-- bucket and, with a slow mode, the (room, user) slot; both are taken or neither.
-- KEYS: 1 bucket hash {t: tokens, s: stamp ms}, 2 slow-mode stamp key;
-- ARGV: 1 rate per second, 2 burst, 3 slow mode in ms (0: none, KEYS[2] is not touched)
-- Returns {token wait in seconds as a string ('-1.000' = never: a zero rate), slow ms left}.
return take_send(KEYS[1], KEYS[2], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]))
