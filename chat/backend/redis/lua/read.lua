-- Read history atomically with its epoch, so ids and the recoverable range always agree.
-- KEYS: 1 log stream, 2 meta hash, 3 extra hash, 4 gone zset
-- ARGV: 1 mode, 2 epoch of the caller's id ('' = none), 3 stream id ('' = none), 4 limit,
--       5 most (mode 'since': at most this many of the oldest messages after the id; -1 = all)
--   mode 'page':  up to `limit` newest messages before the id (or the newest, without one);
--                 an id of another epoch gets nothing.
--   mode 'since': every message after the id when history still reaches back to it
--                 (recovered = 1; the oldest `most` when most >= 0), else the newest `limit`
--                 (recovered = 0).
-- Returns {epoch|false, recovered, live rows, deleted rows}; a live row is {id, fields, extra},
-- a deleted row {id, tombstone}. Python merges the two lists in id order and applies `limit`
-- (a page of live messages plus the placeholders between them always holds the answer).
local log, meta, extra, gone = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local mode, their_epoch, their_id, limit = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local most = tonumber(ARGV[5] or '-1')

local epoch = redis.call('HGET', meta, 'epoch')
if not epoch or redis.call('EXISTS', log) == 0 then
  return {false, 0, {}, {}}
end

local function live_rows(entries)
  local rows = {}
  for i, entry in ipairs(entries) do
    rows[i] = {entry[1], entry[2], redis.call('HGET', extra, entry[1])}
  end
  return rows
end

-- placeholders of deleted messages strictly between two ids (false = open end)
local function deleted_rows(after, before)
  local low = after and id_ms(after) or '-inf'
  local high = before and id_ms(before) or '+inf'
  local rows = {}
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', gone, low, high)) do
    if (not after or id_before(after, id)) and (not before or id_before(id, before)) then
      rows[#rows + 1] = {id, redis.call('HGET', extra, id)}
    end
  end
  return rows
end

local function page(before)
  if limit <= 0 then
    return {}, {}
  end
  local entries = redis.call('XREVRANGE', log, before and ('(' .. before) or '+', '-', 'COUNT', limit)
  -- With a full page, placeholders older than its oldest entry cannot make the cut.
  local oldest = #entries == limit and entries[#entries][1] or false
  return live_rows(entries), deleted_rows(oldest, before)
end

if mode == 'page' then
  if their_epoch ~= '' and their_epoch ~= epoch then
    return {epoch, 0, {}, {}}
  end
  local live, deleted = page(their_id ~= '' and their_id or false)
  return {epoch, 0, live, deleted}
end

-- mode 'since'
local trimmed = redis.call('HGET', meta, 'trimmed')
local last = redis.call('HGET', meta, 'last')
local recoverable = their_epoch == epoch and their_id ~= '' and last
  and not id_before(last, their_id) and not (trimmed and id_before(their_id, trimmed))
if recoverable then
  if most == 0 then
    return {epoch, 1, {}, {}}
  elseif most > 0 then
    -- With `most` live entries, placeholders newer than the newest of them cannot make the cut.
    local entries = redis.call('XRANGE', log, '(' .. their_id, '+', 'COUNT', most)
    local newest = #entries == most and entries[#entries][1] or false
    return {epoch, 1, live_rows(entries), deleted_rows(their_id, newest)}
  end
  local entries = redis.call('XRANGE', log, '(' .. their_id, '+')
  return {epoch, 1, live_rows(entries), deleted_rows(their_id, false)}
end
local live, deleted = page(false)
return {epoch, 0, live, deleted}
