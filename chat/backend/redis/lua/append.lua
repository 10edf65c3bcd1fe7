-- Store one message, trim history, remember (user, cid) and publish the message: one step.
-- KEYS: 1 log stream, 2 meta hash, 3 extra hash, 4 gone zset, 5 idempotency key (only with a cid)
-- ARGV: 1 room channel, 2 history_max, 3 a fresh epoch (used only when this stream starts a new
--       life), 4 user JSON, 5 source language, 6 text, 7 idempotency TTL in seconds,
--       8 event head '{"type":"message","room":"<room>",', 9 event tail ',"user":..,"text":"..",..}':
--       the encoding of the NewMessage event (rooms/stores/events.py) cut where id and ts go,
--       10 the reply quote as JSON ('' = not a reply), kept in the entry's field q,
--       11 the mentioned user ids as a JSON array ('' = none), kept in the entry's field m,
--       12 the meeting step the message records as JSON ('' = none; issue 26), kept in the field k
-- Returns {1, epoch, stream id} for a new message, or {0, epoch, stream id, fields|false,
-- extra|false} when the cid was seen before and history still holds that message.
return append_message(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], {
  channel = ARGV[1], history_max = ARGV[2], epoch = ARGV[3], user = ARGV[4], lang = ARGV[5], text = ARGV[6],
  ttl = ARGV[7], head = ARGV[8], tail = ARGV[9], after = '', reply = ARGV[10], mentions = ARGV[11], step = ARGV[12]})
