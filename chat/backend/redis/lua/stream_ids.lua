-- Shared by the history scripts. Stream ids are "<ms>-<seq>"; these compare them as numbers
-- (the string order is wrong for ids of different lengths).
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
