// ExtractEffects: dispatch on the tool name.
#include <doctest/doctest.h>

#include "effects_test_util.h"

namespace toolgate::effects_test {
namespace {

using nlohmann::json;

TEST_CASE("Bash and other shell tool names") {
  for (std::string_view tool : {"Bash", "bash", "shell", "run_shell_command", "exec_command", "local_shell"}) {
    CAPTURE(tool);
    Effects e = RunTool(std::string(tool), json{{"command", "rm -rf /tmp/x"}});
    CHECK(HasExec(e, "rm"));
    CHECK(Writes(e, "/tmp/x"));
  }
  Effects argv = RunTool("local_shell", json{{"command", json::array({"bash", "-lc", "curl evil.io"})}});
  CHECK(HasExecSource(argv, "curl", "bash -c"));
  CHECK(HasHost(argv, "evil.io"));
  Effects workdir = RunTool("exec_command", json{{"command", "cat f"}, {"workdir", "/srv"}});
  CHECK(Reads(workdir, "/srv/f"));
}

TEST_CASE("missing or mistyped input is unknown") {
  CHECK(HasUnknown(RunTool("Bash", json::object()), "missing input"));
  CHECK(HasUnknown(RunTool("Bash", json{{"command", 42}}), "missing input"));
  CHECK(HasUnknown(RunTool("Bash", json{{"command", json::array({"ls", 1})}}), "missing input"));
  CHECK(HasUnknown(RunTool("Write", json{{"content", "x"}}), "missing input"));
  CHECK(HasUnknown(RunTool("Edit", json{{"file_path", 7}}), "missing input"));
  CHECK(HasUnknown(RunTool("Read", json::object()), "missing input"));
  CHECK(HasUnknown(RunTool("WebFetch", json::object()), "missing input"));
  ToolCall call;
  call.tool_name = "Bash";
  call.tool_input = json::array();
  CHECK(HasUnknown(ExtractEffects(call, TestContext()), "missing input"));
}

TEST_CASE("of several input keys naming one thing, the first listed wins, whatever their order in the object") {
  // "workdir" is listed before "cwd" although it sorts after it.
  Effects both = RunTool("exec_command", json{{"command", "cat f"}, {"cwd", "/a"}, {"workdir", "/b"}});
  CHECK(Reads(both, "/b/f"));
  CHECK_FALSE(Reads(both, "/a/f"));
  // "file_path" is listed before "path", "notebook_path" last.
  Effects read = RunTool("Read", json{{"notebook_path", "/c"}, {"path", "/b"}, {"file_path", "/a"}});
  CHECK(Reads(read, "/a"));
  CHECK_FALSE(Reads(read, "/b"));
  CHECK_FALSE(Reads(read, "/c"));
  // A mistyped key is reported even when another key holds the string, and
  // a null one is ignored.
  Effects typed = RunTool("Read", json{{"file_path", "/a"}, {"path", 7}});
  CHECK(Reads(typed, "/a"));
  CHECK(HasUnknown(typed, "missing input"));
  Effects null = RunTool("Read", json{{"file_path", nullptr}, {"path", "/b"}});
  CHECK(Reads(null, "/b"));
  CHECK_FALSE(HasUnknown(null, "missing input"));
}

TEST_CASE("every tool without its required input is unknown") {
  struct Case {
    std::string_view tool;
    json input;
  };
  const Case cases[] = {
      {"WebFetch", json{{"prompt", "x"}}},
      {"WebFetch", json{{"url", 42}, {"prompt", "x"}}},
      {"WebFetch", json{{"url", json::array({"https://a.io"})}}},
      {"WebFetch", json{{"url", nullptr}}},
      {"web_fetch", json{{"prompt", "summarise https://docs.python.org"}}},
      {"WebSearch", json{{"query", json::object()}}},
      {"Write", json::object()},
      {"Write", json{{"file_path", json::array({"/work/a"})}, {"content", "x"}}},
      {"Edit", json{{"old_string", "a"}, {"new_string", "b"}}},
      {"MultiEdit", json{{"edits", json::array()}}},
      {"MultiEdit", json{{"file_path", "/work/a"}, {"edits", "s/a/b/"}}},
      {"NotebookEdit", json{{"new_source", "x"}}},
      {"str_replace_based_edit_tool", json{{"command", "create"}}},
      {"Read", json::object()},
      {"Read", json{{"file_path", 3}}},
      {"Read", json{{"paths", json::array()}}},
      {"Read", json{{"paths", json::array({"/work/a", 7})}}},
      {"Read", json{{"paths", "/work/a"}}},
      {"Glob", json{{"path", "/repo"}}},
      {"Glob", json{{"pattern", "*.ts"}, {"path", json::array({"/etc"})}}},
      {"Grep", json{{"pattern", "x"}, {"path", 1}}},
      {"Grep", json{{"pattern", "x"}, {"glob", json::array({"/etc/*"})}}},
      {"LS", json{{"path", json::object()}}},
      {"Bash", json{{"command", "ls"}, {"workdir", 5}}},
  };
  for (const Case& c : cases) {
    CAPTURE(c.tool);
    CAPTURE(c.input.dump());
    CHECK(HasUnknown(RunTool(std::string(c.tool), c.input), "missing input"));
  }
  // Present and well typed: no unknown, and null counts as absent.
  CHECK(RunTool("WebFetch", json{{"url", "https://github.com"}, {"prompt", "x"}}).unknowns.empty());
  CHECK(RunTool("Read", json{{"file_path", "/work/a"}, {"limit", nullptr}}).unknowns.empty());
  CHECK(RunTool("Grep", json{{"pattern", "x"}, {"path", nullptr}}).unknowns.empty());
  CHECK(RunTool("LS", json::object()).unknowns.empty());
  // The prompt's URLs are still recorded next to the unknown.
  Effects fetch = RunTool("WebFetch", json{{"prompt", "see https://evil.io/x"}});
  CHECK(HasUnknown(fetch, "missing input"));
  CHECK(HasHost(fetch, "evil.io"));
}

TEST_CASE("content of an unexpected type still counts as bytes written") {
  CHECK(RunTool("Write", json{{"file_path", "/work/a"}, {"content", json::array({"abc"})}}).bytes_written == 7);
  CHECK(RunTool("MultiEdit", json{{"file_path", "/work/a"},
                                  {"edits", json::array({json{{"new_string", 1234}}})}})
            .bytes_written == 4);
}

TEST_CASE("file tools") {
  Effects write = RunTool("Write", json{{"file_path", "/work/a.txt"}, {"content", "hello"}});
  CHECK(Writes(write, "/work/a.txt"));
  CHECK(write.bytes_written == 5);
  CHECK(write.paths.at(0).source == "Write file_path");
  Effects edit = RunTool("Edit", json{{"file_path", "src/x.cc"}, {"old_string", "a"}, {"new_string", "abc"}});
  CHECK(Reads(edit, "/work/src/x.cc"));
  CHECK(Writes(edit, "/work/src/x.cc"));
  CHECK(edit.bytes_written == 3);
  Effects multi = RunTool("MultiEdit", json{{"file_path", "/w/y"},
                                            {"edits", json::array({json{{"old_string", "a"}, {"new_string", "12"}},
                                                                   json{{"old_string", "b"}, {"new_string", "345"}}})}});
  CHECK(multi.bytes_written == 5);
  CHECK(Writes(multi, "/w/y"));
  Effects notebook = RunTool("NotebookEdit", json{{"notebook_path", "/w/n.ipynb"}, {"new_source", "x=1"}});
  CHECK(Writes(notebook, "/w/n.ipynb"));
  CHECK(Reads(RunTool("Read", json{{"file_path", "/etc/hosts"}}), "/etc/hosts"));
  CHECK(Reads(RunTool("LS", json{{"path", "/var/log"}}), "/var/log"));
  CHECK(Reads(RunTool("Grep", json{{"pattern", "x"}, {"path", "/srv"}}), "/srv"));
  CHECK(Reads(RunTool("Grep", json{{"pattern", "x"}}), "/work"));
  Effects glob = RunTool("Glob", json{{"pattern", "**/*.ts"}, {"path", "/repo"}});
  CHECK(Reads(glob, "/repo"));
  CHECK(Reads(glob, "/repo/**/*.ts"));
  CHECK(Reads(RunTool("Glob", json{{"pattern", "../../etc/*"}, {"path", "/repo/a"}}), "/etc/*"));
  CHECK(Reads(RunTool("Glob", json{{"pattern", "/etc/ssh/*"}}), "/etc/ssh/*"));
}

TEST_CASE("file tool paths are normalized") {
  CHECK(Writes(RunTool("Write", json{{"file_path", "/work/../etc/cron.d/x"}}), "/etc/cron.d/x"));
  CHECK(Writes(RunTool("Write", json{{"file_path", "~/.bashrc"}}), "/home/u/.bashrc"));
  CHECK(HasUnknown(RunTool("Write", json{{"file_path", "rel.txt"}}, ""), "relative path with unknown working directory"));
  CHECK(HasUnknown(RunTool("Write", json{{"file_path", "~root/.bashrc"}}), "unknown user home"));
}

TEST_CASE("other clients' file tools") {
  CHECK(Writes(RunTool("write_file", json{{"file_path", "/a"}, {"content", "x"}}), "/a"));
  CHECK(Reads(RunTool("read_file", json{{"absolute_path", "/b"}}), "/b"));
  CHECK(Writes(RunTool("replace", json{{"file_path", "/c"}, {"new_string", "x"}}), "/c"));
  CHECK(Reads(RunTool("view", json{{"path", "/d"}}), "/d"));
  CHECK(Writes(RunTool("create", json{{"path", "/e"}, {"file_text", "x"}}), "/e"));
  Effects editor_view = RunTool("str_replace_based_edit_tool", json{{"command", "view"}, {"path", "/f"}});
  CHECK(Reads(editor_view, "/f"));
  CHECK(!Writes(editor_view, "/f"));
  CHECK(Writes(RunTool("str_replace_based_edit_tool", json{{"command", "create"}, {"path", "/g"}}), "/g"));
}

TEST_CASE("WebFetch and WebSearch") {
  Effects fetch = RunTool("WebFetch", json{{"url", "https://Docs.Example.com/x"}, {"prompt", "summarize"}});
  CHECK(HasHost(fetch, "docs.example.com", 443));
  CHECK(fetch.urls == std::vector<std::string>{"https://Docs.Example.com/x"});
  CHECK(fetch.hosts.at(0).source == "WebFetch url");
  CHECK(HasHost(RunTool("WebFetch", json{{"url", "https://good.com@evil.com"}}), "evil.com"));
  CHECK(HasUnknown(RunTool("WebFetch", json{{"url", "https://b\xC3\xBC" "cher.de"}}), "non-ASCII host"));
  CHECK(HasUnknown(RunTool("WebFetch", json{{"url", "::::"}}), "unparseable URL"));
  Effects search = RunTool("WebSearch", json{{"query", "see https://x.io/a and more"}, {"allowed_domains", json::array({"a.com"})}});
  CHECK(search.hosts.empty());
  CHECK(search.urls == std::vector<std::string>{"https://x.io/a"});
  CHECK(RunTool("WebSearch", json{{"query", "weather"}}).urls.empty());
}

TEST_CASE("MCP tools: every string is scanned") {
  json input = {{"repo", "org/r"},
                {"body", "see https://evil.io/x and /etc/passwd, mail ceo@corp.com"},
                {"nested", json{{"list", json::array({"~/.ssh/id_rsa", 5, nullptr, json{{"u", "http://h2.io:81"}}})}}}};
  Effects e = RunTool("mcp__github__create_issue", input);
  CHECK(HasHost(e, "evil.io", 443));
  CHECK(HasHost(e, "h2.io", 81));
  CHECK(Reads(e, "/etc/passwd"));
  CHECK(Reads(e, "/home/u/.ssh/id_rsa"));
  CHECK(HasEmail(e, "ceo@corp.com"));
  for (const PathEffect& path : e.paths) CHECK(path.source == "mcp argument");
  Effects unknown_tool = RunTool("SomeNewTool", json{{"x", "https://n.io"}});
  CHECK(HasHost(unknown_tool, "n.io"));
}

TEST_CASE("MCP scanning is bounded") {
  json deep = "https://x.io";
  for (int i = 0; i < 200; ++i) deep = json::array({deep});
  CHECK(HasUnknown(RunTool("mcp__s__t", json{{"d", deep}}), "input too deep"));
  json many = json::array();
  for (int i = 0; i < 20000; ++i) many.push_back("a");
  CHECK(HasUnknown(RunTool("mcp__s__t", json{{"m", many}}), "input too large"));
}

TEST_CASE("hostile bytes in tool input") {
  static constexpr char kBad[] = "\xff\xfe/etc/\xc0\x80 https://\xe2\x28\xa1.io \0 x";
  std::string bad(kBad, sizeof(kBad) - 1);
  Effects e = RunTool("mcp__s__t", json{{"a", bad}});
  CHECK_NOTHROW((void)ToJson(e).dump());
  Effects shell = RunTool("Bash", json{{"command", bad}});
  CHECK_NOTHROW((void)ToJson(shell).dump());
}

TEST_CASE("unknown details are at most 120 bytes") {
  std::string long_command = "cat $" + std::string(500, 'X');
  Effects e = Sh(long_command);
  REQUIRE(!e.unknowns.empty());
  for (const UnknownEffect& u : e.unknowns) CHECK(u.detail.size() <= 120);
}

}  // namespace
}  // namespace toolgate::effects_test
