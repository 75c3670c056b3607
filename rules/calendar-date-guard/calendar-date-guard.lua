-- calendar-date-guard: models often compute a date and state its weekday
-- ("Tuesday, November 24") and get one of them wrong. When a calendar event
-- is created or updated, every weekday the agent states must be the real
-- weekday of the date it goes with (or of the event's start date).

pack {
  id = "calendar-date-guard",
  description = "Blocks calendar events whose stated weekday does not match the real weekday of the date.",
  params = {
    verdict = "deny",          -- "deny" | "ask"
    date_order = "mdy",        -- how to read 03/04/2026: "mdy" or "dmy"
  },
}

-- Keys whose value is the event's date (a string, or a table like Google's {dateTime=..., date=...}).
local DATE_KEY = "(?i)^(start|end|date|when|day|dtstart|dtend|start_?(time|date|datetime)|end_?(time|date|datetime)|begin|begins_?at|starts_?at|datetime|date_?time|event_?date|scheduled_?(for|at|time))$"
local NESTED_DATE_KEY = "(?i)^(date_?time|date|value|iso|start)$"
-- Keys whose value is free text the agent wrote about the event.
local TEXT_KEY = "(?i)^(title|summary|subject|name|description|body|notes?|details|text|message|agenda|content|location_?note)$"
-- Weekday words: full names in any case; abbreviations only capitalized ("Tue"), so
-- "sat down" or "the sun" are not read as weekdays.
local WEEKDAY_WORD = "\\b((?i:monday|tuesday|wednesday|thursday|friday|saturday|sunday)|(?:Mon|Tue|Tues|Wed|Thu|Thur|Thurs|Fri|Sat|Sun)\\.?)\\b"

local function parse_date(value, params)
  if type(value) ~= "string" or #value > 100 then return nil end
  return (tg.date.parse(value, params.date_order))
end

-- Walks the input (bounded) collecting date values and text values.
local function collect(node, depth, dates, texts, params)
  if depth > 6 or type(node) ~= "table" then return end
  for k, v in pairs(node) do
    if type(k) == "string" then
      if tg.re.test(k, DATE_KEY) then
        if type(v) == "string" then
          local d = parse_date(v, params)
          if d then dates[#dates + 1] = { date = d, field = k, text = v } end
        elseif type(v) == "table" then
          for k2, v2 in pairs(v) do
            if type(k2) == "string" and tg.re.test(k2, NESTED_DATE_KEY) then
              local d = parse_date(v2, params)
              if d then dates[#dates + 1] = { date = d, field = k .. "." .. k2, text = v2 } end
            end
          end
        end
      elseif type(v) == "string" and tg.re.test(k, TEXT_KEY) then
        texts[#texts + 1] = { field = k, text = v }
      end
    end
    if type(v) == "table" then collect(v, depth + 1, dates, texts, params) end
  end
end

local function verdict(params, message)
  message = message .. " Recompute the date and the weekday (count from a known date), then try again."
  if params.verdict == "ask" then return tg.ask(message) end
  return tg.deny(message)
end

local function describe(d)
  return d.iso .. " is a " .. d.weekday
end

rule {
  id = "weekday-mismatch",
  description = "A stated weekday that is not the weekday of the event's date.",
  tools = { "*calendar*", "*event*", "*meeting*", "*schedule*", "*appointment*" },
  check = function(call, params)
    local dates, texts = {}, {}
    collect(call.input, 0, dates, texts, params)
    -- 1. A date field that itself names a weekday: "Tuesday, November 24, 2026".
    for _, d in ipairs(dates) do
      if d.date.stated_weekday and d.date.stated_weekday ~= d.date.weekday then
        return verdict(params, "The " .. d.field .. " field says " .. d.date.stated_weekday .. ", but " ..
                       describe(d.date) .. ".")
      end
    end
    -- 2. Dates written in the text next to a weekday: "on Tuesday, Nov 24, 2026".
    for _, t in ipairs(texts) do
      for _, d in ipairs(tg.date.find(t.text, 20)) do
        if d.stated_weekday and d.stated_weekday ~= d.weekday then
          return verdict(params, "The " .. t.field .. " says \"" .. d.text .. "\", but " .. describe(d) .. ".")
        end
      end
    end
    -- 3. A bare weekday in the text ("Tuesday standup") against the event's start date.
    local start = dates[1] and dates[1].date
    for _, d in ipairs(dates) do
      if tg.re.test(d.field, "(?i)start|^date|when|dtstart|begin") then start = d.date break end
    end
    if not start then return nil end
    for _, t in ipairs(texts) do
      local named, matches_start = {}, false
      for _, word in ipairs(tg.re.find_all(t.text, WEEKDAY_WORD, 20)) do
        local name = tg.date.weekday_name(word)
        if name then
          named[#named + 1] = name
          matches_start = matches_start or name == start.weekday
        end
      end
      -- Several weekdays ("moved from Monday to Tuesday") are fine if one is the start's.
      if #named > 0 and not matches_start then
        return verdict(params, "The " .. t.field .. " mentions " .. named[1] .. ", but the event starts on " ..
                       describe(start) .. ".")
      end
    end
    return nil
  end,
}
