-- Rules that try to run forever in every way a Lua rule can: each must be
-- stopped within the pack's budget (10 ms in tests/faults/policy.json), the
-- call denied, and the next call served normally.
pack { id = "hostile", description = "Hostile rules (fault tests only)." }

rule {
  id = "loop",
  description = "An endless loop.",
  tools = { "HostileLoop" },
  check = function(call, params)
    while true do end
  end,
}

rule {
  id = "pcall-loop",
  description = "An endless loop that swallows every error it can.",
  tools = { "HostilePcallLoop" },
  check = function(call, params)
    while true do pcall(function() while true do end end) end
  end,
}

rule {
  id = "alloc",
  description = "Allocates without bound: one huge string.",
  tools = { "HostileAlloc" },
  check = function(call, params)
    local s = string.rep("x", 1 << 30)
    return tg.deny("unreachable " .. #s)
  end,
}

rule {
  id = "table",
  description = "Allocates without bound: a table that keeps growing.",
  tools = { "HostileTable" },
  check = function(call, params)
    local t = {}
    local i = 0
    while true do i = i + 1; t[i] = { i, tostring(i) } end
  end,
}

rule {
  id = "recurse",
  description = "Recurses without end (not a tail call).",
  tools = { "HostileRecurse" },
  check = function(call, params)
    local function down(n) return 1 + down(n + 1) end
    return down(0)
  end,
}

rule {
  id = "backtrack",
  description = "Exponential backtracking written in Lua: matches (a|aa)*b against a run of a's.",
  tools = { "HostileBacktrack" },
  check = function(call, params)
    local text = string.rep("a", 64)
    local function match(i)
      if i > #text then return false end
      if text:sub(i, i) == "b" then return true end
      if text:sub(i, i) == "a" and match(i + 1) then return true end
      return text:sub(i, i + 1) == "aa" and match(i + 2)
    end
    if match(1) then return tg.deny("matched") end
  end,
}

rule {
  id = "rep",
  description = "Spends its time inside C: a large string.rep in a loop (few VM instructions per call).",
  tools = { "HostileRep" },
  check = function(call, params)
    while true do local s = string.rep("x", 1 << 20) end
  end,
}

rule {
  id = "find",
  description = "Spends its time inside C: a plain find over a large string in a loop, allocating nothing.",
  tools = { "HostileFind" },
  check = function(call, params)
    local s = string.rep("x", 1 << 20)
    while true do local _ = string.find(s, "y", 1, true) end
  end,
}

rule {
  id = "concat",
  description = "Spends its time inside C: table.concat of a large table in a loop.",
  tools = { "HostileConcat" },
  check = function(call, params)
    local t = {}
    for i = 1, 20000 do t[i] = "abcdefgh" end
    while true do local _ = table.concat(t) end
  end,
}

rule {
  id = "move",
  description = "Spends its time inside C: table.move over a range of nils that never ends, allocating nothing.",
  tools = { "HostileMove" },
  check = function(call, params)
    table.move({}, 1, math.maxinteger - 1, 1, {})
  end,
}

rule {
  id = "sort",
  description = "Spends its time inside C: one table.sort of 150,000 numbers (Lua's sort compares them in C).",
  tools = { "HostileSort" },
  check = function(call, params)
    local t = {}
    for i = 1, 150000 do t[i] = (i * 7919) % 150001 end
    table.sort(t)
    return tg.deny("sorted")
  end,
}

rule {
  id = "utf8len",
  description = "Spends its time inside C: utf8.len over a 3 MB string in a loop.",
  tools = { "HostileUtf8" },
  check = function(call, params)
    local s = string.rep("\u{e4}", 1500000)
    while true do local _ = utf8.len(s) end
  end,
}

rule {
  id = "insert",
  description = "Spends its time inside C: inserts at the front of a long table shift every element.",
  tools = { "HostileInsert" },
  check = function(call, params)
    local t = {}
    for i = 1, 100000 do t[i] = i end
    while true do table.insert(t, 1, 0) end
  end,
}
