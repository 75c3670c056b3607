-- dev-guard: raw git through the shell bypasses the review and safety steps
-- a governed git tool enforces. This pack blocks either every raw git
-- command (mode = "all", except read-only subcommands) or only the dangerous
-- ones (mode = "dangerous"), and tells the agent which tool to use instead.

pack {
  id = "dev-guard",
  description = "Blocks raw git commands (all, or only dangerous ones) and points to the governed git tool.",
  params = {
    mode = "dangerous",                       -- "dangerous" | "all"
    protected_branches = { "main", "master", "release/*", "production" },
    governed_tool = "the governed git tool (mcp__git__*)",
    readonly_subcommands = { "status", "log", "diff", "show", "rev-parse", "ls-files", "blame", "describe",
                             "shortlog", "grep", "cat-file", "ls-remote", "help", "version" },
    verdict = "deny",                         -- "deny" | "ask"
  },
}

-- Global options that take the next word as their value (before the subcommand).
local GLOBAL_WITH_VALUE = { ["-C"] = true, ["-c"] = true, ["--git-dir"] = true, ["--work-tree"] = true,
                            ["--namespace"] = true, ["--exec-path"] = true, ["--config-env"] = true }

-- argv -> subcommand, its arguments
local function split_git(argv)
  local i = 2
  while i <= #argv do
    local a = argv[i]
    if GLOBAL_WITH_VALUE[a] then
      i = i + 2
    elseif a:sub(1, 1) == "-" then
      i = i + 1
    else
      break
    end
  end
  local args = {}
  for k = i + 1, #argv do args[#args + 1] = argv[k] end
  return argv[i], args
end

-- --long, --long=value, or a short letter inside a cluster (-fd).
local function has_flag(args, long, short)
  for _, a in ipairs(args) do
    if a == "--" then return false end
    if long and (a == long or a:sub(1, #long + 1) == long .. "=") then return true end
    if short and a:sub(1, 1) == "-" and a:sub(2, 2) ~= "-" and a:find(short, 2, true) then return true end
  end
  return false
end

local function positional(args)
  local out, after_dashdash = {}, false
  for _, a in ipairs(args) do
    if after_dashdash or a:sub(1, 1) ~= "-" then
      out[#out + 1] = a
    elseif a == "--" then
      after_dashdash = true
    end
  end
  return out
end

local function glob_to_re(glob)
  local escaped = tg.re.escape(glob)
  return "^" .. tg.re.replace(escaped, "\\\\\\*", ".*") .. "$"
end

local function protected(branch, params)
  branch = tg.re.replace(branch, "^refs/heads/", "")
  for _, glob in ipairs(params.protected_branches) do
    if tg.re.test(branch, glob_to_re(glob)) then return true end
  end
  return false
end

-- Why a git invocation is dangerous, or nil.
local function danger(sub, args, params)
  if sub == "push" then
    if has_flag(args, "--force", "f") then return "force push (--force / -f) rewrites shared history" end
    if has_flag(args, "--force-with-lease") or has_flag(args, "--force-if-includes") then
      return "force push (--force-with-lease) rewrites shared history"
    end
    if has_flag(args, "--mirror") then return "push --mirror overwrites every remote ref" end
    if has_flag(args, "--delete", "d") then return "push --delete removes remote branches" end
    local refs = positional(args)
    for k = 2, #refs do  -- refs[1] is the remote
      local spec = refs[k]
      if spec:sub(1, 1) == "+" then return "push of '" .. spec .. "': a leading + forces the update" end
      if spec:sub(1, 1) == ":" then return "push of '" .. spec .. "' deletes a remote branch" end
      local target = spec
      local colon = spec:find(":", 1, true)
      if colon then target = spec:sub(colon + 1) end
      if protected(target, params) then return "push to the protected branch '" .. target .. "'" end
    end
  elseif sub == "reset" then
    if has_flag(args, "--hard") then return "reset --hard discards uncommitted work" end
  elseif sub == "clean" then
    if has_flag(args, "--force", "f") and (has_flag(args, nil, "d") or has_flag(args, nil, "x") or has_flag(args, nil, "X")) then
      return "clean -fdx deletes untracked and ignored files"
    end
  elseif sub == "commit" then
    if has_flag(args, "--no-verify", "n") then return "commit --no-verify skips the repository's hooks" end
  elseif sub == "branch" then
    if has_flag(args, nil, "D") or (has_flag(args, "--delete", "d") and has_flag(args, "--force", "f")) then
      return "branch -D deletes a branch even if it is not merged"
    end
  elseif sub == "checkout" or sub == "switch" then
    if has_flag(args, "--force", "f") or has_flag(args, "--discard-changes") then
      return sub .. " --force discards local changes"
    end
  elseif sub == "filter-branch" or sub == "filter-repo" then
    return sub .. " rewrites the whole history"
  elseif sub == "reflog" then
    if args[1] == "expire" or args[1] == "delete" then return "reflog " .. args[1] .. " destroys recovery points" end
  elseif sub == "stash" then
    if args[1] == "clear" or args[1] == "drop" then return "stash " .. args[1] .. " deletes stashed work" end
  elseif sub == "update-ref" then
    if has_flag(args, nil, "d") then return "update-ref -d deletes a ref" end
  elseif sub == "gc" then
    for _, a in ipairs(args) do
      if a == "--prune=now" or a == "--prune=all" then return "gc --prune=now drops unreachable commits" end
    end
  end
  return nil
end

local function result(params, message)
  if params.verdict == "ask" then return tg.ask(message) end
  return tg.deny(message)
end

rule {
  id = "raw-git",
  description = "A raw git command that is dangerous (or, in mode \"all\", any that is not read-only).",
  effects = { "exec" },
  programs = { "git" },
  check = function(call, params)
    for _, exec in ipairs(call.effects.execs) do
      if tg.path.basename(exec.program) == "git" then
        local sub, args = split_git(exec.argv)
        if sub then
          local why = danger(sub, args, params)
          if why then
            return result(params, "raw `git " .. sub .. "` is blocked: " .. why .. ". Use " ..
                          params.governed_tool .. " instead; it applies the team's safeguards.")
          end
          if params.mode == "all" then
            local readonly = false
            for _, s in ipairs(params.readonly_subcommands) do readonly = readonly or s == sub end
            if not readonly then
              return result(params, "raw `git " .. sub .. "` is not allowed in this workspace. Use " ..
                            params.governed_tool .. " instead.")
            end
          end
        end
      end
    end
    return nil
  end,
}
