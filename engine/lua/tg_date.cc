// tg.date: calendar arithmetic for rules, with no dependence on the host's
// clock, locale or TZ variable (evaluation must be deterministic).
//
//   tg.date.parse(text [, order]) -> date | nil, why
//       ISO-8601 ("2026-11-24", "2026-11-24T15:00:00Z", "...+02:00", "20261124"),
//       written dates ("Tuesday, November 24, 2026", "Tue Nov 24 2026",
//       "24 November 2026", "Nov. 24th, 2026"), numeric "11/24/2026"
//       (order "mdy", the default, or "dmy").
//   date = { year, month, day, hour, min, sec, offset (minutes east of UTC, or nil),
//            has_time, weekday ("Tuesday"), wday (ISO: 1 = Monday .. 7 = Sunday),
//            stated_weekday ("Tuesday" when the text named one, else nil) }
//   tg.date.weekday(date | text | y, m, d) -> "Tuesday", wday
//   tg.date.weekday_name(s) -> "Tuesday" for "tue", "Tues.", "TUESDAY"; nil otherwise
//   tg.date.add_days(date | text, n) -> date
//   tg.date.to_offset(date | text, minutes) -> the same instant at another UTC offset
//   tg.date.zone_offset(name) -> minutes for "UTC", "Z", "+05:30", "EST", "CEST", ...; nil if unknown
//   tg.date.find(text [, max]) -> { date with .text = the matched words, ... }: every
//       written or ISO date in free text, with the weekday stated next to it
#include <array>
#include <cctype>
#include <cstdio>
#include <optional>
#include <string>

#include <re2/re2.h>

#include "lua/sandbox.h"
#include "lua/tg_api.h"

