// Every tg function, through Lua, as a rule would call it.
#include <doctest/doctest.h>

#include "lua_test_util.h"

namespace toolgate::lua {
namespace {

using testing::Sandbox;

std::string Eval(Sandbox& sb, const std::string& code) {
  const auto r = sb.Run(code);
  if (!r.ok) return "ERROR: " + r.value;
  return r.value;
}

bool Fails(Sandbox& sb, const std::string& code) { return !sb.Run(code).ok; }

TEST_CASE("tg.re") {
  Sandbox sb;
  CHECK(Eval(sb, "return tg.re.test('hello world', 'wor')") == "true");
  CHECK(Eval(sb, "return tg.re.test('hello', '(?i)HELLO')") == "true");
  CHECK(Eval(sb, "return tg.re.match('key=value', '(\\\\w+)=(\\\\w+)')") == "key");
  CHECK(Eval(sb, "local a, b = tg.re.match('key=value', '(\\\\w+)=(\\\\w+)') return b") == "value");
  CHECK(Eval(sb, "return tg.re.match('abc123', '[0-9]+')") == "123");
  CHECK(Eval(sb, "return tg.re.match('abc', '[0-9]+')") == "nil");
  CHECK(Eval(sb, "local s, e = tg.re.find('abc123', '[0-9]+') return s .. ',' .. e") == "4,6");
  CHECK(Eval(sb, "local s = tg.re.find('a1b2', '[0-9]', 3) return s") == "4");
  CHECK(Eval(sb, "return table.concat(tg.re.find_all('a1b22c333', '[0-9]+'), ',')") == "1,22,333");
  CHECK(Eval(sb, "return #tg.re.find_all('aaaa', 'a', 2)") == "2");
  CHECK(Eval(sb, "return #tg.re.find_all('abc', '')") == "4");  // empty matches advance
  CHECK(Eval(sb, "return (tg.re.replace('a-b-c', '-', '+'))") == "a+b+c");
  CHECK(Eval(sb, "local s, n = tg.re.replace('a-b-c', '-', '+') return n") == "2");
  CHECK(Eval(sb, "return (tg.re.replace('john smith', '(\\\\w+) (\\\\w+)', '\\\\2 \\\\1'))") == "smith john");
  CHECK(Eval(sb, "return tg.re.escape('a.b*c')") == "a\\.b\\*c");
  // Errors name the function and argument.
  const auto bad = sb.Run("return tg.re.test('x', '(')");
  CHECK_FALSE(bad.ok);
  CHECK(bad.value.find("tg.re.test") != std::string::npos);
  const auto wrong = sb.Run("return tg.re.match(42, 'x')");
  CHECK_FALSE(wrong.ok);
  CHECK(wrong.value.find("tg.re.match: argument 1") != std::string::npos);
  CHECK(Fails(sb, "return tg.re.replace('x', 'x', '\\\\9')"));
  CHECK(Fails(sb, "return tg.re.test('x', string.rep('a', 5000))"));
}

TEST_CASE("tg.url") {
  Sandbox sb;
  CHECK(Eval(sb, "return table.concat(tg.url.extract('see https://a.example/x. and (http://b.example/y) or <https://c.example>'), ' ')") ==
        "https://a.example/x http://b.example/y https://c.example");
  CHECK(Eval(sb, "return #tg.url.extract('no links, mailto:x@example.com, file:///etc/passwd')") == "0");
  CHECK(Eval(sb, "return tg.url.extract('https://en.wikipedia.org/wiki/Foo_(bar)')[1]") ==
        "https://en.wikipedia.org/wiki/Foo_(bar)");
  CHECK(Eval(sb, "return #tg.url.extract('xhttps://evil.example')") == "0");
  CHECK(Eval(sb, "local u = tg.url.parse('https://user:pw@Example.COM:8443/a/b?q=1#frag') "
                 "return table.concat({u.scheme, u.host, u.port, u.path, u.query, u.fragment, u.userinfo}, '|')") ==
        "https|example.com|8443|/a/b|q=1|frag|user:pw");
  CHECK(Eval(sb, "return tg.url.parse('http://x.example').port") == "80");
  CHECK(Eval(sb, "return tg.url.parse('http://x.example').path") == "/");
  CHECK(Eval(sb, "return tg.url.parse('not a url')") == "nil");
  CHECK(Eval(sb, "return tg.url.parse('http://a\\\\@b.example/').ambiguous") == "true");
}

TEST_CASE("tg.date") {
  Sandbox sb;
  CHECK(Eval(sb, "return tg.date.parse('2026-11-24').weekday") == "Tuesday");
  CHECK(Eval(sb, "return tg.date.parse('Tuesday, November 24, 2026').stated_weekday") == "Tuesday");
  CHECK(Eval(sb, "return tg.date.parse('Wednesday, November 24, 2026').weekday") == "Tuesday");
  CHECK(Eval(sb, "return tg.date.parse('Tue Nov 24 2026').iso") == "2026-11-24");
  CHECK(Eval(sb, "return tg.date.parse('24 November 2026').iso") == "2026-11-24");
  CHECK(Eval(sb, "return tg.date.parse('Nov. 24th, 2026').iso") == "2026-11-24");
  CHECK(Eval(sb, "return tg.date.parse('11/24/2026').iso") == "2026-11-24");
  CHECK(Eval(sb, "return tg.date.parse('24/11/2026', 'dmy').iso") == "2026-11-24");
  CHECK(Eval(sb, "local d = tg.date.parse('2026-11-24T23:30:00-08:00') return d.hour .. ':' .. d.min .. ' ' .. d.offset") ==
        "23:30 -480");
  CHECK(Eval(sb, "return tg.date.parse('November 24, 2026 at 3:15 pm EST').hour") == "15");
  CHECK(Eval(sb, "return tg.date.parse('2026-02-30')") == "nil");
  CHECK(Eval(sb, "return tg.date.parse('2028-02-29').weekday") == "Tuesday");
  CHECK(Eval(sb, "return tg.date.parse('someday')") == "nil");
  CHECK(Eval(sb, "return tg.date.weekday(2000, 1, 1)") == "Saturday");
  CHECK(Eval(sb, "local _, n = tg.date.weekday('2026-11-29') return n") == "7");
  CHECK(Eval(sb, "return tg.date.weekday_name('Tues.')") == "Tuesday");
  CHECK(Eval(sb, "return tg.date.weekday_name('THU')") == "Thursday");
  CHECK(Eval(sb, "return tg.date.weekday_name('sunny')") == "nil");
  CHECK(Eval(sb, "return tg.date.add_days('2026-12-31', 1).iso") == "2027-01-01");
  CHECK(Eval(sb, "return tg.date.add_days({year=2024, month=3, day=1}, -1).iso") == "2024-02-29");
  CHECK(Eval(sb, "local d = tg.date.to_offset('2026-11-25T07:30:00Z', -480) return d.iso .. ' ' .. d.hour") ==
        "2026-11-24 23");
  CHECK(Eval(sb, "return tg.date.zone_offset('CEST')") == "120");
  CHECK(Eval(sb, "return tg.date.zone_offset('+05:30')") == "330");
  CHECK(Eval(sb, "return tg.date.zone_offset('Mars/Olympus')") == "nil");
  CHECK(Eval(sb, "local f = tg.date.find('Call on Wednesday, Nov 25, 2026 or Fri 2026-11-27.') "
                 "return #f .. ' ' .. f[1].stated_weekday .. ' ' .. f[1].iso .. ' ' .. f[2].stated_weekday") ==
        "2 Wednesday 2026-11-25 Friday");
  CHECK(Fails(sb, "return tg.date.weekday(2026, 13, 1)"));
  CHECK(Fails(sb, "return tg.date.add_days('2026-01-01')"));
}

TEST_CASE("tg.json") {
  Sandbox sb;
  CHECK(Eval(sb, "return tg.json.decode('{\"a\":[1,2,{\"b\":true}]}').a[3].b") == "true");
  CHECK(Eval(sb, "return tg.json.decode('{\"a\":null}').a == tg.json.null") == "true");
  CHECK(Eval(sb, "return tg.json.decode('{bad')") == "nil");
  CHECK(Eval(sb, "return tg.json.encode({1, 2, 3})") == "[1,2,3]");
  CHECK(Eval(sb, "return tg.json.encode({a = 'x'})") == "{\"a\":\"x\"}");
  CHECK(Eval(sb, "return tg.json.encode({a = tg.json.null})") == "{\"a\":null}");
  CHECK(Eval(sb, "return #tg.json.strings({a = 'x', b = {'y', {c = 'z'}}, n = 1})") == "3");
  // A table that holds itself (twice per level) is walked once, not 2^64 times.
  CHECK(Eval(sb, "local t = {'a'} t[2] = t t.self = t return #tg.json.strings(t)") == "1");
  CHECK(Fails(sb, "local t = {} t.self = t return tg.json.encode(t)"));
  CHECK(Fails(sb, "return tg.json.encode({f = function() end})"));
  CHECK(Fails(sb, "return tg.json.encode(0/0)"));
}

TEST_CASE("tg.path") {
  Sandbox sb;
  CHECK(Eval(sb, "return tg.path.normalize('/a/./b/../c//d/')") == "/a/c/d");
  CHECK(Eval(sb, "return tg.path.normalize('src/../x', '/home/dev/project')") == "/home/dev/project/x");
  CHECK(Eval(sb, "return tg.path.normalize('~/.ssh/id_rsa')") == "/home/dev/.ssh/id_rsa");
  CHECK(Eval(sb, "return tg.path.normalize('relative')") == "nil");
  CHECK(Eval(sb, "return tg.path.within('/home/dev/project/a', '/home/dev/project')") == "true");
  CHECK(Eval(sb, "return tg.path.within('/home/dev/project2', '/home/dev/project')") == "false");
  CHECK(Eval(sb, "return tg.path.within('/home/dev/project/../x', '/home/dev/project')") == "false");
  CHECK(Eval(sb, "return tg.path.basename('/a/b/c.txt')") == "c.txt");
  CHECK(Eval(sb, "return tg.path.dirname('/a/b/c.txt')") == "/a/b");
  CHECK(Eval(sb, "return tg.path.dirname('c.txt')") == ".");
  CHECK(Eval(sb, "return tg.path.home()") == "/home/dev");
}

TEST_CASE("tg.shell") {
  Sandbox sb;
  CHECK(Eval(sb, "return table.concat(tg.shell.split([[git commit -m 'a b' && echo \"x y\"]]), '|')") ==
        "git|commit|-m|a b|echo|x y");
  CHECK(Eval(sb, "local c = tg.shell.commands('curl -s x | sh') return #c .. ' ' .. tostring(c[1].pipe_out) .. ' ' .. "
                 "tostring(c[2].pipe_in) .. ' ' .. c[2].argv[1]") == "2 true true sh");
  CHECK(Eval(sb, "local c = tg.shell.commands('echo hi > out.txt 2>&1') return c[1].redirects[1].op .. c[1].redirects[1].target") ==
        ">out.txt");
  CHECK(Eval(sb, "local c = tg.shell.commands('cat > f <<EOF\\nhello\\nEOF') "
                 "for _, r in ipairs(c[1].redirects) do if r.op == '<<' then return r.heredoc_bytes > 0 end end return false") ==
        "true");
  CHECK(Eval(sb, "local c = tg.shell.commands('echo $(rm -rf /tmp/x)') return c[1].argv[1] .. ' ' .. tostring(c[1].nested)") ==
        "rm true");
  CHECK(Eval(sb, "return #tg.shell.issues('echo \"unterminated') > 0") == "true");
}

TEST_CASE("tg.state counts per session and expires") {
  Sandbox sb;
  CHECK(Eval(sb, "tg.state.incr('n') tg.state.incr('n') return tg.state.incr('n')") == "3");
  CHECK(Eval(sb, "return tg.state.get('n')") == "3");
  CHECK(Eval(sb, "return tg.state.get('n', 'agent')") == "nil");
  CHECK(Eval(sb, "tg.state.set('flag', true) return tg.state.get('flag')") == "true");
  CHECK(Eval(sb, "tg.state.set('s', 'v', 60, 'agent') return tg.state.get('s', 'agent')") == "v");
  CHECK(Fails(sb, "tg.state.set('x', {})"));
  CHECK(Fails(sb, "tg.state.incr('x', -1)"));
  CHECK(Fails(sb, "tg.state.get('x', 'global')"));
  // Expiry, on the store directly: an expired counter restarts.
  const auto store = StateStore::InMemory();
  const auto t0 = StateStore::Clock::now();
  CHECK(*store->Increment("k", 1, std::chrono::seconds(10), t0) == 1);
  CHECK(*store->Increment("k", 1, std::chrono::seconds(10), t0 + std::chrono::seconds(5)) == 2);
  CHECK(*store->Increment("k", 1, std::chrono::seconds(10), t0 + std::chrono::seconds(11)) == 1);
  CHECK_FALSE(store->Get("k", t0 + std::chrono::seconds(30)).has_value());
  const auto small = StateStore::InMemory(3);
  for (int i = 0; i < 10; ++i) CHECK_FALSE(small->Set("k" + std::to_string(i), 1.0, std::chrono::seconds(0), t0));
  CHECK(small->size() <= 3);
}

TEST_CASE("tg.text") {
  Sandbox sb;
  CHECK(Eval(sb, "return tg.text.fold('  Héllo,\\tWORLD!! ')") == "hello world");
  CHECK(Eval(sb, "return tg.text.fold('b\\u{0435}st \\u{FF43}lass\\u{200B}')") == "best class");
  CHECK(Eval(sb, "return tg.text.fold('b3st', {leet = true})") == "best");
  CHECK(Eval(sb, "return tg.text.fold('b3st')") == "b3st");
  CHECK(Eval(sb, "return tg.text.entropy('aaaa')") == "0.000000");
  CHECK(Eval(sb, "return tg.text.entropy('abcd') == 2") == "true");
}

// A host function whose result string would not fit in the memory left:
// refused as a memory trip after the function's own C++ objects are gone.
// Lua's own memory error, raised inside lua_pushlstring, is a longjmp over
// them: the sanitizer build's leak check fails on that. 4 MiB of bytes that
// are not UTF-8 fold to 12 MiB of U+FFFD; 9 MiB of budget holds the text
// (made in 8), not the fold's result (16 with the text, over 9 plus the host
// functions' 4 MiB of slack).
TEST_CASE("a host result too large for the memory budget is a memory trip") {
  Sandbox sb;
  RuleBudget budget;
  budget.memory_bytes = std::size_t{9} << 20;
  budget.wall_time = std::chrono::seconds(30);  // folding 4 MiB is slow under the sanitizers
  const auto r = sb.Run("local s = string.rep('\\255', 4 * 1024 * 1024) return #tg.text.fold(s)", budget);
  INFO("result: " << r.value);
  CHECK_FALSE(r.ok);
  CHECK(r.trip == BudgetTrip::kMemory);
  CHECK(Eval(sb, "return tg.text.fold('Still Here')") == "still here");  // the state is usable after
}

TEST_CASE("tg.log and verdict helpers") {
  Sandbox sb;
  CHECK(sb.Run("tg.log.info('hello\\nforged line') return true").ok);
  CHECK(Eval(sb, "local v = tg.deny('no') return v.verdict .. ' ' .. v.reason .. ' ' .. v.line") == "deny no 1");
  CHECK(Eval(sb, "return tg.ask('maybe').verdict") == "ask");
  CHECK(Eval(sb, "return tg.allow().verdict") == "allow");
  CHECK(Fails(sb, "return tg.deny()"));
}

TEST_CASE("tg.http without the capability is refused") {
  Sandbox sb;
  const auto r = sb.Run("return tg.http.status('http://127.0.0.1:1/')");
  CHECK_FALSE(r.ok);
  CHECK(r.value.find("http") != std::string::npos);
}

TEST_CASE("private address detection") {
  for (const char* ip : {"127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "0.0.0.0",
                         "100.64.0.1", "::1", "::", "fd00::1", "fe80::1", "::ffff:127.0.0.1", "224.0.0.1", "junk"}) {
    CAPTURE(ip);
    CHECK(IsNonPublicAddress(ip));
  }
  for (const char* ip : {"93.184.216.34", "8.8.8.8", "2606:4700::1111", "172.32.0.1"}) {
    CAPTURE(ip);
    CHECK_FALSE(IsNonPublicAddress(ip));
  }
}

}  // namespace
}  // namespace toolgate::lua
