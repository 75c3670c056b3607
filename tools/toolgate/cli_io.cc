#include "cli_io.h"

#include "util/fd_io.h"

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <sys/stat.h>
#include <unistd.h>

namespace toolgate::cli {

int ExitCodeFor(Verdict verdict) {
  switch (verdict) {
    case Verdict::kAllow: return kExitAllow;
    case Verdict::kAsk: return kExitAsk;
    case Verdict::kDeny: return kExitDeny;
  }
  return kExitDeny;
}

Args::Args(std::vector<std::string> argv, std::vector<std::string> value_flags, std::vector<std::string> switches) {
  const auto contains = [](const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
  };
  for (std::size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a == "--") {
      positional_.insert(positional_.end(), argv.begin() + static_cast<std::ptrdiff_t>(i) + 1, argv.end());
      break;
    }
    if (a.rfind("--", 0) != 0) {
      positional_.push_back(a);
      continue;
    }
    std::string flag = a;
    std::optional<std::string> inline_value;
    if (const auto eq = a.find('='); eq != std::string::npos) {
      flag = a.substr(0, eq);
      inline_value = a.substr(eq + 1);
    }
    if (contains(value_flags, flag)) {
      if (inline_value) {
        values_.emplace_back(flag, *inline_value);
      } else if (i + 1 < argv.size()) {
        values_.emplace_back(flag, argv[++i]);
      } else {
        error_ = flag + " needs a value";
        return;
      }
    } else if (contains(switches, flag) && !inline_value) {
      switches_.push_back(flag);
    } else {
      error_ = "unknown option " + a;
      return;
    }
  }
}

std::optional<std::string> Args::value(std::string_view flag) const {
  std::optional<std::string> out;
  for (const auto& [k, v] : values_) {
    if (k == flag) out = v;  // the last one given wins
  }
  return out;
}

bool Args::has(std::string_view flag) const {
  return std::find(switches_.begin(), switches_.end(), flag) != switches_.end();
}

std::string ReadStdinBounded(std::size_t max_bytes) { return ReadBounded(STDIN_FILENO, max_bytes); }

std::shared_ptr<const Policy> LoadPolicyOrDefault(const std::string& path) {
  PolicyLoadResult r = path.empty() ? LoadPolicyText(embedded::kDefaultPolicy, "rules/examples/default.json")
                                    : LoadPolicyFile(path);
  for (const PolicyDiagnostic& d : r.diagnostics) std::cerr << FormatDiagnostic(d) << "\n";
  if (!r.ok()) std::cerr << "toolgate: policy failed to load; refusing to judge calls\n";
  return r.policy;
}

std::string SelfExePath() {
  char buf[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "";
  return std::string(buf, static_cast<std::size_t>(n));
}

int OpenEgressLog(const Args& args, const char* command, const char* usage, std::unique_ptr<AuditLog>* log) {
  log->reset();
  const auto path = args.value("--log");
  if (!path) {
    if (!args.value("--log-key")) return 0;
    std::cerr << "toolgate " << command << ": --log-key needs --log\n" << usage;
    return kExitUsage;
  }
  AuditLogOptions lo;
  struct stat st {};
  lo.path = ::stat(path->c_str(), &st) == 0 && S_ISDIR(st.st_mode) ? *path + "/egress.jsonl" : *path;
  lo.signing_key_path = args.value("--log-key").value_or("");
  auto opened = AuditLog::Open(lo);
  if (!opened) {
    std::cerr << "toolgate " << command << ": decision log " << lo.path << ": " << opened.error().message << "\n";
    return kExitFailure;
  }
  *log = std::move(*opened);
  return 0;
}

}  // namespace toolgate::cli
