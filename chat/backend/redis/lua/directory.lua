-- One directory page's worth of matching entries, read from the index in order (GET /api/people).
-- KEYS: 1 people:dir (zset, score 0, "<name casefolded>\0<id>" of visible profiles),
--       2 people:find (hash id -> "<name casefolded>\31<organisation casefolded>\31<lang>\31<country>")
-- ARGV: 1 lex start ("-" or "(<member>"), 2 entries wanted, 3 needle (casefolded; "" = any),
--       4 lang ("" = any), 5 country ("" = any), 6 the viewer's id (never listed), 7 most entries
--       examined in this call (Redis runs one script at a time: the caller continues from where it stopped)
-- Returns {matching members in order, where to continue ("" once the index is read to its end)}.
-- UTF-8 is self-synchronising, so a byte substring of casefolded text is a character substring.
local low, wanted, needle = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local budget, chunk = tonumber(ARGV[7]), 200
local found, examined = {}, 0
while examined < budget do
  local members = redis.call('ZRANGEBYLEX', KEYS[1], low, '+', 'LIMIT', 0, chunk)
  for _, member in ipairs(members) do
    examined = examined + 1
    low = '(' .. member
    local cut = string.find(member, '\0', 1, true)
    local name, id = string.sub(member, 1, cut - 1), string.sub(member, cut + 1)
    local find = redis.call('HGET', KEYS[2], id)
    if find and id ~= ARGV[6] then
      local a = string.find(find, '\31', 1, true)
      local b = string.find(find, '\31', a + 1, true)
      local c = string.find(find, '\31', b + 1, true)
      local key, org = string.sub(find, 1, a - 1), string.sub(find, a + 1, b - 1)
      local lang, country = string.sub(find, b + 1, c - 1), string.sub(find, c + 1)
      if key == name  -- else a stale entry a racing rename left behind
          and (needle == '' or string.find(key, needle, 1, true) or string.find(org, needle, 1, true))
          and (ARGV[4] == '' or lang == ARGV[4]) and (ARGV[5] == '' or country == ARGV[5]) then
        found[#found + 1] = member
        if #found == wanted then
          return {found, low}
        end
      end
    end
  end
  if #members < chunk then
    return {found, ''}
  end
end
return {found, low}
