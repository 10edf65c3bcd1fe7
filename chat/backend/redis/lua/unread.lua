-- Count a reader's unread messages in a room (ConversationStore.unread_count): the stream entries
-- after a read position (every one without a position) that someone else wrote, newest first,
-- stopping at the cap. Deleted messages left the stream (delete.lua), so every entry counts but
-- the reader's own. A position `since` could not replay from (read.lua's 'since' test: another
-- epoch, trimmed away, beyond the newest) counts nothing. Only the number leaves Redis.
-- KEYS: 1 log stream, 2 meta hash (the room's, one hash tag on a cluster)
-- ARGV: 1 reader's user id, 2 epoch of the position ('' = no position), 3 its stream id, 4 cap,
--       5 entries read per XREVRANGE
-- Returns the count, at most cap.
local log, meta = KEYS[1], KEYS[2]
local viewer, their_epoch, their_id = ARGV[1], ARGV[2], ARGV[3]
local cap, batch = tonumber(ARGV[4]), tonumber(ARGV[5])

local epoch = redis.call('HGET', meta, 'epoch')
if cap <= 0 or not epoch or redis.call('EXISTS', log) == 0 then
  return 0
end

local low = '-'
if their_epoch ~= '' then
  local trimmed = redis.call('HGET', meta, 'trimmed')
  local last = redis.call('HGET', meta, 'last')
  local recoverable = their_epoch == epoch and their_id ~= '' and last
    and not id_before(last, their_id) and not (trimmed and id_before(their_id, trimmed))
  if not recoverable then
    return 0
  end
  low = '(' .. their_id
end

local count, high = 0, '+'
while true do
  local entries = redis.call('XREVRANGE', log, high, low, 'COUNT', batch)
  for _, entry in ipairs(entries) do
    local fields = entry[2]
    for i = 1, #fields, 2 do
      if fields[i] == 'u' then
        if cjson.decode(fields[i + 1]).id ~= viewer then
          count = count + 1
          if count >= cap then
            return count
          end
        end
        break
      end
    end
  end
  if #entries < batch then
    return count
  end
  high = '(' .. entries[#entries][1]
end
