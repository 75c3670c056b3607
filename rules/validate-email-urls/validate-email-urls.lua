-- validate-email-urls: an agent that sends a message with a broken link
-- (a hallucinated path, a typo, a page that errors) embarrasses its user.
-- Before an email or message goes out, every URL in it must answer 2xx
-- (directly or after redirects). Needs the policy's "http" capability.

pack {
  id = "validate-email-urls",
  description = "Blocks sending a message whose links do not answer with a 2xx status (HEAD, then GET).",
  capabilities = { "http" },
  params = {
    timeout_verdict = "ask",     -- a link that does not answer in time: "ask" | "deny"
    error_verdict = "deny",      -- 4xx/5xx, refused or unreachable: "deny" | "ask"
    max_urls = 10,               -- more links than this: error_verdict without probing
    ignore_hosts = {},           -- hosts never probed (e.g. an intranet the daemon cannot reach)
  },
}

local BODY_KEY = "(?i)^(body|text|content|message|html|markdown|html_?body|text_?body|plain|description|comment|blocks)$"

local function collect(node, depth, out)
  if depth > 6 or type(node) ~= "table" then return end
  for k, v in pairs(node) do
    if type(v) == "string" and (type(k) ~= "string" or tg.re.test(k, BODY_KEY)) then
      out[#out + 1] = v
    elseif type(v) == "table" then
      collect(v, depth + 1, out)
    end
  end
end

local function ignored(host, params)
  for _, h in ipairs(params.ignore_hosts) do
    if host == h or (h:sub(1, 2) == "*." and host:sub(-(#h - 1)) == h:sub(2)) then return true end
  end
  return false
end

local function with_verdict(kind, message)
  if kind == "ask" then return tg.ask(message) end
  return tg.deny(message)
end

rule {
  id = "broken-link",
  description = "A link in an outgoing email or message that does not answer with 2xx.",
  tools = { "*mail*", "*send*", "*message*", "*reply*", "*post*" },
  effects = { "url" },
  check = function(call, params)
    local bodies = {}
    collect(call.input, 0, bodies)
    local seen, urls = {}, {}
    for _, body in ipairs(bodies) do
      for _, u in ipairs(tg.url.extract(body, 100)) do
        if not seen[u] then
          seen[u] = true
          urls[#urls + 1] = u
        end
      end
    end
    if #urls > params.max_urls then
      return with_verdict(params.error_verdict, "the message has " .. #urls .. " links; at most " .. params.max_urls ..
                          " can be verified. Send fewer links.")
    end
    for _, u in ipairs(urls) do
      local parsed = tg.url.parse(u)
      if parsed and (parsed.scheme == "http" or parsed.scheme == "https") and not ignored(parsed.host, params) then
        local status, why = tg.http.status(u)
        if not status then
          if why == "timeout" then
            return with_verdict(params.timeout_verdict, "the link " .. u .. " did not answer in time; check it before sending.")
          end
          return with_verdict(params.error_verdict, "the link " .. u .. " cannot be reached (" .. why .. "); fix or remove it before sending.")
        end
        if status < 200 or status > 299 then
          return with_verdict(params.error_verdict, "the link " .. u .. " answers HTTP " .. status ..
                              "; fix or remove it before sending.")
        end
      end
    end
    return nil
  end,
}
