-- Shared by edit.lua and relabel.lua: the author's own live entry of a room's log, read in one step.
-- Its arguments: the log stream, meta hash and extra hash (KEYS 1-3 of both scripts), the epoch and
-- stream id of the message id, and the author's user id.
-- Returns the entry's fields and its extra JSON as stored (false: none), or nothing when there is no
-- live message of that id by the author (another epoch, trimmed or never stored, someone else's).
local function own_entry(log, meta, extra, epoch, sid, author)
  if redis.call('HGET', meta, 'epoch') ~= epoch then
    return nil
  end
  local entries = redis.call('XRANGE', log, sid, sid)
  if #entries == 0 then
    return nil
  end
  local fields = entries[1][2]
  for i = 1, #fields, 2 do
    if fields[i] == 'u' and cjson.decode(fields[i + 1]).id ~= author then
      return nil
    end
  end
  return fields, redis.call('HGET', extra, sid)
end
