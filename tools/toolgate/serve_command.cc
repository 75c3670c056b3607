// toolgate serve: the decision daemon on a Unix socket (engine/server/).
#include <signal.h>
#include <sys/stat.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <sstream>

#include <spdlog/spdlog.h>

#include "cli_io.h"
#include "commands.h"
#include "server/dispatcher.h"
#include "server/engine_holder.h"
#include "server/listener.h"
#include "server/server.h"
#include "toolgate/audit.h"
#include "toolgate/daemon_protocol.h"
#include "toolgate/state_store.h"

namespace toolgate::cli {
namespace {

constexpr const char* kServeUsage =
    "usage: toolgate serve [--policy FILE] [--socket PATH] [--log DIR [--log-key KEY]] [--group NAME]\n"
    "                      [--workers N] [--max-message-bytes N] [--max-connections N]\n"
    "                      [--log-sync deny,ask|all|none] [--state DIR | --state-memory] [--state-reset]\n";

int Usage(const std::string& why) {
  std::cerr << "toolgate serve: " << why << "\n" << kServeUsage;
  return kExitUsage;
}

bool ParseCount(const std::string& text, std::size_t lo, std::size_t hi, std::size_t* out) {
  std::size_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < lo || v > hi) return false;
  *out = v;
  return true;
}

// SIGHUP: load the file again; a policy that fails to load changes nothing.
void Reload(const std::string& path, server::EngineHolder* engines) {
  if (path.empty()) {
    spdlog::warn("toolgate serve: SIGHUP: serving the embedded default policy; there is no file to reload");
    return;
  }
  PolicyLoadResult r = LoadPolicyFile(path);
  for (const PolicyDiagnostic& d : r.diagnostics) {
    if (d.severity == PolicyDiagnostic::Severity::kError) {
      spdlog::error("toolgate serve: reload: {}", FormatDiagnostic(d));
    }
  }
  const std::string current = engines->Current()->policy().digest();
  if (!r.ok()) {
    spdlog::error("toolgate serve: reload of {} failed; keeping the last good policy {}", path, current);
    return;
  }
  engines->Replace(r.policy);
  spdlog::info("toolgate serve: reloaded {}: policy {} (was {})", path, r.policy->digest(), current);
}

}  // namespace

