// toolgate policy lint FILE: load errors and warnings, located. `policy suggest`
// is in policy_suggest_command.cc.
#include <iostream>

#include "cli_io.h"
#include "commands.h"

namespace toolgate::cli {

int RunPolicy(const std::vector<std::string>& argv) {
  if (!argv.empty() && argv[0] == "suggest") return RunPolicySuggest({argv.begin() + 1, argv.end()});
  if (argv.empty() || argv[0] != "lint") {
    std::cerr << "usage: toolgate policy lint [--json] [--werror] FILE\n"
                 "       toolgate policy suggest [--policy FILE] [FILTERS] [--exact] [--json] LOG...\n";
    return kExitUsage;
  }
  Args args(std::vector<std::string>(argv.begin() + 1, argv.end()), {}, {"--json", "--werror"});
  if (!args.ok() || args.positional().size() != 1) {
    std::cerr << "toolgate policy lint: " << (args.ok() ? "expects exactly one FILE" : args.error()) << "\n";
    return kExitUsage;
  }
  const std::vector<PolicyDiagnostic> diagnostics = LintPolicyFile(args.positional()[0]);
  int errors = 0;
  int warnings = 0;
  nlohmann::json out = nlohmann::json::array();
  for (const PolicyDiagnostic& d : diagnostics) {
    const bool is_error = d.severity == PolicyDiagnostic::Severity::kError;
    (is_error ? errors : warnings) += 1;
    if (args.has("--json")) {
      out.push_back({{"severity", is_error ? "error" : "warning"},
                     {"code", is_error ? std::string(ErrorCodeName(d.code)) : d.lint},
                     {"file", d.file},
                     {"json_path", d.json_path},
                     {"message", d.message}});
    } else {
      std::cout << FormatDiagnostic(d) << "\n";
    }
  }
  if (args.has("--json")) {
    std::cout << out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else {
    std::cout << errors << " error(s), " << warnings << " warning(s)\n";
  }
  if (errors > 0) return kExitPolicy;
  if (warnings > 0 && args.has("--werror")) return kExitFailure;
  return 0;
}

}  // namespace toolgate::cli
