-- Shared by the presence scripts. Per room, a hash of connection records (field
-- "<instance> <connection id>", value the record JSON) and a per-user index (user id -> JSON
-- array of that user's fields), so that joining and leaving cost the user's connections, not
-- the room's size. An instance (one node process, a hex id) counts while the room's alive hash
-- (KEYS[4]: instance -> ms until which it counts, refreshed by its heartbeat) says so. It is a key
-- of the room, not the instance's heartbeat key, so that every script touches one slot (Redis
-- Cluster).
-- A script whose alive hash is another key sets alive_key first (open_connection.lua).
local alive_key = KEYS[4]
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
    local raw = redis.call('HGET', KEYS[1], field)
    if raw and cjson.decode(raw).lang == lang then
      return true
    end
  end
  return false
end

local function count(lang, step)
  if redis.call('HINCRBY', KEYS[3], lang, step) <= 0 then
    redis.call('HDEL', KEYS[3], lang)
  end
end

local function save_fields(users, user, fields)
  if #fields == 0 then
    redis.call('HDEL', users, user)  -- (cjson would encode an empty table as {})
  else
    redis.call('HSET', users, user, cjson.encode(fields))
  end
end
