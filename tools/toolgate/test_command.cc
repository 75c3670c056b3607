// toolgate test [DIR] [--pack NAME] [--verbose]: runs every rule pack's own
// test cases (see pack_test_runner.h). Exit 0 when all pass, 1 otherwise.
#include <iostream>

#include "cli_io.h"
#include "commands.h"
#include "pack_test_runner.h"

namespace toolgate::cli {

int RunTest(const std::vector<std::string>& argv) {
  Args args(argv, {"--pack"}, {"--verbose"});
  if (!args.ok() || args.positional().size() > 1) {
    std::cerr << "toolgate test: " << (args.ok() ? "too many arguments" : args.error()) << "\n"
              << "usage: toolgate test [DIR] [--pack NAME] [--verbose]   (DIR defaults to ./rules)\n";
    return kExitUsage;
  }
  const std::string dir = args.positional().empty() ? "rules" : args.positional()[0];
  const PackTestReport report = RunPackTests(dir, args.value("--pack").value_or(""));
  for (const std::string& e : report.errors) std::cerr << "error: " << e << "\n";
  for (const PackTestResult& r : report.results) {
    if (!r.passed) {
      std::cout << "FAIL " << r.where << " " << r.name << "\n    " << r.detail << "\n";
    } else if (args.has("--verbose")) {
      std::cout << "ok   " << r.where << " " << r.name << "\n";
    }
  }
  std::cout << "toolgate test: " << report.packs << " packs, " << report.results.size() << " cases, "
            << report.passed() << " passed, " << report.failed() << " failed\n";
  if (report.packs == 0) {
    std::cerr << "toolgate test: no packs found under " << dir << " (each needs <name>/<name>.lua and tests.jsonl)\n";
    return kExitFailure;
  }
  return report.failed() == 0 && report.errors.empty() ? 0 : kExitFailure;
}

}  // namespace toolgate::cli
