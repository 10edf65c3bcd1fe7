-- A plain message's send in one step (SendStore.send, rooms/stores/sends.py): with the gate, the
-- sender's standing (as standing.lua) must be clear and the send limits (as take_send.lua) must
-- allow it; then the room's census gives `translating`, and the message is stored and published
-- (as append.lua). On one Redis only: the keys span the room's, the user's and event-wide slots.
-- KEYS: 1-5 standing.lua's (room moderators, room bans, event-wide bans, room mutes, event-wide
--       mutes), 6 the user's bucket, 7 the slow-mode stamp, 8 the room's census hash,
--       9-12 append.lua's 1-4 (log, meta, extra, gone), 13 idempotency key (only with a cid)
-- ARGV: 1 '1' with the gate ('0': checks already made, only census and append), 2 user id,
--       3 now (ms), 4 rate per second, 5 burst, 6 slow mode in ms (0: none),
--       7 the languages the message has a route into, each between spaces (' es fr '),
--       8 the sender's reading language, 9-15 append.lua's 1-7 (channel, history_max, epoch,
--       user JSON, lang, text, idempotency TTL), 16 event head (up to where id and ts go),
--       17 event middle (from after ts up to where `translating` goes), 18 event tail
-- Returns {'standing', <standing.lua's five answers>} when the standing is not clear (nothing
-- done), {'wait', <take_send.lua's two answers>} when a limit refused (nothing spent), else
-- {'sent', translating languages between spaces ('' = none: a flat answer, no nested table for
-- Redis to convert), <append.lua's answer>...}.
if ARGV[1] == '1' then
  local standing = read_standing(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], ARGV[2], ARGV[3])
  if standing[1] == 1 or standing[2] == 1 or standing[3] == 1 or standing[4] or standing[5] then
    return {'standing', unpack(standing)}
  end
  local wait = take_send(KEYS[6], KEYS[7], tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]))
  if wait[1] ~= '0.000' or wait[2] ~= 0 then
    return {'wait', unpack(wait)}
  end
end

-- translation_targets (rooms/stores/sends.py): census languages with a route, not one only the sender reads
local census, targets = redis.call('HGETALL', KEYS[8]), {}
for i = 1, #census, 2 do
  local lang = census[i]
  if string.find(ARGV[7], ' ' .. lang .. ' ', 1, true) then  -- the count is read only for a candidate
    local count = tonumber(census[i + 1])
    if count and count > 0 and not (lang == ARGV[8] and count <= 1) then
      targets[#targets + 1] = lang
    end
  end
end
table.sort(targets)
-- the event goes on after the middle with `translating` (when there are targets) and the tail
local after = ARGV[18]
if #targets > 0 then
  after = ',"translating":["' .. table.concat(targets, '","') .. '"]' .. ARGV[18]
end

local appended = append_message(KEYS[9], KEYS[10], KEYS[11], KEYS[12], KEYS[13], {
  channel = ARGV[9], history_max = ARGV[10], epoch = ARGV[11], user = ARGV[12], lang = ARGV[13], text = ARGV[14],
  ttl = ARGV[15], head = ARGV[16], tail = ARGV[17], after = after, reply = '', mentions = '', step = ''})
return {'sent', table.concat(targets, ' '), unpack(appended)}
