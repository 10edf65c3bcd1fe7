"""Lua scripts of the redis backend: every step that must be atomic runs inside Redis.

Key layout of one room (every key starts with the configured prefix):
    room:<id>:log       Stream of messages; entry fields u (user JSON), l (source language), t (text)
    room:<id>:meta      Hash: epoch (this life of the stream), last (newest stream id ever added),
                        trimmed (newest stream id removed by MAXLEN; `since` older than it is lost)
    room:<id>:extra     Hash: stream id -> JSON of the message's translations {lang: text}, or, for a
                        deleted message, its tombstone {"u": user JSON, "l": lang}
    room:<id>:gone      Sorted set of deleted stream ids (score = the id's milliseconds): deleted
                        messages leave the stream (XDEL, so their text is really gone) but keep
                        their place in history as `deleted` placeholders
    room:<id>:presence  Hash: "<instance> <connection id>" -> JSON {conn, id, name, lang, role}
    room:<id>:users     Hash: user id -> JSON array of that user's presence fields
A message id is "<epoch>.<stream id>"; ts is the stream id's milliseconds (Redis' clock).

Scripts publish from inside: Redis runs one script at a time and delivers PUBLISH in execution
order, so every subscriber sees messages in stream order. Nothing here reads the node's clock
except where a caller passes it.
"""
from __future__ import annotations

# Stream ids are "<ms>-<seq>"; these compare them as numbers (the string order is wrong for
# ids of different lengths). Shared by the scripts that need it.
_STREAM_IDS = """
local function parse_id(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end

-- true when stream id a comes strictly before b
local function id_before(a, b)
  local am, as = parse_id(a)
  local bm, bs = parse_id(b)
  return am < bm or (am == bm and as < bs)
end

-- the id's milliseconds, as a string (a Lua number would print in %.14g)
local function id_ms(id)
  return string.match(id, '^(%d+)')
end
"""

APPEND = _STREAM_IDS + r"""
-- Store one message, trim history, remember (user, cid) and publish the message: one step.
-- KEYS: 1 log stream, 2 meta hash, 3 extra hash, 4 gone zset, 5 idempotency key (only with a cid)
-- ARGV: 1 room channel, 2 history_max, 3 a fresh epoch (used only when this stream starts a new
--       life), 4 user JSON, 5 source language, 6 text, 7 idempotency TTL in seconds,
--       8 frame head '{"type":"message","room":"<room>",', 9 frame tail ',"user":..,"text":".."}'
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

local sid = redis.call('XADD', log, '*', 'u', ARGV[4], 'l', ARGV[5], 't', ARGV[6])
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
-- The `message` frame, assembled from the parts Python encoded and the id/ts only known here.
redis.call('PUBLISH', ARGV[1], ARGV[8] .. '"id":"' .. message_id .. '","ts":' .. id_ms(sid) .. ARGV[9])
return {1, epoch, sid}
"""

READ = _STREAM_IDS + r"""
-- Read history atomically with its epoch, so ids and the recoverable range always agree.
-- KEYS: 1 log stream, 2 meta hash, 3 extra hash, 4 gone zset
-- ARGV: 1 mode, 2 epoch of the caller's id ('' = none), 3 stream id ('' = none), 4 limit
--   mode 'page':  up to `limit` newest messages before the id (or the newest, without one);
--                 an id of another epoch gets nothing.
--   mode 'since': every message after the id when history still reaches back to it
--                 (recovered = 1), else the newest `limit` (recovered = 0).
-- Returns {epoch|false, recovered, live rows, deleted rows}; a live row is {id, fields, extra},
-- a deleted row {id, tombstone}. Python merges the two lists in id order and applies `limit`
-- (a page of live messages plus the placeholders between them always holds the answer).
local log, meta, extra, gone = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local mode, their_epoch, their_id, limit = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])

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
  local entries = redis.call('XRANGE', log, '(' .. their_id, '+')
  return {epoch, 1, live_rows(entries), deleted_rows(their_id, false)}
end
local live, deleted = page(false)
return {epoch, 0, live, deleted}
"""

ADD_TRANSLATION = r"""
-- Store a translation with its message, then publish the `translation` event.
-- KEYS: 1 log stream, 2 meta hash, 3 extra hash
-- ARGV: 1 epoch, 2 stream id, 3 language, 4 text, 5 room channel, 6 the event as JSON
-- Returns 1, or 0 when the message is gone (trimmed, deleted, or its history lost).
if redis.call('HGET', KEYS[2], 'epoch') ~= ARGV[1] then
  return 0
end
if #redis.call('XRANGE', KEYS[1], ARGV[2], ARGV[2]) == 0 then
  return 0
end
local stored = redis.call('HGET', KEYS[3], ARGV[2])
local translations = stored and cjson.decode(stored) or {}
translations[ARGV[3]] = ARGV[4]
redis.call('HSET', KEYS[3], ARGV[2], cjson.encode(translations))
redis.call('PUBLISH', ARGV[5], ARGV[6])
return 1
"""

