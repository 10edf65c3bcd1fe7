-- Store one message, trim history, remember (user, cid) and publish the message: one step.
-- KEYS: 1 log stream, 2 meta hash, 3 extra hash, 4 gone zset, 5 idempotency key (only with a cid)
-- ARGV: 1 room channel, 2 history_max, 3 a fresh epoch (used only when this stream starts a new
--       life), 4 user JSON, 5 source language, 6 text, 7 idempotency TTL in seconds,
--       8 event head '{"type":"message","room":"<room>",', 9 event tail ',"user":..,"text":"..",..}':
--       the encoding of the StoredMessage event (rooms/stores/events.py) cut where id and ts go,
--       10 the reply quote as JSON ('' = not a reply), kept in the entry's field q,
--       11 the mentioned user ids as a JSON array ('' = none), kept in the entry's field m,
--       12 the meeting step the message records as JSON ('' = none; issue 26), kept in the field k
-- Returns {1, epoch, stream id} for a new message, or {0, epoch, stream id, fields|false,
-- extra|false} when the cid was seen before and history still holds that message.
local log, meta, extra, gone, idem = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]

-- A missing stream means this room never had a message, or Redis lost it: a new epoch tells
-- every client holding an id of the old life that its `since` cannot be recovered.
local epoch = redis.call('HGET', meta, 'epoch')
if redis.call('EXISTS', log) == 0 then
  epoch = ARGV[3]
  redis.call('DEL', meta, extra, gone)
  redis.call('HSET', meta, 'epoch', epoch)
elseif not epoch then
  -- the stream survived but its epoch did not: ids handed out before cannot be trusted
  epoch = ARGV[3]
  redis.call('HSET', meta, 'epoch', epoch)
end

if idem then
  local known = redis.call('GET', idem)
  if known then
    local known_epoch, sid = string.match(known, '^([^.]+)%.(.+)$')
    if known_epoch == epoch then
      local entries = redis.call('XRANGE', log, sid, sid)
      if #entries > 0 then
        return {0, epoch, sid, entries[1][2], redis.call('HGET', extra, sid)}
      end
      if redis.call('ZSCORE', gone, sid) then
        return {0, epoch, sid, false, redis.call('HGET', extra, sid)}
      end
    end
    -- the original was trimmed away or belongs to a lost history: store this one anew
  end
end

local fields = {'u', ARGV[4], 'l', ARGV[5], 't', ARGV[6]}
if ARGV[10] and ARGV[10] ~= '' then
  fields[#fields + 1] = 'q'
  fields[#fields + 1] = ARGV[10]
end
if ARGV[11] and ARGV[11] ~= '' then
  fields[#fields + 1] = 'm'
  fields[#fields + 1] = ARGV[11]
end
if ARGV[12] and ARGV[12] ~= '' then
  fields[#fields + 1] = 'k'
  fields[#fields + 1] = ARGV[12]
end
local sid = redis.call('XADD', log, '*', unpack(fields))
redis.call('HSET', meta, 'last', sid)

-- Exact trim (not ~): the newest removed id is the line below which `since` cannot recover.
local excess = redis.call('XLEN', log) - tonumber(ARGV[2])
if excess > 0 then
  local old = redis.call('XRANGE', log, '-', '+', 'COUNT', excess)
  for _, entry in ipairs(old) do
    redis.call('HDEL', extra, entry[1])
  end
  local trimmed = old[#old][1]
  redis.call('XTRIM', log, 'MAXLEN', ARGV[2])
  redis.call('HSET', meta, 'trimmed', trimmed)
  -- deleted placeholders older than the line go with it
  for _, dead in ipairs(redis.call('ZRANGEBYSCORE', gone, '-inf', id_ms(trimmed))) do
    if not id_before(trimmed, dead) then
      redis.call('ZREM', gone, dead)
      redis.call('HDEL', extra, dead)
    end
  end
end

local message_id = epoch .. '.' .. sid
if idem and tonumber(ARGV[7]) > 0 then
  redis.call('SET', idem, message_id, 'EX', ARGV[7])
end
-- The StoredMessage event (not a wire frame: each node's hub builds the `message` frame from it),
-- assembled from the parts Python encoded and the id/ts only known here.
redis.call('PUBLISH', ARGV[1], ARGV[8] .. '"id":"' .. message_id .. '","ts":' .. id_ms(sid) .. ARGV[9])
return {1, epoch, sid}