namespace toolgate::lua {
namespace {

constexpr std::array<const char*, 7> kWeekdays = {"Monday", "Tuesday", "Wednesday", "Thursday",
                                                  "Friday", "Saturday", "Sunday"};
constexpr std::array<const char*, 12> kMonths = {"january", "february", "march",     "april",   "may",      "june",
                                                 "july",    "august",   "september", "october", "november", "december"};

struct Date {
  int year = 0, month = 0, day = 0, hour = 0, min = 0, sec = 0;
  std::optional<int> offset;  // minutes east of UTC
  bool has_time = false;
  int stated_weekday = 0;     // 1..7, 0 = none
};

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool IsLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }
int DaysInMonth(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

// Days since 1970-01-01 (Howard Hinnant's days_from_civil).
long long DaysFromCivil(long long y, unsigned m, unsigned d) {
  y -= m <= 2;
  const long long era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<long long>(doe) - 719468;
}

void CivilFromDays(long long z, int* y, int* m, int* d) {
  z += 719468;
  const long long era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const long long yy = static_cast<long long>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  *m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  *y = static_cast<int>(yy + (*m <= 2));
}

int IsoWeekday(const Date& d) {
  const long long days = DaysFromCivil(d.year, static_cast<unsigned>(d.month), static_cast<unsigned>(d.day));
  // 1970-01-01 was a Thursday (4).
  return static_cast<int>(((days % 7) + 7 + 3) % 7) + 1;
}

bool Valid(const Date& d) {
  return d.year >= 1 && d.year <= 9999 && d.month >= 1 && d.month <= 12 && d.day >= 1 &&
         d.day <= DaysInMonth(d.year, d.month) && d.hour >= 0 && d.hour <= 23 && d.min >= 0 && d.min <= 59 &&
         d.sec >= 0 && d.sec <= 60;
}

int WeekdayFromName(std::string_view word) {
  std::string w = Lower(word);
  while (!w.empty() && (w.back() == '.' || w.back() == ',')) w.pop_back();
  if (w.size() < 2) return 0;
  static constexpr std::array<const char*, 7> kExtra = {"mon", "tues", "wed", "thurs", "fri", "sat", "sun"};
  for (int i = 0; i < 7; ++i) {
    const std::string full = Lower(kWeekdays[static_cast<std::size_t>(i)]);
    if (w == full || w == full.substr(0, 3) || w == kExtra[static_cast<std::size_t>(i)] ||
        (i == 1 && w == "tue") || (i == 3 && (w == "thu" || w == "thur"))) {
      return i + 1;
    }
  }
  return 0;
}

int MonthFromName(std::string_view word) {
  std::string w = Lower(word);
  while (!w.empty() && w.back() == '.') w.pop_back();
  if (w.size() < 3) return 0;
  for (int i = 0; i < 12; ++i) {
    const std::string full = kMonths[static_cast<std::size_t>(i)];
    if (w == full || w == full.substr(0, 3) || (i == 8 && w == "sept")) return i + 1;
  }
  return 0;
}

std::optional<int> ParseOffset(std::string_view s) {
  if (s == "Z" || s == "z") return 0;
  if (s.size() < 3 || (s[0] != '+' && s[0] != '-')) return std::nullopt;
  const int sign = s[0] == '-' ? -1 : 1;
  std::string digits;
  for (std::size_t i = 1; i < s.size(); ++i) {
    if (std::isdigit(static_cast<unsigned char>(s[i]))) digits += s[i];
    else if (s[i] != ':') return std::nullopt;
  }
  if (digits.size() != 2 && digits.size() != 4) return std::nullopt;
  const int h = std::stoi(digits.substr(0, 2));
  const int m = digits.size() == 4 ? std::stoi(digits.substr(2)) : 0;
  if (h > 18 || m > 59) return std::nullopt;
  return sign * (h * 60 + m);
}

std::optional<int> ZoneOffset(std::string_view name) {
  if (auto o = ParseOffset(name)) return o;
  static const std::array<std::pair<const char*, int>, 18> kZones = {{
      {"utc", 0}, {"gmt", 0}, {"ut", 0}, {"est", -300}, {"edt", -240}, {"cst", -360}, {"cdt", -300},
      {"mst", -420}, {"mdt", -360}, {"pst", -480}, {"pdt", -420}, {"cet", 60}, {"cest", 120},
      {"eet", 120}, {"eest", 180}, {"bst", 60}, {"ist", 330}, {"jst", 540},
  }};
  const std::string w = Lower(name);
  for (const auto& [zone, minutes] : kZones) {
    if (w == zone) return minutes;
  }
  if (w.rfind("utc", 0) == 0 || w.rfind("gmt", 0) == 0) return ParseOffset(name.substr(3));
  return std::nullopt;
}

const RE2& IsoRe() {
  static const RE2 re(
      R"(^\s*(\d{4})-?(\d{2})-?(\d{2})(?:[T ](\d{2}):?(\d{2})(?::?(\d{2})(?:[.,]\d+)?)?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?\s*$)");
  return re;
}

// Weekday, then "Month day[, year]" or "day Month [year]", then an optional time.
const RE2& WrittenRe() {
  static const RE2 re(
      R"((?i)^\s*(?:([a-z]+)\.?,?\s+)?(?:([a-z]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})|(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?([a-z]+)\.?,?\s+(\d{4})))"
      R"((?:,?\s+(?:at\s+)?(\d{1,2})(?::(\d{2}))?(?::(\d{2}))?\s*([ap]\.?m\.?)?)?\s*([A-Za-z]{1,5}|[+-]\d{2}:?\d{2})?\s*$)");
  return re;
}

const RE2& NumericRe() {
  static const RE2 re(R"(^\s*(?:([A-Za-z]+)\.?,?\s+)?(\d{1,2})[/.](\d{1,2})[/.](\d{4})\s*$)");
  return re;
}

int ToInt(std::string_view s) {
  int v = 0;
  for (const char c : s) {
    if (v > 100000) break;
    v = v * 10 + (c - '0');
  }
  return v;
}

std::optional<Date> ParseDate(std::string_view text, std::string_view order, std::string* why) {
  if (text.size() > 200) {
    *why = "text longer than 200 bytes";
    return std::nullopt;
  }
  Date d;
  re2::StringPiece y, mo, da, h, mi, s, off;
  if (RE2::FullMatch(text, IsoRe(), &y, &mo, &da, &h, &mi, &s, &off)) {
    d.year = ToInt(y), d.month = ToInt(mo), d.day = ToInt(da);
    if (!h.empty()) {
      d.has_time = true;
      d.hour = ToInt(h), d.min = ToInt(mi), d.sec = s.empty() ? 0 : ToInt(s);
    }
    if (!off.empty()) d.offset = ParseOffset(off);
  } else {
    re2::StringPiece wd, m1, d1, y1, d2, m2, y2, ampm, zone;
    if (RE2::FullMatch(text, WrittenRe(), &wd, &m1, &d1, &y1, &d2, &m2, &y2, &h, &mi, &s, &ampm, &zone)) {
      d.month = MonthFromName(!m1.empty() ? m1 : m2);
      d.day = ToInt(!d1.empty() ? d1 : d2);
      d.year = ToInt(!y1.empty() ? y1 : y2);
      if (!wd.empty()) {
        d.stated_weekday = WeekdayFromName(wd);
        if (d.stated_weekday == 0) {
          *why = "unknown weekday '" + std::string(wd) + "'";
          return std::nullopt;
        }
      }
      if (d.month == 0) {
        *why = "unknown month name";
        return std::nullopt;
      }
      if (!h.empty()) {
        d.has_time = true;
        d.hour = ToInt(h), d.min = mi.empty() ? 0 : ToInt(mi), d.sec = s.empty() ? 0 : ToInt(s);
        if (!ampm.empty()) {
          if (d.hour < 1 || d.hour > 12) {
            *why = "hour out of range for am/pm";
            return std::nullopt;
          }
          const bool pm = std::tolower(static_cast<unsigned char>(ampm[0])) == 'p';
          d.hour = d.hour % 12 + (pm ? 12 : 0);
        }
      }
      if (!zone.empty()) {
        d.offset = ZoneOffset(zone);
        if (!d.offset) {
          *why = "unknown time zone '" + std::string(zone) + "'";
          return std::nullopt;
        }
      }
    } else if (RE2::FullMatch(text, NumericRe(), &wd, &m1, &d1, &y1)) {
      const bool dmy = order == "dmy";
      d.month = ToInt(dmy ? d1 : m1);
      d.day = ToInt(dmy ? m1 : d1);
      d.year = ToInt(y1);
      if (!wd.empty()) d.stated_weekday = WeekdayFromName(wd);
    } else {
      *why = "not a date toolgate can read";
      return std::nullopt;
    }
  }
  if (!Valid(d)) {
    *why = "no such calendar date";
    return std::nullopt;
  }
  return d;
}

void PushDate(lua_State* L, const Date& d) {
  lua_createtable(L, 0, 12);
  SetField(L, "year", static_cast<lua_Integer>(d.year));
  SetField(L, "month", static_cast<lua_Integer>(d.month));
  SetField(L, "day", static_cast<lua_Integer>(d.day));
  SetField(L, "hour", static_cast<lua_Integer>(d.hour));
  SetField(L, "min", static_cast<lua_Integer>(d.min));
  SetField(L, "sec", static_cast<lua_Integer>(d.sec));
  SetFieldBool(L, "has_time", d.has_time);
  if (d.offset) SetField(L, "offset", static_cast<lua_Integer>(*d.offset));
  const int wd = IsoWeekday(d);
  SetField(L, "wday", static_cast<lua_Integer>(wd));
  SetField(L, "weekday", kWeekdays[static_cast<std::size_t>(wd - 1)]);
  if (d.stated_weekday != 0) SetField(L, "stated_weekday", kWeekdays[static_cast<std::size_t>(d.stated_weekday - 1)]);
  char iso[40];
  std::snprintf(iso, sizeof iso, "%04d-%02d-%02d", d.year, d.month, d.day);
  SetField(L, "iso", iso);
}

// A date from a table (year/month/day[, hour, min, sec, offset]) or a string.
Date DateArg(lua_State* L, int arg, const char* fn) {
  if (lua_type(L, arg) == LUA_TSTRING) {
    std::string why;
    const std::optional<Date> d = ParseDate(ArgString(L, arg, fn, "date"), "mdy", &why);
    if (!d) throw HostError(std::string(fn) + ": " + why);
    return *d;
  }
  if (!IsTableArg(L, arg)) ThrowArg(L, fn, arg, "date", "a date table or a string");
  Date d;
  const auto field = [&](const char* key, int fallback) {
    const auto v = RawFieldInteger(L, arg, key);
    return v ? static_cast<int>(std::clamp<lua_Integer>(*v, -100000, 100000)) : fallback;
  };
  d.year = field("year", 0), d.month = field("month", 0), d.day = field("day", 0);
  d.hour = field("hour", 0), d.min = field("min", 0), d.sec = field("sec", 0);
  d.has_time = RawFieldBoolean(L, arg, "has_time", false);
  if (const auto o = RawFieldInteger(L, arg, "offset")) d.offset = static_cast<int>(*o);
  if (!Valid(d)) throw HostError(std::string(fn) + ": argument " + std::to_string(arg) + " is not a valid date");
  return d;
}

int ParseFn(lua_State* L) {
  const std::string_view text = ArgString(L, 1, "tg.date.parse", "text");
  const std::string_view order = OptString(L, 2, "tg.date.parse", "order", "mdy");
  if (order != "mdy" && order != "dmy") throw HostError("tg.date.parse: order must be \"mdy\" or \"dmy\"");
  std::string why;
  const std::optional<Date> d = ParseDate(text, order, &why);
  if (!d) {
    lua_pushnil(L);
    Push(L, why);
    return 2;
  }
  PushDate(L, *d);
  return 1;
}

int Weekday(lua_State* L) {
  Date d;
  if (lua_type(L, 1) == LUA_TNUMBER) {
    d.year = static_cast<int>(ArgInteger(L, 1, "tg.date.weekday", "year"));
    d.month = static_cast<int>(ArgInteger(L, 2, "tg.date.weekday", "month"));
    d.day = static_cast<int>(ArgInteger(L, 3, "tg.date.weekday", "day"));
    if (!Valid(d)) throw HostError("tg.date.weekday: no such calendar date");
  } else {
    d = DateArg(L, 1, "tg.date.weekday");
  }
  const int wd = IsoWeekday(d);
  lua_pushstring(L, kWeekdays[static_cast<std::size_t>(wd - 1)]);
  lua_pushinteger(L, wd);
  return 2;
}

int WeekdayName(lua_State* L) {
  const int wd = WeekdayFromName(ArgString(L, 1, "tg.date.weekday_name", "word"));
  if (wd == 0) {
    lua_pushnil(L);
  } else {
    lua_pushstring(L, kWeekdays[static_cast<std::size_t>(wd - 1)]);
  }
  return 1;
}

Date ShiftMinutes(const Date& d, long long minutes) {
  long long days = DaysFromCivil(d.year, static_cast<unsigned>(d.month), static_cast<unsigned>(d.day));
  long long total = static_cast<long long>(d.hour) * 60 + d.min + minutes;
  days += total >= 0 ? total / 1440 : -((-total + 1439) / 1440);
  total -= (total >= 0 ? total / 1440 : -((-total + 1439) / 1440)) * 1440;
  Date out = d;
  CivilFromDays(days, &out.year, &out.month, &out.day);
  out.hour = static_cast<int>(total / 60);
  out.min = static_cast<int>(total % 60);
  out.stated_weekday = 0;
  return out;
}

int AddDays(lua_State* L) {
  const Date d = DateArg(L, 1, "tg.date.add_days");
  const lua_Integer n = ArgInteger(L, 2, "tg.date.add_days", "days");
  if (n < -3650000 || n > 3650000) throw HostError("tg.date.add_days: argument 2 (days) out of range");
  const Date out = ShiftMinutes(d, static_cast<long long>(n) * 1440);
  if (!Valid(out)) throw HostError("tg.date.add_days: result outside years 1..9999");
  PushDate(L, out);
  return 1;
}

int ToOffset(lua_State* L) {
  const Date d = DateArg(L, 1, "tg.date.to_offset");
  const lua_Integer target = ArgInteger(L, 2, "tg.date.to_offset", "minutes");
  if (target < -18 * 60 || target > 18 * 60) throw HostError("tg.date.to_offset: offset out of range");
  if (!d.offset) throw HostError("tg.date.to_offset: the date has no UTC offset");
  Date out = ShiftMinutes(d, static_cast<long long>(target) - *d.offset);
  out.offset = static_cast<int>(target);
  out.has_time = true;
  if (!Valid(out)) throw HostError("tg.date.to_offset: result outside years 1..9999");
  PushDate(L, out);
  return 1;
}

int ZoneOffsetFn(lua_State* L) {
  const auto o = ZoneOffset(ArgString(L, 1, "tg.date.zone_offset", "zone"));
  if (o) lua_pushinteger(L, *o);
  else lua_pushnil(L);
  return 1;
}

// Candidates in free text: optional weekday, then a written or ISO date.
const RE2& FindRe() {
  static const RE2 re(
      R"((?i)\b((?:(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)(?:day|nesday|rsday|urday)?\.?,?\s+(?:the\s+)?)?)"
      R"((\d{4}-\d{2}-\d{2}|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+\d{1,2}(?:st|nd|rd|th)?,?\s+\d{4}|\d{1,2}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?,?\s+\d{4}))\b)");
  return re;
}

int Find(lua_State* L) {
  const std::string_view text = ArgString(L, 1, "tg.date.find", "text");
  const lua_Integer max = OptInteger(L, 2, "tg.date.find", "max", 100);
  lua_newtable(L);
  re2::StringPiece input(text.data(), text.size());
  re2::StringPiece weekday_piece, date_piece;
  lua_Integer count = 0;
  while (count < max && RE2::FindAndConsume(&input, FindRe(), &weekday_piece, &date_piece)) {
    const std::string_view weekday(weekday_piece.data(), weekday_piece.size());
    const std::string_view date(date_piece.data(), date_piece.size());
    std::string candidate(weekday);
    candidate += date;
    std::string why;
    // "Tuesday the 24 November 2026": drop "the" for the strict parser.
    if (const auto the = Lower(candidate).find(" the "); the != std::string::npos) candidate.erase(the, 4);
    std::optional<Date> d = ParseDate(candidate, "mdy", &why);
    if (!d && !weekday.empty()) {
      d = ParseDate(date, "mdy", &why);
      if (d) d->stated_weekday = WeekdayFromName(weekday.substr(0, weekday.find_first_of(" ,.\t")));
    }
    if (!d) continue;
    if (d->stated_weekday == 0 && !weekday.empty()) {
      d->stated_weekday = WeekdayFromName(weekday.substr(0, weekday.find_first_of(" ,.\t")));
    }
    PushDate(L, *d);
    std::string matched(weekday);
    matched += date;
    SetField(L, "text", matched);
    lua_rawseti(L, -2, ++count);
  }
  return 1;
}

}  // namespace

void OpenTgDate(lua_State* L) {
  lua_createtable(L, 0, 7);
  SetFunction(L, "parse", HostFunction<ParseFn>);
  SetFunction(L, "weekday", HostFunction<Weekday>);
  SetFunction(L, "weekday_name", HostFunction<WeekdayName>);
  SetFunction(L, "add_days", HostFunction<AddDays>);
  SetFunction(L, "to_offset", HostFunction<ToOffset>);
  SetFunction(L, "zone_offset", HostFunction<ZoneOffsetFn>);
  SetFunction(L, "find", HostFunction<Find>);
}

}  // namespace toolgate::lua