DELETE = _STREAM_IDS + r"""
-- Delete a message: its entry leaves the stream (the text is gone from Redis), a tombstone keeps
-- its place in history as a `deleted` placeholder.
-- KEYS: 1 log stream, 2 meta hash, 3 extra hash, 4 gone zset
-- ARGV: 1 epoch, 2 stream id
-- Returns 1, or 0 when there was no such message (or it was deleted already).
if redis.call('HGET', KEYS[2], 'epoch') ~= ARGV[1] then
  return 0
end
local entries = redis.call('XRANGE', KEYS[1], ARGV[2], ARGV[2])
if #entries == 0 then
  return 0
end
local fields, entry = entries[1][2], {}
for i = 1, #fields, 2 do
  entry[fields[i]] = fields[i + 1]
end
redis.call('XDEL', KEYS[1], ARGV[2])
redis.call('HSET', KEYS[3], ARGV[2], cjson.encode({u = entry.u, l = entry.l}))
redis.call('ZADD', KEYS[4], id_ms(ARGV[2]), ARGV[2])
return 1
"""

# Presence: per room, a hash of connection records (field "<instance> <connection id>", value the
# record JSON) and a per-user index (user id -> JSON array of that user's fields), so that joining
# and leaving cost the user's connections, not the room's size. An instance (one node process,
# a hex id) counts while its heartbeat key, ARGV[1] .. instance, exists.
_PRESENCE = r"""
local alive_cache = {}
local function alive(field)
  local instance = string.match(field, '^(%x+) ')
  if alive_cache[instance] == nil then
    alive_cache[instance] = redis.call('EXISTS', ARGV[1] .. instance) == 1
  end
  return alive_cache[instance]
end

-- the user's live connection fields, leaving out `except`
local function live_fields(users, user, except)
  local raw = redis.call('HGET', users, user)
  local kept = {}
  for _, field in ipairs(raw and cjson.decode(raw) or {}) do
    if field ~= except and alive(field) then
      kept[#kept + 1] = field
    end
  end
  return kept
end

local function save_fields(users, user, fields)
  if #fields == 0 then
    redis.call('HDEL', users, user)  -- (cjson would encode an empty table as {})
  else
    redis.call('HSET', users, user, cjson.encode(fields))
  end
end
"""

ADD_MEMBER = _PRESENCE + r"""
-- Record a connection in a room. KEYS: 1 presence hash, 2 per-user index
-- ARGV: 1 heartbeat key prefix, 2 field, 3 user id, 4 record JSON
-- Returns 1 when the user had no live connection in the room before (a record being replaced,
-- as when the reader changes language, counts as one).
local others = live_fields(KEYS[2], ARGV[3], ARGV[2])
local first = #others == 0 and redis.call('HEXISTS', KEYS[1], ARGV[2]) == 0
others[#others + 1] = ARGV[2]
save_fields(KEYS[2], ARGV[3], others)
redis.call('HSET', KEYS[1], ARGV[2], ARGV[4])
return first and 1 or 0
"""

REMOVE_MEMBER = _PRESENCE + r"""
-- Forget a connection. KEYS: 1 presence hash, 2 per-user index
-- ARGV: 1 heartbeat key prefix, 2 field, 3 user id
-- Returns 1 when the connection was there and its user has no live connection left.
if redis.call('HDEL', KEYS[1], ARGV[2]) == 0 then
  return 0
end
local others = live_fields(KEYS[2], ARGV[3], ARGV[2])
save_fields(KEYS[2], ARGV[3], others)
return #others == 0 and 1 or 0
"""

MEMBERS = _PRESENCE + r"""
-- The records of live instances' connections, as one JSON array (one decode in Python, none
-- here: the relay asks for a room's members with every message).
-- KEYS: 1 presence hash; ARGV: 1 heartbeat key prefix
local entries = redis.call('HGETALL', KEYS[1])
local live = {}
for i = 1, #entries, 2 do
  if alive(entries[i]) then
    live[#live + 1] = entries[i + 1]
  end
end
return '[' .. table.concat(live, ',') .. ']'
"""

REAP = _PRESENCE + r"""
-- Drop the connections of instances whose heartbeat expired (they died without cleaning up).
-- KEYS: 1 presence hash, 2 per-user index; ARGV: 1 heartbeat key prefix
-- Returns the records of users left with no live connection: the caller publishes their
-- presence `leave` (only one node's call removes a record, so only one node announces it).
local entries = redis.call('HGETALL', KEYS[1])
local gone, announced = {}, {}
for i = 1, #entries, 2 do
  local field, raw = entries[i], entries[i + 1]
  if not alive(field) then
    redis.call('HDEL', KEYS[1], field)
    local user = cjson.decode(raw).id
    local others = live_fields(KEYS[2], user, field)
    save_fields(KEYS[2], user, others)
    if #others == 0 and not announced[user] then
      announced[user] = true
      gone[#gone + 1] = raw
    end
  end
end
return gone
"""

GET_MUTE = r"""
-- A user's mute, forgetting it once expired. KEYS: 1 mutes hash; ARGV: 1 user, 2 now (ms)
-- Returns false (not muted), '' (until unmuted) or the end in ms.
local until_ms = redis.call('HGET', KEYS[1], ARGV[1])
if until_ms and until_ms ~= '' and tonumber(until_ms) <= tonumber(ARGV[2]) then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return false
end
return until_ms
"""
