-- secrets-guard: secrets must not leave through a tool call (written to a
-- file, sent in a message, echoed or passed on a command line), and
-- credential stores must not be read unless the policy grants it.

pack {
  id = "secrets-guard",
  description = "Blocks writing, sending or echoing secrets, and reading credential stores unless granted.",
  params = {
    allowed_paths = {},              -- globs of credential files this profile may read ("~/.aws/config")
    entropy_threshold = 3.5,         -- bits per character for a value assigned to a secret-looking name
    min_secret_length = 16,
    extra_patterns = {},             -- more RE2 patterns that mean "a secret"
  },
}

-- name, pattern (RE2). Specific token formats; each is a real credential shape.
local DETECTORS = {
  { "AWS access key id", "\\b(AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\\b" },
  { "AWS secret access key", "(?i)aws_?secret_?access_?key[\"']?\\s*[:=]\\s*[\"']?[A-Za-z0-9/+=]{40}\\b" },
  { "GitHub token", "\\b(ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36,255}\\b" },
  { "GitHub fine-grained token", "\\bgithub_pat_[A-Za-z0-9_]{60,255}\\b" },
  { "GitLab token", "\\bglpat-[A-Za-z0-9_\\-]{20,}\\b" },
  { "Slack token", "\\bxox[abposr]-[A-Za-z0-9-]{10,}\\b" },
  { "Slack webhook", "https://hooks\\.slack\\.com/services/T[A-Za-z0-9_]+/B[A-Za-z0-9_]+/[A-Za-z0-9_]+" },
  { "private key", "-----BEGIN ((RSA|DSA|EC|OPENSSH|ENCRYPTED|PGP) )?PRIVATE KEY( BLOCK)?-----" },
  { "JSON Web Token", "\\beyJ[A-Za-z0-9_-]{8,}\\.eyJ[A-Za-z0-9_-]{8,}\\.[A-Za-z0-9_-]{8,}" },
  { "Google API key", "\\bAIza[0-9A-Za-z_\\-]{35}\\b" },
  { "Stripe live key", "\\b(sk|rk)_live_[0-9A-Za-z]{20,}\\b" },
  { "OpenAI-style key", "\\bsk-(proj-)?[A-Za-z0-9_\\-]{32,}\\b" },
  { "Anthropic key", "\\bsk-ant-[A-Za-z0-9_\\-]{32,}\\b" },
}
local ANY_DETECTOR
do
  local parts = {}
  for i, d in ipairs(DETECTORS) do parts[i] = "(?:" .. d[2] .. ")" end
  ANY_DETECTOR = table.concat(parts, "|")
end
-- name = value, name: value, --name value, NAME="value"
local ASSIGNMENT = "(?i)\\b[A-Za-z0-9_.-]*(password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|client[_-]?secret|auth)[A-Za-z0-9_.-]*[\"']?\\s*(?:[:=]|\\s)\\s*[\"']?([^\\s\"'`;&|]{8,})"
local PLACEHOLDER = "(?i)^(\\$|<|\\{|%|\\*+$|x{6,}|changeme|example|dummy|redacted|your|placeholder|null|none|true|false|\\.\\.\\.)"

local function find_secret(text, params)
  if tg.re.test(text, ANY_DETECTOR) then
    for _, d in ipairs(DETECTORS) do
      if tg.re.test(text, d[2]) then return d[1] end
    end
  end
  for _, p in ipairs(params.extra_patterns) do
    if tg.re.test(text, p) then return "a value matching " .. p end
  end
  if tg.re.test(text, "(?i)(password|passwd|pwd|secret|token|key|auth)") then
    for _, m in ipairs(tg.re.find_all(text, ASSIGNMENT, 50)) do
      local _, value = tg.re.match(m, ASSIGNMENT)
      if value and #value >= params.min_secret_length and not tg.re.test(value, PLACEHOLDER)
         and tg.text.entropy(value) >= params.entropy_threshold then
        return "a high-entropy value assigned to a secret-looking name"
      end
    end
  end
  return nil
end

local function deny_secret(kind, where)
  return tg.deny("this call would " .. where .. " what looks like " .. kind ..
                 ". Never put secrets in tool calls; reference them through the environment or a secret manager.")
end

