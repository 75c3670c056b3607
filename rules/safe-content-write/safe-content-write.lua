-- safe-content-write: large content written through the shell (redirects,
-- here-docs, tee, dd, printf/echo payloads, PowerShell Set-Content/Out-File/
-- Add-Content) escapes the governed Write tool's diff review, size checks and
-- audit. Above a size limit, send the agent to the Write tool.

pack {
  id = "safe-content-write",
  description = "Blocks large file content written through the shell; steers to the governed Write tool.",
  params = {
    max_bytes = 4096,           -- at least 256 (the prefilter skips shorter commands)
    governed_tool = "the Write tool",
    verdict = "deny",           -- "deny" | "ask"
  },
}

local WRITERS = { tee = true, dd = true, sponge = true, ["set-content"] = true, ["out-file"] = true,
                  ["add-content"] = true, ["sc"] = true, ["ac"] = true }
local PRODUCERS = { echo = true, printf = true, cat = true, ["write-output"] = true, ["write-host"] = true,
                    ["echo.exe"] = true }
local WRITE_OPS = { [">"] = true, [">>"] = true, [">|"] = true, ["&>"] = true, ["&>>"] = true, ["<>"] = true }

local function shell_text(call)
  local i = call.input
  if type(i.command) == "string" then return i.command end
  if type(i.cmd) == "string" then return i.cmd end
  if type(i.script) == "string" then return i.script end
  return nil
end

local function lower_base(word)
  return string.lower(tg.path.basename(word or ""))
end

local function refuse(params, what, bytes)
  local msg = what .. " writes " .. bytes .. " bytes through the shell (limit " .. math.max(params.max_bytes, 256) ..
              "). Use " .. params.governed_tool .. " to create or change files with large content."
  if params.verdict == "ask" then return tg.ask(msg) end
  return tg.deny(msg)
end

rule {
  id = "large-shell-write",
  description = "Content above max_bytes written by a shell redirect, here-doc, tee, dd, echo/printf or PowerShell cmdlet.",
  tools = { "Bash", "*shell*", "*terminal*", "*command*", "PowerShell" },
  -- No payload can be larger than the command that carries it: short calls never reach Lua.
  min_text_bytes = 256,
  check = function(call, params)
    local limit = math.max(params.max_bytes, 256)
    local text = shell_text(call)
    if not text or #text <= limit then return nil end
    local cmds = tg.shell.commands(text)
    local writer_in_pipeline = {}
    for _, c in ipairs(cmds) do
      if WRITERS[lower_base(c.argv[1])] and c.pipe_in then writer_in_pipeline[c.pipeline] = lower_base(c.argv[1]) end
    end
    for _, c in ipairs(cmds) do
      local prog = lower_base(c.argv[1])
      local payload, writes = 0, false
      for _, r in ipairs(c.redirects) do
        if r.heredoc_bytes then payload = payload + r.heredoc_bytes end
        if WRITE_OPS[r.op] then writes = true end
      end
      if PRODUCERS[prog] or WRITERS[prog] then
        for k = 2, #c.argv do
          local a = c.argv[k]
          if a:sub(1, 1) ~= "-" or #a > 64 then payload = payload + #a end
        end
      end
      if WRITERS[prog] then writes = true end
      if c.pipe_out and writer_in_pipeline[c.pipeline] then writes = true end
      if writes and payload > limit then
        local how = WRITERS[prog] and ("`" .. c.argv[1] .. "`")
                    or (c.pipe_out and writer_in_pipeline[c.pipeline] and ("a pipe into `" .. writer_in_pipeline[c.pipeline] .. "`"))
                    or "a shell redirect"
        return refuse(params, how, payload)
      end
    end
    return nil
  end,
}
