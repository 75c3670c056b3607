// The decision corpus: hundreds of tool calls, each with the verdict the
// example policies must give it, judged end to end by the real engine
// (parse -> effects -> grants -> decision). A failing case prints its id, what
// it proves, the call, and the engine's own explanation.
//
// Files (all under tests/corpus/ unless noted):
//   corpus.jsonl          {"id","policy","call","expect","why"[,"expect_grant"]}
//   symlink-cases.jsonl   same, with @TMP@ replaced by a temp directory this
//                         test populates with symlinks (see MakeSymlinkFixture)
//   no-default.json       a fixture policy without default_profile
//   rules/examples/*.json the example policies; sample-calls.jsonl the demo calls
//
// TOOLGATE_CORPUS_FILTER=substring limits the run to cases whose id contains it;
// TOOLGATE_CORPUS_VERBOSE=1 prints every decision, passing or not, for review.
#include <doctest/doctest.h>

#include <stdlib.h>  // mkdtemp

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include <nlohmann/json.hpp>

#include "toolgate/decision.h"
#include "toolgate/engine.h"
#include "toolgate/policy.h"
#include "toolgate/tool_call.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

fs::path SourceRoot() {
  const char* root = std::getenv("TOOLGATE_SOURCE_ROOT");
  return root != nullptr ? fs::path(root) : fs::path();
}

fs::path CorpusDir() { return SourceRoot() / "tests" / "corpus"; }
fs::path ExamplesDir() { return SourceRoot() / "rules" / "examples"; }

void ReplaceAll(std::string& text, const std::string& from, const std::string& to) {
  for (std::size_t pos = text.find(from); pos != std::string::npos; pos = text.find(from, pos + to.size())) {
    text.replace(pos, from.size(), to);
  }
}

struct CorpusCase {
  std::string where;  // "corpus.jsonl:17"
  std::string id;
  std::string policy;
  std::string expect;
  std::string why;
  std::string expect_grant;
  json call;
};

std::string StringField(const json& object, const char* key) {
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// Reads one JSONL case file. A malformed line is a failure naming file:line,
// never a silently skipped case. tmp, when given, replaces @TMP@.
std::vector<CorpusCase> LoadCases(const fs::path& path, const std::string& tmp = "") {
  std::vector<CorpusCase> cases;
  std::ifstream in(path, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), "cannot read ", path.string(), " (is TOOLGATE_SOURCE_ROOT set?)");
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    if (!tmp.empty()) ReplaceAll(line, "@TMP@", tmp);
    const std::string where = path.filename().string() + ":" + std::to_string(number);
    const json row = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!row.is_object()) {
      FAIL_CHECK(where, ": not a JSON object");
      continue;
    }
    CorpusCase c;
    c.where = where;
    c.id = StringField(row, "id");
    c.policy = StringField(row, "policy");
    c.expect = StringField(row, "expect");
    c.why = StringField(row, "why");
    c.expect_grant = StringField(row, "expect_grant");
    if (const auto it = row.find("call"); it != row.end()) c.call = *it;
    static const std::set<std::string> kKnown = {"id", "policy", "call", "expect", "why", "expect_grant"};
    for (auto it = row.begin(); it != row.end(); ++it) {
      if (kKnown.count(it.key()) == 0) FAIL_CHECK(where, ": unknown key '", it.key(), "'");
    }
    const bool valid = !c.id.empty() && !c.policy.empty() && !c.why.empty() && c.call.is_object() &&
                       toolgate::VerdictFromName(c.expect).has_value();
    if (!valid) {
      FAIL_CHECK(where, ": a case needs id, policy, call (object), expect (allow|ask|deny) and why");
      continue;
    }
    cases.push_back(std::move(c));
  }
  return cases;
}

// Policies are loaded once per name; an example name is looked up in
// rules/examples/ first, then tests/corpus/ (fixtures such as no-default.json).
class PolicyCache {
 public:
  std::shared_ptr<const toolgate::Policy> Get(const std::string& name) {
    if (const auto it = loaded_.find(name); it != loaded_.end()) return it->second;
    fs::path path = ExamplesDir() / name;
    if (!fs::exists(path)) path = CorpusDir() / name;
    toolgate::PolicyLoadResult result = toolgate::LoadPolicyFile(path.string());
    for (const auto& d : result.diagnostics) {
      if (d.severity == toolgate::PolicyDiagnostic::Severity::kError) {
        FAIL_CHECK("policy ", path.string(), ": ", toolgate::FormatDiagnostic(d));
      }
    }
    loaded_[name] = result.policy;
    return result.policy;
  }

