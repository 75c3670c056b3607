-- destructive-commands: commands whose damage cannot be undone by the agent
-- that ran them: recursive deletes of / or $HOME or outside the workspace,
-- making file systems, raw writes to block devices, recursive permission
-- changes at the roots, piping a download straight into a shell, fork bombs.

pack {
  id = "destructive-commands",
  description = "Blocks rm -rf outside the workspace, mkfs, dd onto devices, recursive chmod/chown at roots, curl | sh and fork bombs.",
  params = {
    workspace = "",                  -- "" = the call's cwd
    extra_safe_dirs = { "/tmp", "/var/tmp" },
  },
}

local SHELLS = { sh = true, bash = true, zsh = true, dash = true, ksh = true, fish = true, python = true,
                 python3 = true, perl = true, ruby = true, node = true, pwsh = true }
local DOWNLOADERS = { curl = true, wget = true, fetch = true, aria2c = true }
local SYSTEM_DIRS = { "/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib32", "/lib64", "/opt", "/proc",
                      "/root", "/sbin", "/srv", "/sys", "/usr", "/var", "/Users", "/System", "/Library",
                      "/Applications" }

local function base(program) return tg.path.basename(program) end

-- Programs that run another program: `sudo bash`, `env X=1 sh`, `timeout 5 bash`.
local WRAPPERS = { sudo = true, doas = true, env = true, nice = true, nohup = true, timeout = true, exec = true,
                   command = true, stdbuf = true, ionice = true, time = true }

-- The program a command really runs, past wrappers, their options and assignments.
local function real_program(argv)
  for i = 1, #argv do
    local w = argv[i]
    local b = base(w)
    if not (WRAPPERS[b] or w:sub(1, 1) == "-" or w:find("=", 1, true) or tg.re.test(w, "^[0-9.]+[smhd]?$")) then
      return b
    end
  end
  return ""
end

