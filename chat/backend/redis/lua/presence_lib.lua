-- Shared by the presence scripts. Per room, a hash of connection records (field
-- "<instance> <connection id>", value the record JSON) and a per-user index (user id -> JSON
-- array of that user's fields), so that joining and leaving cost the user's connections, not
-- the room's size. An instance (one node process, a hex id) counts while the room's alive hash
-- (KEYS[4]: instance -> ms until which it counts, refreshed by its heartbeat) says so. It is a key
-- of the room, not the instance's heartbeat key, so that every script touches one slot (Redis
-- Cluster).
-- A script whose alive hash is another key sets alive_key first (open_connection.lua); one that
-- works on several rooms switches with use_room (reap_rooms.lua).
local presence_key, census_key, alive_key = KEYS[1], KEYS[3], KEYS[4]
local alive_cache = {}
local clock = redis.call('TIME')
local now_ms = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local function alive(field)
  local instance = string.match(field, '^(%x+) ')
  if alive_cache[instance] == nil then
    local until_ms = redis.call('HGET', alive_key, instance)
    alive_cache[instance] = until_ms ~= false and tonumber(until_ms) > now_ms
  end
  return alive_cache[instance]
end

-- This instance counts in the room for ttl ms more (ARGV[1] = instance, ARGV[2] = ttl ms).
local function refresh(instance, ttl_ms)
  redis.call('HSET', alive_key, instance, tostring(now_ms + tonumber(ttl_ms)))
  alive_cache[instance] = true
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

-- The census (KEYS[3], language -> users reading it) counts a user once per language that one of
-- its connections reads: these tell whether any of `fields` (records in KEYS[1]) reads `lang`.
local function reads(fields, lang)
  for _, field in ipairs(fields) do
    local raw = redis.call('HGET', presence_key, field)
    if raw and cjson.decode(raw).lang == lang then
      return true
    end
  end
  return false
end

local function count(lang, step)
  if redis.call('HINCRBY', census_key, lang, step) <= 0 then
    redis.call('HDEL', census_key, lang)
  end
end

local function save_fields(users, user, fields)
  if #fields == 0 then
    redis.call('HDEL', users, user)  -- (cjson would encode an empty table as {})
  else
    redis.call('HSET', users, user, cjson.encode(fields))
  end
end

-- The room the functions above work on: its presence hash, census hash and alive hash.
local function use_room(presence, census, alive_hash)
  presence_key, census_key, alive_key, alive_cache = presence, census, alive_hash, {}
end

-- Drop one room's connections of instances whose heartbeat expired (they died without cleaning
-- up), refreshing `instance` there for ttl ms more: reap.lua for one room, reap_rooms.lua for many.
-- Returns the records of users left with no live connection: the caller publishes their presence
-- `leave` (only one node's call removes a record, so only one node announces it).
local function reap_room(presence, users, census, alive_hash, instance, ttl_ms)
  use_room(presence, census, alive_hash)
  refresh(instance, ttl_ms)
  local entries = redis.call('HGETALL', presence)
  local gone, announced, uncounted = {}, {}, {}
  for i = 1, #entries, 2 do
    local field, raw = entries[i], entries[i + 1]
    if not alive(field) then
      redis.call('HDEL', presence, field)
      local record = cjson.decode(raw)
      local user = record.id
      local others = live_fields(users, user, field)
      local reader = user .. ' ' .. record.lang
      if not uncounted[reader] and not reads(others, record.lang) then
        uncounted[reader] = true
        count(record.lang, -1)
      end
      save_fields(users, user, others)
      if #others == 0 and not announced[user] then
        announced[user] = true
        gone[#gone + 1] = raw
      end
    end
  end
  -- instances that are gone for good leave the alive hash too
  local stamps = redis.call('HGETALL', alive_hash)
  for i = 1, #stamps, 2 do
    if tonumber(stamps[i + 1]) <= now_ms then
      redis.call('HDEL', alive_hash, stamps[i])
    end
  end
  return gone
end
