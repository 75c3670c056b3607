#include "pack_test_runner.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "fixture_http_server.h"
#include "toolgate/engine.h"
#include "toolgate/policy.h"

namespace toolgate::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr std::size_t kMaxCasesPerPack = 10000;

struct Case {
  std::string where;
  json spec;
};

std::string PolicyFor(const std::string& pack, const std::string& lua_path, const json& params,
                      const json& capabilities) {
  json use = json::object();
  if (!params.empty()) use["params"] = params;
  if (!capabilities.empty()) use["capabilities"] = capabilities;
  json policy{{"toolgate_policy", 1},
              {"description", "toolgate test: only the pack under test decides"},
              {"settings", {{"home", "/home/dev"}, {"resolve_symlinks", false}}},
              {"default_profile", "test"},
              {"rule_packs", {{pack, {{"path", lua_path}}}}},
              {"profiles",
               {{"test", {{"default", "allow"}, {"unknown_effects", "allow"}, {"rules", {{pack, use}}}}}}}};
  return policy.dump(2);
}

}  // namespace

int PackTestReport::passed() const {
  return static_cast<int>(std::count_if(results.begin(), results.end(), [](const auto& r) { return r.passed; }));
}
int PackTestReport::failed() const { return static_cast<int>(results.size()) - passed(); }

PackTestReport RunPackTests(const std::string& dir, const std::string& only_pack) {
  PackTestReport report;
  std::error_code ec;
  std::vector<fs::path> packs;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (!entry.is_directory()) continue;
    const std::string name = entry.path().filename().string();
    if (!only_pack.empty() && name != only_pack) continue;
    if (fs::exists(entry.path() / (name + ".lua")) && fs::exists(entry.path() / "tests.jsonl")) {
      packs.push_back(entry.path());
    }
  }
  if (ec) report.errors.push_back("cannot list " + dir + ": " + ec.message());
  std::sort(packs.begin(), packs.end());

  std::unique_ptr<FixtureHttpServer> server;
  for (const fs::path& pack_dir : packs) {
    const std::string pack = pack_dir.filename().string();
    const std::string lua_path = fs::absolute(pack_dir / (pack + ".lua")).lexically_normal().string();
    const std::string tests_path = (pack_dir / "tests.jsonl").string();
    ++report.packs;
    std::ifstream in(tests_path);
    std::string line;
    int number = 0;
    // Group cases by (params, capabilities): one policy each.
    std::map<std::string, std::vector<Case>> groups;
    std::size_t count = 0;
    while (std::getline(in, line) && count < kMaxCasesPerPack) {
      ++number;
      if (line.find_first_not_of(" \t\r") == std::string::npos || line[line.find_first_not_of(" \t")] == '#') continue;
      if (line.find("@HTTP@") != std::string::npos) {
        if (!server) {
          server = std::make_unique<FixtureHttpServer>();
          std::string error;
          if (!server->Start(&error)) {
            report.errors.push_back(tests_path + ": cannot start the fixture HTTP server: " + error);
            server.reset();
            continue;
          }
        }
        for (std::size_t p = line.find("@HTTP@"); p != std::string::npos; p = line.find("@HTTP@", p)) {
          line.replace(p, 6, server->base_url());
        }
      }
      const std::string where = tests_path + ":" + std::to_string(number);
      json spec = json::parse(line, nullptr, false);
      if (spec.is_discarded() || !spec.is_object() || !spec.contains("call") || !spec.contains("expect")) {
        report.results.push_back({pack, where, "", false, "not a test case: needs \"call\" and \"expect\""});
        continue;
      }
      const json params = spec.value("params", json::object());
      const json caps = spec.value("capabilities", json::object());
      groups[params.dump() + "\n" + caps.dump()].push_back({where, std::move(spec)});
      ++count;
    }
    for (auto& [key, cases] : groups) {
      const json& first = cases.front().spec;
      const std::string text =
          PolicyFor(pack, lua_path, first.value("params", json::object()), first.value("capabilities", json::object()));
      PolicyLoadResult loaded = LoadPolicyText(text, tests_path + " (generated policy)");
      if (!loaded.ok()) {
        std::string why;
        for (const PolicyDiagnostic& d : loaded.diagnostics) why += "\n    " + FormatDiagnostic(d);
        for (const Case& c : cases) report.results.push_back({pack, c.where, c.spec.value("name", ""), false,
                                                              "the pack did not load:" + why});
        continue;
      }
      const Engine engine(loaded.policy);
      int index = 0;
      for (const Case& c : cases) {
        ++index;
        PackTestResult r{pack, c.where, c.spec.value("name", ""), false, ""};
        json call = c.spec["call"];
        if (!call.contains("agent_id")) call["agent_id"] = "test";
        if (!call.contains("session_id")) call["session_id"] = "test-" + c.where.substr(c.where.rfind(':') + 1);
        if (!call.contains("cwd")) call["cwd"] = "/home/dev/project";
        Result<ToolCall> parsed = ToolCallFromCanonical(call);
        if (!parsed) {
          r.detail = std::string("bad call: ") + parsed.error().message;
          report.results.push_back(std::move(r));
          continue;
        }
        const Decision d = engine.Decide(*parsed);
        const std::string expect = c.spec["expect"].is_string() ? c.spec["expect"].get<std::string>() : "";
        const std::string want_rule = c.spec.value("rule", "");
        std::string got_rule;
        for (const Finding* f : d.Reasons()) {
          if (f->rule != nullptr) got_rule = f->rule->id;
        }
        r.passed = expect == VerdictName(d.verdict) && (want_rule.empty() || want_rule == got_rule);
        // "context": text the rules' added context (tg.context) must contain; "" = no context at all.
        const std::string got_context = ContextText(d.context);
        bool context_ok = true;
        std::string want_context;
        if (const auto wc = c.spec.find("context"); wc != c.spec.end()) {
          want_context = wc->is_string() ? wc->get<std::string>() : std::string("\x01(not a string)");
          context_ok = want_context.empty() ? got_context.empty() : got_context.find(want_context) != std::string::npos;
        }
        r.passed = r.passed && context_ok;
        if (!r.passed) {
          r.detail = "expected " + expect + (want_rule.empty() ? "" : " by " + want_rule) + ", got " +
                     VerdictName(d.verdict) + (got_rule.empty() ? "" : " by " + got_rule) + "\n    " +
                     d.MessageForHuman();
          if (!context_ok) {
            r.detail += "\n    expected context " + (want_context.empty() ? std::string("none") : "containing \"" + want_context + "\"") +
                        ", got \"" + got_context + "\"";
          }
        }
        report.results.push_back(std::move(r));
      }
    }
  }
  if (server) server->Stop();
  return report;
}

}  // namespace toolgate::cli
