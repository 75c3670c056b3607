-- brand-safety: outbound posts and messages must not make claims the
-- company has forbidden (for example that the author uses a competitor's
-- product). Matching folds case, whitespace, punctuation, accents, fullwidth
-- and lookalike letters, zero-width characters and (optionally) leetspeak,
-- so "We ❤ uѕing Acme‍Cloud" still reads as "we use acmecloud".

pack {
  id = "brand-safety",
  description = "Blocks outbound posts/messages with forbidden claims (phrases, regexes, competitor-use claims).",
  params = {
    phrases = {},              -- forbidden phrases, matched on folded text at word boundaries
    patterns = {},             -- RE2 patterns, tried on the raw text and on the folded text
    competitors = {},          -- names; a first-person claim of using one is forbidden
    leet = true,               -- also read 0 1 3 4 5 7 @ $ as letters
    verdict = "deny",          -- "deny" | "ask"
  },
}

local CLAIM_VERBS = "(use|uses|used|using|run|runs|running|rely on|relies on|switched to|moved to|migrated to|love|loves|prefer|prefers|recommend|recommends|built on|powered by|depend on|depends on)"
local SUBJECTS = "(we|i|our team|our company|my team|our engineers|we ve|we re|i ve|i m|we are|i am|we have|i have|internally we)"

local function fold(s, params) return tg.text.fold(s, { leet = params.leet }) end

local function verdict(params, message)
  message = message .. " Rephrase the message without it."
  if params.verdict == "ask" then return tg.ask(message) end
  return tg.deny(message)
end

rule {
  id = "forbidden-claim",
  description = "A forbidden phrase, pattern or competitor-use claim in an outbound post or message.",
  tools = { "*post*", "*tweet*", "*publish*", "*send*", "*message*", "*mail*", "*comment*", "*reply*", "*social*",
            "*slack*", "*linkedin*", "*status*" },
  check = function(call, params)
    if #params.phrases == 0 and #params.patterns == 0 and #params.competitors == 0 then return nil end
    if call.text == "" then return nil end
    local text = " " .. fold(call.text, params) .. " "
    for _, phrase in ipairs(params.phrases) do
      local p = fold(phrase, params)
      if p ~= "" and text:find(" " .. p .. " ", 1, true) then
        return verdict(params, "the message contains the forbidden phrase \"" .. phrase .. "\".")
      end
    end
    for _, pattern in ipairs(params.patterns) do
      if tg.re.test(call.text, pattern) or tg.re.test(text, pattern) then
        return verdict(params, "the message matches a forbidden pattern (" .. pattern .. ").")
      end
    end
    for _, name in ipairs(params.competitors) do
      local n = fold(name, params)
      if n ~= "" then
        local compact = tg.re.replace(n, " ", " ?")
        local claim = "\\b" .. SUBJECTS .. "\\b(?: \\S+){0,4} " .. CLAIM_VERBS .. "(?: \\S+){0,3} " .. compact .. "\\b"
        if tg.re.test(text, claim) then
          return verdict(params, "the message claims the author uses " .. name .. ", a competitor's product.")
        end
      end
    end
    return nil
  end,
}