-- Flags (a cluster like -rf counts for each letter) and operands of an argv.
local function parse_args(argv)
  local flags, operands, dashdash = {}, {}, false
  for i = 2, #argv do
    local a = argv[i]
    if dashdash or a:sub(1, 1) ~= "-" or a == "-" then
      operands[#operands + 1] = a
    elseif a == "--" then
      dashdash = true
    elseif a:sub(1, 2) == "--" then
      flags[a] = true
    else
      for k = 2, #a do flags[a:sub(k, k)] = true end
    end
  end
  return flags, operands
end

local function workspace(call, params)
  if params.workspace ~= "" then return params.workspace end
  return call.cwd
end

-- "/", "$HOME", a parent of $HOME, or a top-level system directory.
local function is_root_like(path)
  local home = tg.path.home()
  if path == home or tg.path.within(home, path) then return true end
  for _, d in ipairs(SYSTEM_DIRS) do
    if path == d then return true end
  end
  return false
end

local function normalize(target, cwd)
  -- A trailing /* or /. means "everything in": judge the directory itself.
  local t = tg.re.replace(target, "/(\\*|\\.)$", "")
  if t == "" then t = "/" end
  local p = tg.path.normalize(t, cwd)
  return p
end

rule {
  id = "rm-recursive",
  description = "rm -r/-rf of /, $HOME, a system directory, or anything outside the workspace and temp dirs.",
  effects = { "exec" },
  programs = { "rm" },
  check = function(call, params)
    for _, exec in ipairs(call.effects.execs) do
      if base(exec.program) == "rm" then
        local flags, operands = parse_args(exec.argv)
        local recursive = flags.r or flags.R or flags["--recursive"]
        if flags["--no-preserve-root"] then
          return tg.deny("`rm --no-preserve-root` is never allowed.")
        end
        for _, target in ipairs(operands) do
          local path = normalize(target, call.cwd)
          if not path then
            if recursive then return tg.deny("recursive rm of '" .. target .. "', whose location cannot be determined, is blocked.") end
          elseif is_root_like(path) then
            return tg.deny("rm of " .. path .. " would destroy the system or the home directory; it is blocked.")
          elseif recursive then
            local ws = workspace(call, params)
            local inside = ws ~= "" and tg.path.within(path, ws) and path ~= ws
            for _, d in ipairs(params.extra_safe_dirs) do
              inside = inside or (tg.path.within(path, d) and path ~= d)
            end
            if not inside then
              return tg.deny("recursive rm of " .. path .. " is outside the workspace (" .. (ws ~= "" and ws or "unknown") ..
                             "); delete only inside the project.")
            end
          end
        end
      end
    end
  end,
}

rule {
  id = "mkfs",
  description = "Creating or wiping file systems and partition tables.",
  effects = { "exec" },
  programs = { "mkfs", "mkfs.*", "mke2fs", "mkswap", "wipefs", "fdisk", "sfdisk", "parted", "sgdisk", "newfs*" },
  check = function(call)
    for _, exec in ipairs(call.effects.execs) do
      local b = base(exec.program)
      if b:find("mk", 1, true) == 1 or b == "wipefs" or b == "fdisk" or b == "sfdisk" or b == "parted"
         or b == "sgdisk" or b:find("newfs", 1, true) == 1 then
        return tg.deny("`" .. b .. "` formats or repartitions disks; it is never run by an agent.")
      end
    end
  end,
}

local DEVICE_RE = "^/dev/(sd|hd|vd|xvd|nvme|mmcblk|disk|rdisk|loop|md|dm-|mapper/|sr|fd)"

rule {
  id = "dd-device",
  description = "dd (or a redirect) writing onto a block device.",
  effects = { "exec", "write" },
  check = function(call)
    for _, exec in ipairs(call.effects.execs) do
      if base(exec.program) == "dd" then
        for i = 2, #exec.argv do
          local of = tg.re.match(exec.argv[i], "^of=(.*)$")
          if of and tg.re.test(of, DEVICE_RE) then
            return tg.deny("dd onto the device " .. of .. " overwrites a disk; it is blocked.")
          end
        end
      end
    end
    for _, p in ipairs(call.effects.paths) do
      if p.access == "write" and tg.re.test(p.path, DEVICE_RE) then
        return tg.deny("writing to the device " .. p.path .. " overwrites a disk; it is blocked.")
      end
    end
  end,
}

rule {
  id = "chmod-chown-roots",
  description = "Recursive chmod/chown/chgrp at /, $HOME or system directories, or recursive chmod 777 outside the workspace.",
  effects = { "exec" },
  programs = { "chmod", "chown", "chgrp" },
  check = function(call, params)
    for _, exec in ipairs(call.effects.execs) do
      local b = base(exec.program)
      if b == "chmod" or b == "chown" or b == "chgrp" then
        local flags, operands = parse_args(exec.argv)
        if flags.R or flags["--recursive"] then
          local mode = operands[1] or ""
          local world = b == "chmod" and (tg.re.test(mode, "^0?777$") or tg.re.test(mode, "^(a|ugo)?\\+rwx$"))
          for k = 2, #operands do
            local path = normalize(operands[k], call.cwd)
            if not path or is_root_like(path) then
              return tg.deny("recursive " .. b .. " of " .. (path or operands[k]) .. " changes ownership or permissions system-wide; it is blocked.")
            end
            local ws = workspace(call, params)
            if world and not (ws ~= "" and tg.path.within(path, ws)) then
              return tg.deny("recursive chmod " .. mode .. " outside the workspace makes files world-writable; it is blocked.")
            end
          end
        end
      end
    end
  end,
}

local function shell_text(call)
  local i = call.input
  if type(i.command) == "string" then return i.command end
  if type(i.cmd) == "string" then return i.cmd end
  if type(i.script) == "string" then return i.script end
  return nil
end

rule {
  id = "pipe-to-shell",
  description = "A download piped (or substituted) straight into a shell or interpreter: curl ... | sh.",
  effects = { "exec" },
  programs = { "curl", "wget", "fetch", "aria2c" },
  check = function(call)
    local text = shell_text(call)
    if not text then return nil end
    local cmds = tg.shell.commands(text)
    local downloading = {}
    for _, c in ipairs(cmds) do
      local prog = real_program(c.argv)
      if DOWNLOADERS[prog] and c.pipe_out then downloading[c.pipeline] = true end
      if SHELLS[prog] and c.pipe_in and downloading[c.pipeline] then
        return tg.deny("piping a download into `" .. prog .. "` runs unreviewed code; download to a file, inspect it, then run it.")
      end
    end
    -- sh -c "$(curl ...)", bash <(curl ...), . <(wget ...)
    if tg.re.test(text, "(?i)\\b(sh|bash|zsh|dash|ksh|source|\\.)\\s+(-c\\s+)?[\"']?(\\$\\(|<\\(|`)\\s*(curl|wget|fetch)\\b") then
      return tg.deny("running a download through a shell substitution runs unreviewed code; download, inspect, then run.")
    end
  end,
}

rule {
  id = "fork-bomb",
  description = "A shell function that calls itself twice in the background: :(){ :|:& };:",
  tools = { "Bash", "*shell*", "*terminal*", "*command*", "PowerShell" },
  contains = { "()" },
  check = function(call)
    local text = shell_text(call)
    if not text or not text:find("(", 1, true) then return nil end
    local compact = tg.re.replace(text, "\\s+", "")
    for _, def in ipairs(tg.re.find_all(compact, "[A-Za-z_:.][A-Za-z0-9_:.]*\\(\\)\\{", 20)) do
      local name = def:sub(1, #def - 3)
      if compact:find(name .. "|" .. name .. "&", 1, true) or compact:find(name .. "&" .. name, 1, true) then
        return tg.deny("this is a fork bomb (" .. name .. "() calls itself in the background); it is blocked.")
      end
    end
  end,
}