 private:
  std::map<std::string, std::shared_ptr<const toolgate::Policy>> loaded_;
};

std::string ReasonGrantIds(const toolgate::Decision& d) {
  std::string ids;
  for (const toolgate::Finding* f : d.Reasons()) {
    if (!ids.empty()) ids += ", ";
    ids += f->grant != nullptr ? f->grant->id : std::string("(profile default)");
  }
  return ids;
}

bool Selected(const CorpusCase& c) {
  const char* filter = std::getenv("TOOLGATE_CORPUS_FILTER");
  return filter == nullptr || *filter == '\0' || c.id.find(filter) != std::string::npos;
}

// Judges one case and checks its verdict (and deciding grant, when named).
// Returns whether it passed, so the caller can print a one-line summary.
bool CheckCase(const CorpusCase& c, PolicyCache& policies) {
  const auto policy = policies.Get(c.policy);
  if (policy == nullptr) {
    FAIL_CHECK(c.id, ": policy ", c.policy, " did not load");
    return false;
  }
  const toolgate::Engine engine(policy);
  const toolgate::Decision d = engine.DecideText(c.call.dump());
  const std::string got = toolgate::VerdictName(d.verdict);
  const std::string context = "case " + c.id + " (" + c.where + ", " + c.policy + "): " + c.why +
                              "\n  call:     " + c.call.dump() +
                              "\n  expected: " + c.expect + (c.expect_grant.empty() ? "" : " by " + c.expect_grant) +
                              "\n  got:      " + got + " [" + ReasonGrantIds(d) + "]" +
                              "\n  engine:   " + d.MessageForHuman() +
                              "\n  effects:  " + toolgate::ToJson(d.effects).dump();
  INFO(context);
  if (const char* verbose = std::getenv("TOOLGATE_CORPUS_VERBOSE"); verbose != nullptr && *verbose != '\0') {
    MESSAGE(context);
  }
  bool passed = got == c.expect;
  CHECK_MESSAGE(passed, "verdict mismatch");
  if (!c.expect_grant.empty()) {
    bool found = false;
    for (const toolgate::Finding* f : d.Reasons()) found = found || (f->grant != nullptr && f->grant->id == c.expect_grant);
    CHECK_MESSAGE(found, "deciding grant ", c.expect_grant, " is not among the reasons");
    passed = passed && found;
  }
  return passed;
}

void RunCases(const std::vector<CorpusCase>& cases, const char* label) {
  PolicyCache policies;
  int run = 0;
  std::vector<std::string> failed;
  for (const CorpusCase& c : cases) {
    if (!Selected(c)) continue;
    ++run;
    if (!CheckCase(c, policies)) failed.push_back(c.id);
  }
  std::string summary = std::string(label) + ": " + std::to_string(run) + " cases, " +
                        std::to_string(failed.size()) + " failed";
  for (const auto& id : failed) summary += "\n  " + id;
  MESSAGE(summary);
}

// A scratch tree for symlink-cases.jsonl: TMP/ws is the agent's cwd;
// TMP/outside is outside every scope the ci profile grants.
class SymlinkFixture {
 public:
  SymlinkFixture() {
    std::string templ = (fs::temp_directory_path() / "toolgate-corpus-XXXXXX").string();
    REQUIRE(mkdtemp(templ.data()) != nullptr);
    base_ = fs::canonical(templ);
    const fs::path ws = base_ / "ws";
    const fs::path outside = base_ / "outside";
    fs::create_directories(ws / "src");
    fs::create_directories(outside);
    Write(ws / "src" / "main.cc", "int main() { return 0; }\n");
    Write(ws / "README.md", "readme\n");
    Write(ws / ".env", "TOKEN=corpus-fake\n");
    Write(outside / "secret.txt", "secret\n");
    Link(outside, ws / "out");
    Link("/etc", ws / "etc-link");
    Link("/", ws / "root-link");
    Link("/proc/self/root", ws / "proc-root");
    Link(ws / "src", ws / "inner");
    Link("src", ws / "inner-rel");
    Link(".env", ws / "config.txt");
    Link(outside / "new-file", ws / "dangling");
    Link("hop2", ws / "hop1");
    Link(outside, ws / "hop2");
    Link("loop-b", ws / "loop-a");
    Link("loop-a", ws / "loop-b");
  }
  ~SymlinkFixture() {
    std::error_code ec;
    fs::remove_all(base_, ec);  // removes the links themselves, never their targets
  }
  std::string base() const { return base_.string(); }

