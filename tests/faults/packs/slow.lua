-- Runs for as long as its (large) budget lets it: the daemon is judging this
-- call when the fault test kills it.
pack { id = "slow", description = "A rule that takes seconds on purpose (fault tests only)." }

rule {
  id = "spin",
  description = "Spins until the pack's time budget ends.",
  tools = { "SlowTool" },
  check = function(call, params)
    local n = 0
    while true do n = n + 1 end
  end,
}
