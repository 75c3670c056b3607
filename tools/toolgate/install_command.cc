// toolgate install <client> / toolgate uninstall <client>: write or remove the
// client's hook configuration so it runs `toolgate hook` on every tool call.
#include <climits>
#include <cstdlib>
#include <iostream>
#include <unistd.h>

#include "cli_io.h"
#include "commands.h"
#include "hooks/install.h"

namespace toolgate::cli {
namespace {

constexpr const char* kInstallUsage =
    "usage: toolgate install|uninstall claude|copilot|codex|gemini|cursor [--scope project|user] [--dir DIR]\n"
    "                                  [--policy FILE] [--agent ID] [--timeout S (default 30)]\n";

std::string Absolute(const std::string& path) {
  if (path.empty() || path.front() == '/') return path;
  char buf[PATH_MAX];
  if (::getcwd(buf, sizeof buf) == nullptr) return path;
  return std::string(buf) + "/" + path;
}

int RunInstallOrUninstall(const std::vector<std::string>& argv, bool install) {
  const char* name = install ? "install" : "uninstall";
  if (argv.size() == 1 && (argv[0] == "--help" || argv[0] == "-h")) {
    std::cout << kInstallUsage;
    return 0;
  }
  Args args(argv, {"--scope", "--dir", "--policy", "--agent", "--timeout"}, {});
  const auto usage = [&](const std::string& why) {
    std::cerr << "toolgate " << name << ": " << why << "\n" << kInstallUsage;
    return kExitUsage;
  };
  if (!args.ok()) return usage(args.error());
  if (args.positional().size() != 1) return usage("name one client");
  hooks::InstallOptions o;
  o.client = ClientFromName(args.positional()[0]);
  if (o.client == Client::kUnknown || o.client == Client::kCanonical || o.client == Client::kMcp) {
    return usage("unknown client '" + args.positional()[0] + "'");
  }
  const std::string scope = args.value("--scope").value_or("project");
  if (scope == "user") {
    o.scope = hooks::InstallScope::kUser;
  } else if (scope != "project") {
    return usage("--scope is project or user");
  }
  o.dir = Absolute(args.value("--dir").value_or(o.scope == hooks::InstallScope::kProject ? "." : ""));
  if (o.dir.size() > 2 && o.dir.compare(o.dir.size() - 2, 2, "/.") == 0) o.dir.resize(o.dir.size() - 2);
  o.toolgate_path = SelfExePath();
  // The fast shim, when it was installed beside this binary: the hook then
  // starts a small static program instead of this one.
  if (const std::size_t slash = o.toolgate_path.rfind('/'); slash != std::string::npos) {
    const std::string shim = o.toolgate_path.substr(0, slash + 1) + "toolgate-hook";
    if (::access(shim.c_str(), X_OK) == 0) o.hook_shim_path = shim;
  }
  if (const auto p = args.value("--policy")) {
    o.policy_path = Absolute(*p);
    if (install && ::access(o.policy_path.c_str(), R_OK) != 0) return usage("cannot read policy " + o.policy_path);
  }
  o.agent = args.value("--agent");
  if (const auto t = args.value("--timeout")) {
    char* end = nullptr;
    const long s = std::strtol(t->c_str(), &end, 10);
    if (end == t->c_str() || *end != '\0' || s < 1 || s > 600) return usage("--timeout needs seconds from 1 to 600");
    o.timeout_seconds = static_cast<int>(s);
  }

  Result<hooks::InstallReport> r = install ? hooks::InstallHooks(o) : hooks::UninstallHooks(o);
  if (!r) {
    std::cerr << "toolgate " << name << ": " << r.error().location << ": " << r.error().message << "\n";
    return kExitFailure;
  }
  std::cout << (r->changed ? "updated " : "unchanged ") << r->config_path << "\n";
  if (!r->backup_path.empty()) std::cout << "  backup of the previous file: " << r->backup_path << "\n";
  if (r->changed || install) {
    for (const std::string& c : r->changes) std::cout << "  " << c << "\n";
  }
  if (!r->notes.empty()) {
    std::cout << "notes:\n";
    for (const std::string& n : r->notes) std::cout << "  - " << n << "\n";
  }
  return 0;
}

}  // namespace

int RunInstall(const std::vector<std::string>& argv) { return RunInstallOrUninstall(argv, true); }
int RunUninstall(const std::vector<std::string>& argv) { return RunInstallOrUninstall(argv, false); }

}  // namespace toolgate::cli