 private:
  static void Write(const fs::path& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }
  static void Link(const fs::path& target, const fs::path& link) { fs::create_symlink(target, link); }
  fs::path base_;
};

}  // namespace

TEST_CASE("every example policy and fixture loads without errors") {
  std::vector<fs::path> files;
  for (const fs::path& dir : {ExamplesDir(), CorpusDir()}) {
    REQUIRE_MESSAGE(fs::is_directory(dir), dir.string(), " missing (is TOOLGATE_SOURCE_ROOT set?)");
    for (const auto& entry : fs::directory_iterator(dir)) {
      if (entry.path().extension() == ".json") files.push_back(entry.path());
    }
  }
  CHECK(files.size() >= 3);
  for (const fs::path& file : files) {
    INFO("policy ", file.string());
    const toolgate::PolicyLoadResult result = toolgate::LoadPolicyFile(file.string());
    std::string errors;
    for (const auto& d : result.diagnostics) {
      if (d.severity == toolgate::PolicyDiagnostic::Severity::kError) errors += "\n  " + toolgate::FormatDiagnostic(d);
    }
    CHECK_MESSAGE(result.ok(), errors);
    CHECK_MESSAGE(errors.empty(), errors);
  }
}

TEST_CASE("the corpus is big, balanced and well formed") {
  const std::vector<CorpusCase> cases = LoadCases(CorpusDir() / "corpus.jsonl");
  const std::vector<CorpusCase> links = LoadCases(CorpusDir() / "symlink-cases.jsonl", "/nonexistent");
  std::map<std::string, int> by_expect;
  for (const auto& c : cases) ++by_expect[c.expect];
  CHECK(cases.size() >= 170);
  CHECK(by_expect["allow"] >= 40);
  CHECK(by_expect["deny"] >= 60);
  CHECK(by_expect["ask"] >= 5);
  std::set<std::string> ids;
  for (const auto* list : {&cases, &links}) {
    for (const auto& c : *list) CHECK_MESSAGE(ids.insert(c.id).second, "duplicate case id ", c.id, " at ", c.where);
  }
  CHECK(links.size() >= 10);
  MESSAGE("corpus: ", cases.size(), " cases (", by_expect["allow"], " allow, ", by_expect["ask"], " ask, ",
          by_expect["deny"], " deny); symlink cases: ", links.size());
}

TEST_CASE("corpus decisions") { RunCases(LoadCases(CorpusDir() / "corpus.jsonl"), "corpus.jsonl"); }

TEST_CASE("symlink corpus decisions") {
  const SymlinkFixture fixture;
  RunCases(LoadCases(CorpusDir() / "symlink-cases.jsonl", fixture.base()), "symlink-cases.jsonl");
}

TEST_CASE("every demo sample call parses and is decided without error") {
  const auto loaded = toolgate::LoadPolicyFile((ExamplesDir() / "default.json").string());
  REQUIRE(loaded.ok());
  const toolgate::Engine engine(loaded.policy);
  std::ifstream in(ExamplesDir() / "sample-calls.jsonl", std::ios::binary);
  REQUIRE(in.good());
  std::map<std::string, int> verdicts;
  std::string line;
  int number = 0;
  int calls = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    ++calls;
    INFO("sample-calls.jsonl:", number, ": ", line);
    const toolgate::Result<toolgate::ToolCall> call = toolgate::ParseToolCall(line);
    REQUIRE_MESSAGE(call.ok(), (call.ok() ? std::string() : call.error().message));
    CHECK(call->client == toolgate::Client::kCanonical);
    CHECK_FALSE(call->agent_id.empty());
    CHECK_FALSE(call->call_id.empty());
    const toolgate::Decision d = engine.DecideText(line);
    CHECK_MESSAGE(!d.error.has_value(), (d.error ? d.error->message : std::string()));
    CHECK(!d.profile.empty());
    ++verdicts[toolgate::VerdictName(d.verdict)];
  }
  CHECK(calls >= 12);
  CHECK(calls <= 16);
  // The demo shows all three outcomes.
  CHECK(verdicts["allow"] >= 1);
  CHECK(verdicts["ask"] >= 1);
  CHECK(verdicts["deny"] >= 1);
}