int RunServe(const std::vector<std::string>& argv) {
  Args args(argv,
            {"--policy", "--socket", "--log", "--log-key", "--group", "--workers", "--max-message-bytes",
             "--max-connections", "--log-sync", "--state"},
            {"--state-memory", "--state-reset"});
  if (!args.ok()) return Usage(args.error());
  if (!args.positional().empty()) return Usage("unexpected argument '" + args.positional()[0] + "'");
  std::size_t workers = 4;
  std::size_t max_message = kDefaultMaxMessageBytes;
  std::size_t max_connections = 1024;
  if (auto v = args.value("--workers"); v && !ParseCount(*v, 1, 256, &workers)) {
    return Usage("--workers takes a count from 1 to 256");
  }
  if (auto v = args.value("--max-message-bytes"); v && !ParseCount(*v, 64, std::size_t{64} << 20, &max_message)) {
    return Usage("--max-message-bytes takes a byte count from 64 to 67108864");
  }
  if (auto v = args.value("--max-connections"); v && !ParseCount(*v, 1, 100000, &max_connections)) {
    return Usage("--max-connections takes a count from 1 to 100000");
  }
  if (args.value("--log-key") && !args.value("--log")) return Usage("--log-key needs --log DIR");
  if (args.value("--state") && args.has("--state-memory")) return Usage("--state DIR and --state-memory exclude each other");
  if (args.has("--state-reset") && args.has("--state-memory")) return Usage("--state-reset needs a state directory");
  // Which verdicts wait for fdatasync before their reply (every record is
  // written to the file before its reply either way).
  std::vector<Verdict> sync_verdicts = {Verdict::kDeny, Verdict::kAsk};
  if (const auto v = args.value("--log-sync")) {
    sync_verdicts.clear();
    if (*v == "all") {
      sync_verdicts = {Verdict::kAllow, Verdict::kAsk, Verdict::kDeny};
    } else if (*v != "none") {
      std::istringstream list(*v);
      std::string item;
      while (std::getline(list, item, ',')) {
        const auto verdict = VerdictFromName(item);
        if (!verdict) return Usage("--log-sync takes all, none or a list of verdicts (deny,ask)");
        sync_verdicts.push_back(*verdict);
      }
    }
  }

  const std::string policy_path = args.value("--policy").value_or("");
  auto policy = LoadPolicyOrDefault(policy_path);
  if (!policy) return kExitPolicy;
  // tg.state: --state DIR, else DIR/state beside the decision log (--log DIR),
  // else memory only. A directory that cannot be used, or whose files are
  // damaged, stops the daemon: starting with empty counters would quietly
  // lift every rate limit. --state-reset moves the old files aside.
  std::string state_dir = args.value("--state").value_or("");
  if (state_dir.empty() && !args.has("--state-memory")) {
    if (const auto dir = args.value("--log")) state_dir = (std::filesystem::path(*dir) / "state").string();
  }
  if (state_dir.empty() && args.has("--state-reset")) return Usage("--state-reset needs --state DIR or --log DIR");
  if (const auto dir = args.value("--log"); dir && !state_dir.empty() && !args.value("--state")) {
    // The log directory is made below; its state subdirectory needs it now.
    if (::mkdir(dir->c_str(), 0700) != 0 && errno != EEXIST) {
      spdlog::error("toolgate serve: cannot create the log directory {}: {}", *dir, std::strerror(errno));
      return kExitFailure;
    }
  }
  StateStoreOptions state_options;
  state_options.dir = state_dir;
  state_options.reset = args.has("--state-reset");
  state_options.lock_wait = std::chrono::milliseconds(0);  // a second daemon on the same directory is refused at once
  Result<std::unique_ptr<StateStore>> state = StateStore::Open(state_options);
  if (!state) {
    spdlog::error("toolgate serve: state: {}: {}", state.error().location, state.error().message);
    return kExitFailure;
  }
  for (const std::string& note : (*state)->open_notes()) spdlog::warn("toolgate serve: state: {}", note);
  if (state_dir.empty()) {
    spdlog::warn("toolgate serve: tg.state counters are kept in memory only{}: rate limits restart with the daemon",
                 args.has("--state-memory") ? " (--state-memory)" : " (no --state DIR and no --log DIR)");
  } else {
    spdlog::info("toolgate serve: tg.state in {} ({} entries loaded)", state_dir, (*state)->size());
  }
  server::EngineHolder engines(policy, std::shared_ptr<StateStore>(std::move(*state)));

  // Signals are taken synchronously by this thread (sigwaitinfo below); every
  // thread started from here on inherits the blocked mask.
  sigset_t signals;
  sigemptyset(&signals);
  for (int s : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&signals, s);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  std::unique_ptr<AuditLog> log;
  if (const auto dir = args.value("--log")) {
    std::error_code ec;
    if (!std::filesystem::is_directory(*dir, ec)) {
      if (::mkdir(dir->c_str(), 0700) != 0 && errno != EEXIST) {
        spdlog::error("toolgate serve: cannot create the log directory {}: {}", *dir, std::strerror(errno));
        return kExitFailure;
      }
    }
    AuditLogOptions o;
    o.path = (std::filesystem::path(*dir) / "decisions.jsonl").string();
    o.signing_key_path = args.value("--log-key").value_or("");
    o.sync_verdicts = sync_verdicts;
    auto opened = AuditLog::Open(o);
    if (!opened) {
      spdlog::error("toolgate serve: audit log {}: {}{}", o.path, opened.error().message,
                    opened.error().location.empty() ? "" : " (" + opened.error().location + ")");
      return kExitFailure;
    }
    log = std::move(*opened);
    for (const std::string& note : log->open_notes()) spdlog::warn("toolgate serve: audit log: {}", note);
  }

  server::ListenerOptions lo;
  lo.path = args.value("--socket").value_or(DefaultSocketPath());
  lo.group = args.value("--group").value_or("");
  auto listener = server::OpenListener(lo);
  if (!listener) {
    spdlog::error("toolgate serve: {}: {}", listener.error().location, listener.error().message);
    return kExitFailure;
  }
  const std::string where = listener->activated ? "the socket systemd passed (fd 3)" : listener->path;

  server::Dispatcher dispatcher(&engines, log.get(), max_message, /*defer_sync=*/true);
  server::ServerOptions so;
  so.workers = static_cast<int>(workers);
  so.max_connections = max_connections;
  server::Server srv(std::move(*listener), &dispatcher, so);
  if (auto e = srv.Start()) {
    spdlog::error("toolgate serve: {}", e->message);
    return kExitFailure;
  }
  spdlog::info("toolgate serve: listening on {} with {} workers; policy {}; {}", where, workers, policy->digest(),
               log ? "logging every decision to " + log->current_file() : "decisions are not logged (no --log)");

  for (;;) {
    siginfo_t info{};
    const int sig = ::sigwaitinfo(&signals, &info);
    if (sig < 0) {
      if (errno == EINTR) continue;
      spdlog::critical("toolgate serve: sigwaitinfo: {}", std::strerror(errno));
      break;
    }
    if (sig == SIGHUP) {
      Reload(policy_path, &engines);
      continue;
    }
    spdlog::info("toolgate serve: {}: shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    break;
  }
  srv.Shutdown();
  int code = 0;
  if (log) {
    if (auto e = log->Close()) {
      spdlog::error("toolgate serve: closing the audit log: {}", e->message);
      code = kExitFailure;
    }
  }
  spdlog::info("toolgate serve: stopped");
  return code;
}

}  // namespace toolgate::cli