rule {
  id = "secret-in-shell-or-file",
  description = "A secret in a shell command or in content written to a file.",
  effects = { "exec", "write", "content" },
  check = function(call, params)
    if #call.text < 8 then return nil end
    local kind = find_secret(call.text, params)
    if kind then
      return deny_secret(kind, #call.effects.execs > 0 and "run or echo" or "write")
    end
  end,
}

rule {
  id = "secret-in-message",
  description = "A secret in an outbound message, post, issue, comment or MCP call.",
  tools = { "*mail*", "*send*", "*post*", "*message*", "*comment*", "*issue*", "*publish*", "*reply*", "*slack*",
            "mcp__*", "WebFetch" },
  check = function(call, params)
    if #call.text < 8 then return nil end
    local kind = find_secret(call.text, params)
    if kind then return deny_secret(kind, "send") end
  end,
}

-- Credential stores, relative to home unless absolute. RE2, matched on the normalized path.
local STORES = {
  { "SSH private keys", "^~/\\.ssh/(?:id_[^/]*|.*_key|.*\\.pem)$", "\\.pub$" },
  { "AWS credentials", "^~/\\.aws/(credentials|config|sso/cache/.*)$" },
  { "Google Cloud credentials", "^~/\\.config/gcloud/.*" },
  { "Azure credentials", "^~/\\.azure/.*" },
  { "Kubernetes config", "^~/\\.kube/config$" },
  { "Docker credentials", "^~/\\.docker/config\\.json$" },
  { "netrc", "^~/\\.netrc$" },
  { "git credentials", "^~/\\.git-credentials$" },
  { "package registry tokens", "^~/\\.(npmrc|pypirc|gem/credentials|cargo/credentials(\\.toml)?)$" },
  { "GnuPG private keys", "^~/\\.gnupg/(private-keys-v1\\.d/.*|secring\\.gpg)$" },
  { "keychains", "^~/(Library/Keychains/.*|\\.local/share/keyrings/.*|\\.password-store/.*)$" },
  { "a .env file", "(^|/)\\.env(\\.[A-Za-z0-9_-]+)?$", "\\.env\\.(example|sample|template|dist)$" },
}
local ANY_STORE
do
  local parts = {}
  for i, s in ipairs(STORES) do parts[i] = "(?:" .. s[2] .. ")" end
  ANY_STORE = table.concat(parts, "|")
end
local KEYCHAIN_TOOLS = { security = { "find-generic-password", "find-internet-password", "dump-keychain" },
                         ["secret-tool"] = { "lookup", "search" }, pass = { "show" }, gopass = { "show" } }

local function home_relative(path)
  local home = tg.path.home()
  if path == home then return "~" end
  if tg.path.within(path, home) then return "~" .. path:sub(#home + 1) end
  return path
end

local function allowed(path, params)
  for _, glob in ipairs(params.allowed_paths) do
    local g = glob
    if g:sub(1, 1) == "~" then g = tg.path.home() .. g:sub(2) end
    local re = "^" .. tg.re.replace(tg.re.escape(g), "\\\\\\*", ".*") .. "$"
    if tg.re.test(path, re) then return true end
  end
  return false
end

rule {
  id = "credential-store-read",
  description = "Reading SSH keys, cloud credentials, .env files, token files or keychains without a grant.",
  effects = { "read", "exec" },
  check = function(call, params)
    for _, p in ipairs(call.effects.paths) do
      local rel = p.access == "read" and home_relative(p.path)
      if rel and tg.re.test(rel, ANY_STORE) and not allowed(p.path, params) then
        for _, s in ipairs(STORES) do
          if tg.re.test(rel, s[2]) and not (s[3] and tg.re.test(rel, s[3])) then
            return tg.deny("reading " .. p.path .. " (" .. s[1] .. ") is not granted to this agent; ask the user to provide what you need.")
          end
        end
      end
    end
    for _, x in ipairs(call.effects.execs) do
      local verbs = KEYCHAIN_TOOLS[tg.path.basename(x.program)]
      if verbs and x.argv[2] then
        for _, v in ipairs(verbs) do
          if x.argv[2] == v then
            return tg.deny("`" .. tg.path.basename(x.program) .. " " .. v .. "` reads the keychain; it is not granted to this agent.")
          end
        end
      end
    end
  end,
}
