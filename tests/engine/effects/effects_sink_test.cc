#include "effects/effects_sink.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace toolgate;
using toolgate::effects::EffectsSink;

namespace {

std::vector<std::string> Names(int first, int count, std::string_view prefix = "/p/") {
  std::vector<std::string> out;
  for (int i = first; i < first + count; ++i) out.push_back(std::string(prefix) + std::to_string(i));
  return out;
}

// What the sink holds, field by field.
std::vector<std::string> Dump(const Effects& e) {
  std::vector<std::string> out;
  for (const PathEffect& p : e.paths) {
    out.push_back(std::string(PathAccessName(p.access)) + " " + p.path + " " + p.raw + " " + p.source);
  }
  for (const UnknownEffect& u : e.unknowns) out.push_back("? " + u.what + " " + u.detail);
  return out;
}

}  // namespace

TEST_CASE("AddPaths adds what AddPath one by one adds, below, across and above the hashing threshold") {
  // Batches of distinct paths (what ResolvePath gives) after lists of every
  // length around kLinearDedupe, overlapping them or not, read or written.
  for (int before = 0; before < 40; before += 3) {
    for (const int overlap : {0, 1, 5}) {
      for (const PathAccess access : {PathAccess::kRead, PathAccess::kWrite}) {
        CAPTURE(before);
        CAPTURE(overlap);
        Effects one, batched;
        EffectsSink a(one), b(batched);
        for (const std::string& p : Names(0, before)) {
          a.AddPath(p, "r0", PathAccess::kRead, "s0");
          b.AddPath(p, "r0", PathAccess::kRead, "s0");
        }
        std::vector<std::string> batch = Names(before - overlap, 30);
        for (const std::string& p : batch) a.AddPath(p, "raw", access, "src");
        b.AddPaths(batch, "raw", access, "src");
        // Later single adds see the same list, hashed or not.
        for (const std::string& p : Names(before + 20, 20)) {
          a.AddPath(p, "r2", access, "s2");
          b.AddPath(p, "r2", access, "s2");
        }
        CHECK(Dump(one) == Dump(batched));
      }
    }
  }
}

TEST_CASE("AddPaths stops at the cap as AddPath does, and reports it once") {
  Effects one, batched;
  EffectsSink a(one), b(batched);
  std::vector<std::string> first = Names(0, static_cast<int>(effects::kMaxEffectsPerKind) - 10);
  for (const std::string& p : first) a.AddPath(p, "/*", PathAccess::kWrite, "rm");
  b.AddPaths(first, "/*", PathAccess::kWrite, "rm");
  std::vector<std::string> more = Names(100000, 30);
  std::vector<std::string> again = more;
  for (const std::string& p : more) a.AddPath(p, "/*", PathAccess::kWrite, "rm");
  b.AddPaths(more, "/*", PathAccess::kWrite, "rm");
  b.AddPaths(again, "/*", PathAccess::kWrite, "rm");  // at the cap already
  a.AddPath("/q", "/*", PathAccess::kWrite, "rm");
  b.AddPath("/q", "/*", PathAccess::kWrite, "rm");
  CHECK(batched.paths.size() == effects::kMaxEffectsPerKind);
  CHECK(Dump(one) == Dump(batched));
}
