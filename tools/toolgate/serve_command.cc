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
#include "effects/link_cache.h"
#include "server/dispatcher.h"
#include "server/engine_holder.h"
#include "server/listener.h"
#include "server/policy_reloader.h"
#include "server/policy_watcher.h"
#include "server/server.h"
#include "toolgate/session.h"
#include "toolgate/audit.h"
#include "toolgate/daemon_protocol.h"
#include "toolgate/state_store.h"

namespace toolgate::cli {
namespace {

constexpr const char* kServeUsage =
    "usage: toolgate serve [--policy FILE] [--socket PATH] [--log DIR [--log-key KEY]] [--group NAME]\n"
    "                      [--workers N] [--max-message-bytes N] [--max-connections N]\n"
    "                      [--log-sync deny,ask|all|none] [--no-log-stage] [--no-watch] [--mode enforce|learn]\n"
    "                      [--state DIR | --state-memory] [--state-reset] [--no-link-cache]\n"
    "  the policy file and its rule packs are watched: a valid new version is swapped in, an invalid\n"
    "  one is logged and ignored (--no-watch: only SIGHUP reloads). --mode learn allows what the policy\n"
    "  would deny or ask and records the policy's verdict with \"mode\":\"learn\" (never the default).\n"
    "  Path lookups are kept between decisions until inotify reports a change in their directory or\n"
    "  the mount table changes; --no-link-cache looks every component up on every decision.\n";

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

// Checked every second: a removed socket file leaves the daemon unreachable
// (hooks would judge in-process, outside this daemon's log), so it is bound
// again; a loosened mode would let other users in, so it is restored; a path
// that now names another file is someone else's and is only reported. Each
// change is logged once.
void WatchSocket(const server::ListenerOptions& options, server::Server* srv, server::SocketFileState* last) {
  const server::Listener& l = srv->listener();
  const server::SocketFileCheck c = server::CheckSocketFile(l, options);
  const server::SocketFileState previous = *last;
  *last = c.state;
  switch (c.state) {
    case server::SocketFileState::kIntact: return;
    case server::SocketFileState::kReplaced:
      if (previous != c.state) {
        spdlog::error("toolgate serve: the socket path {} now names another file (mode {:04o}); this daemon is "
                      "unreachable there and leaves it alone",
                      l.path, c.mode);
      }
      return;
    case server::SocketFileState::kModeChanged:
      spdlog::warn("toolgate serve: the socket {} has mode {:04o}; restoring {:04o}", l.path, c.mode,
                   options.group.empty() ? 0600 : 0660);
      if (auto e = server::RestoreSocketMode(l, options)) {
        spdlog::error("toolgate serve: cannot restore the socket's mode: {}", *e);
      } else {
        *last = server::SocketFileState::kIntact;
      }
      return;
    case server::SocketFileState::kRemoved: {
      spdlog::warn("toolgate serve: the socket file {} was removed; binding it again", l.path);
      auto fresh = server::OpenListener(options);
      if (!fresh) {
        spdlog::error("toolgate serve: cannot bind {} again: {}", options.path, fresh.error().message);
        return;
      }
      if (auto e = srv->ReplaceListener(std::move(*fresh))) {
        spdlog::error("toolgate serve: cannot take the new socket: {}", e->message);
        return;
      }
      *last = server::SocketFileState::kIntact;
      spdlog::info("toolgate serve: listening on {} again", options.path);
      return;
    }
  }
}

}  // namespace

int RunServe(const std::vector<std::string>& argv) {
  Args args(argv,
            {"--policy", "--socket", "--log", "--log-key", "--group", "--workers", "--max-message-bytes",
             "--max-connections", "--log-sync", "--mode", "--state"},
            {"--no-watch", "--state-memory", "--state-reset", "--no-log-stage", "--no-link-cache"});
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
  const std::string mode = args.value("--mode").value_or("enforce");
  if (mode != "enforce" && mode != "learn") return Usage("--mode takes enforce or learn");
  const bool learn = mode == "learn";
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
  std::shared_ptr<const Policy> policy;
  std::vector<std::string> policy_files;
  if (policy_path.empty()) {
    policy = LoadPolicyOrDefault("");
  } else {
    PolicyLoadResult r = LoadPolicyFile(policy_path);
    for (const PolicyDiagnostic& d : r.diagnostics) std::cerr << FormatDiagnostic(d) << "\n";
    if (!r.ok()) std::cerr << "toolgate: policy failed to load; refusing to judge calls\n";
    policy = r.policy;
    policy_files = std::move(r.files);
  }
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
  server::PolicyReloader reloader(policy_path, &engines, policy_files);

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

  server::Dispatcher dispatcher(&engines, log.get(), max_message, /*defer_sync=*/true, learn);
  // Task phases and temporary grants live as long as the daemon (in memory).
  SessionRegistry sessions;
  dispatcher.set_sessions(&sessions);
  server::ServerOptions so;
  so.workers = static_cast<int>(workers);
  so.max_connections = max_connections;
  // The log stage pays off when a pipelining connection's answers wait only
  // for CPU. When some verdicts wait for fdatasync, a connection answers at
  // most about one pipeline per sync, and the stage would add thread
  // hand-offs (and more, smaller syncs) to every batch for nothing.
  // --no-log-stage: on a host whose other work keeps the cores busy, the
  // stage has no second core to use and its hand-offs only cost CPU.
  so.log_stage = sync_verdicts.empty() && !args.has("--no-log-stage") ? server::ServerOptions::LogStage::kAuto
                                                                       : server::ServerOptions::LogStage::kNever;
  // Path lookups are kept between decisions until inotify reports a change
  // (effects/link_cache.h); --no-link-cache looks every component up with
  // the kernel on every decision.
  effects::SetLinkCacheEnabled(!args.has("--no-link-cache"));
  server::Server srv(std::move(*listener), &dispatcher, so);
  if (auto e = srv.Start()) {
    spdlog::error("toolgate serve: {}", e->message);
    return kExitFailure;
  }
  spdlog::info("toolgate serve: listening on {} with {} workers; policy {}; {}", where, workers, policy->digest(),
               log ? "logging every decision to " + log->current_file() : "decisions are not logged (no --log)");
  if (learn) {
    spdlog::warn("toolgate serve: LEARNING MODE: calls the policy would deny or ask are ALLOWED; every decision is "
                 "recorded with \"mode\":\"learn\" and the policy's verdict. Do not leave it on.");
  }

  // The watcher's thread inherits the blocked signal mask set above.
  std::unique_ptr<server::PolicyWatcher> watcher;
  if (!policy_path.empty() && !args.has("--no-watch")) {
    auto started = server::PolicyWatcher::Start(reloader.files(), [&reloader] {
      reloader.Reload("file change");
      return reloader.files();
    });
    if (started) {
      watcher = std::move(*started);
      spdlog::info("toolgate serve: watching {} file(s) of the policy for changes", reloader.files().size());
    } else {
      spdlog::warn("toolgate serve: cannot watch the policy files ({}); only SIGHUP reloads",
                   started.error().message);
    }
  }

  server::SocketFileState socket_state = server::SocketFileState::kIntact;
  for (;;) {
    siginfo_t info{};
    const timespec tick{1, 0};  // how often the socket file is checked
    const int sig = ::sigtimedwait(&signals, &info, &tick);
    if (sig < 0) {
      if (errno == EAGAIN) {
        WatchSocket(lo, &srv, &socket_state);
        continue;
      }
      if (errno == EINTR) continue;
      spdlog::critical("toolgate serve: sigtimedwait: {}", std::strerror(errno));
      break;
    }
    if (sig == SIGHUP) {
      if (policy_path.empty()) {
        spdlog::warn("toolgate serve: SIGHUP: serving the embedded default policy; there is no file to reload");
      } else {
        reloader.Reload("SIGHUP");
      }
      continue;
    }
    spdlog::info("toolgate serve: {}: shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    break;
  }
  if (watcher) watcher->Stop();
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
