-- Shared by append.lua and send.lua: store one message, trim history, remember (user, cid) and
-- publish the message, as append.lua describes (needs stream_ids.lua). `a` holds append.lua's ARGV
-- by name: channel, history_max, epoch, user, lang, text, ttl, head, tail, reply, mentions, step, and
-- `after`: the event's end after the tail ('' for append.lua; send.lua's `translating` and closing
-- brace, so the event is joined once, not its tail first).
local function append_message(log, meta, extra, gone, idem, a)
  -- A missing stream means this room never had a message, or Redis lost it: a new epoch tells
  -- every client holding an id of the old life that its `since` cannot be recovered.
  local epoch = redis.call('HGET', meta, 'epoch')
  -- XLEN is 0 for a missing stream and for an empty one (a stream stays when XDEL takes its last
  -- entry, as delete.lua may): only then does EXISTS tell them apart. The length gives the trim too.
  local length = redis.call('XLEN', log)
  if length == 0 and redis.call('EXISTS', log) == 0 then
    epoch = a.epoch
    redis.call('DEL', meta, extra, gone)
    redis.call('HSET', meta, 'epoch', epoch)
  elseif not epoch then
    -- the stream survived but its epoch did not: ids handed out before cannot be trusted
    epoch = a.epoch
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

  local fields = {'u', a.user, 'l', a.lang, 't', a.text}
  if a.reply and a.reply ~= '' then
    fields[#fields + 1] = 'q'
    fields[#fields + 1] = a.reply
  end
  if a.mentions and a.mentions ~= '' then
    fields[#fields + 1] = 'm'
    fields[#fields + 1] = a.mentions
  end
  if a.step and a.step ~= '' then
    fields[#fields + 1] = 'k'
    fields[#fields + 1] = a.step
  end
  local sid = redis.call('XADD', log, '*', unpack(fields))
  redis.call('HSET', meta, 'last', sid)

  -- Exact trim (not ~): the newest removed id is the line below which `since` cannot recover.
  -- XADD added exactly one entry to the `length` there were.
  local excess = length + 1 - a.history_max
  if excess > 0 then
    local old = redis.call('XRANGE', log, '-', '+', 'COUNT', excess)
    for _, entry in ipairs(old) do
      redis.call('HDEL', extra, entry[1])
    end
    local trimmed = old[#old][1]
    redis.call('XTRIM', log, 'MAXLEN', a.history_max)
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
  if idem and tonumber(a.ttl) > 0 then
    redis.call('SET', idem, message_id, 'EX', a.ttl)
  end
  -- The NewMessage event (not a wire frame: each node's hub builds the `message` frame from it),
  -- assembled from the parts Python encoded and the id/ts only known here.
  redis.call('PUBLISH', a.channel, a.head .. '"id":"' .. message_id .. '","ts":' .. id_ms(sid) .. a.tail .. a.after)
  return {1, epoch, sid}
end
