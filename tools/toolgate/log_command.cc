// toolgate log verify|query|stats|report|export|keygen: review tools for the
// decision log, and the glue that makes `toolgate check --log` write it.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "audit/export_ocsf.h"
#include "audit/export_otel.h"
#include "audit/html_report.h"
#include "audit/log_reader.h"
#include "audit/log_stats.h"
#include "audit/record.h"
#include "cli_io.h"
#include "commands.h"
#include "log_cli.h"
#include "toolgate/audit.h"
#include "util/fd_io.h"
#include "util/utf8.h"

namespace toolgate::cli {
namespace {

using nlohmann::json;

constexpr const char* kLogUsage =
    "usage: toolgate log <command> [options] [LOG ...]\n"
    "\n"
    "LOG is a log file or a directory of *.jsonl segments (order does not matter).\n"
    "\n"
    "commands:\n"
    "  verify [--key PUB] [--checkpoints FILE] [--allow-unsigned-tail] [--json] LOG...\n"
    "      check the hash chain and signed checkpoints; report the first bad record\n"
    "      exit: 0 verified, 1 tampered or corrupt, 2 only a torn last line (crash), 66 unreadable\n"
    "  query [FILTERS] [--json] [--limit N] [--all-types] LOG...\n"
    "      list matching decisions as a table, or as JSON lines; exit 1 when nothing matched\n"
    "      (L:deny, L:ask: the policy's verdict of a learning-mode record, which was answered allow)\n"
    "  stats [FILTERS] [--json] [--top N] LOG...\n"
    "      counts by verdict, agent, tool and rule; deny rate; latency p50/p90/p99\n"
    "  report --html FILE [FILTERS] [--key PUB] [--title TEXT] LOG...\n"
    "      one self-contained HTML report (verifies first; exit 1 when verification failed)\n"
    "  export --format ocsf|otel [FILTERS] [--out FILE] LOG...\n"
    "      OCSF 1.3.0 API Activity events or OTLP/JSON log records, one JSON object per line\n"
    "  keygen --out PREFIX [--log-dir DIR]\n"
    "      write an Ed25519 key pair PREFIX.key (0600) and PREFIX.pub for checkpoints\n"
    "  bench [--records N] [--threads N] [--dir DIR] [--verify-records N]\n"
    "      measure append and verify throughput (not a test)\n"
    "\n"
    "FILTERS: --agent ID --session ID --tool NAME --rule ID (each may use *)\n"
    "         --verdict allow,ask,deny --since T --until T (RFC 3339, a date, or 15m/2h/7d ago) --text TEXT\n"
    "         --mode learn|enforce (records made in learning mode, or not)\n";

int Usage(const std::string& why) {
  std::cerr << "toolgate log: " << why << "\n" << kLogUsage;
  return kExitUsage;
}

std::int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::vector<std::string> Join(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// Opens a reader or prints why not.
std::optional<audit::LogReader> OpenReader(const std::vector<std::string>& paths, const char* command) {
  if (paths.empty()) {
    std::cerr << "toolgate log " << command << ": no log files given\n";
    return std::nullopt;
  }
  auto r = audit::LogReader::Open(paths);
  if (!r) {
    std::cerr << "toolgate log " << command << ": " << r.error().message << "\n";
    return std::nullopt;
  }
  return std::move(*r);
}

void PrintWarnings(const audit::LogReader& reader, const char* command) {
  for (const std::string& w : reader.warnings()) std::cerr << "toolgate log " << command << ": warning: " << TerminalSafe(w) << "\n";
}

// Writes bytes to a new or truncated file readable by owner and group only:
// reports and exports carry what agents did.
bool WriteOutputFile(const std::string& path, const std::string& bytes, std::string* error) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) {
    *error = path + ": " + std::strerror(errno);
    return false;
  }
  const int e = toolgate::WriteAll(fd, bytes);
  ::close(fd);
  if (e != 0) *error = path + ": " + std::strerror(e);
  return e == 0;
}

std::string VerifySummary(const VerifyReport& r) {
  std::string s = std::to_string(r.records) + " records (" + std::to_string(r.decisions) + " decisions, " +
                  std::to_string(r.checkpoints) + " checkpoints";
  if (r.checkpoints_verified > 0) s += ", " + std::to_string(r.checkpoints_verified) + " signatures verified";
  s += ") in " + std::to_string(r.files.size()) + " file(s)";
  if (r.records > 0) {
    s += ", seq " + std::to_string(r.first_seq) + ".." + std::to_string(r.last_seq) + ", head " + r.head.substr(0, 16);
  }
  return s;
}

int RunVerify(const std::vector<std::string>& argv) {
  Args args(argv, {"--key", "--checkpoints"}, {"--allow-unsigned-tail", "--json"});
  if (!args.ok()) return Usage(args.error());
  if (args.positional().empty()) return Usage("verify needs at least one log file or directory");
  VerifyOptions o;
  o.paths = args.positional();
  o.public_key_path = args.value("--key").value_or("");
  if (auto c = args.value("--checkpoints")) {
    std::size_t start = 0;
    while (start <= c->size()) {
      const std::size_t comma = c->find(',', start);
      const std::string part = c->substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if (!part.empty()) o.checkpoint_files.push_back(part);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  o.allow_unsigned_tail = args.has("--allow-unsigned-tail");
  const VerifyReport r = VerifyLog(o);
  int code = kExitLogOk;
  if (r.error) {
    switch (r.error->problem) {
      case AuditProblem::kTornLine: code = kExitLogTornTail; break;
      case AuditProblem::kUnreadable:
      case AuditProblem::kNoRecords: code = kExitLogNoInput; break;
      default: code = kExitLogProblem;
    }
  }
  if (args.has("--json")) {
    json out{{"ok", r.ok()},
             {"records", r.records},
             {"decisions", r.decisions},
             {"checkpoints", r.checkpoints},
             {"checkpoints_verified", r.checkpoints_verified},
             {"sidecar_checkpoints_verified", r.sidecar_checkpoints_verified},
             {"first_seq", r.first_seq},
             {"last_seq", r.last_seq},
             {"head", r.head},
             {"unsigned_tail", r.unsigned_tail},
             {"files", r.files},
             {"notes", r.notes}};
    if (r.error) {
      out["error"] = json{{"problem", AuditProblemName(r.error->problem)},
                          {"file", r.error->file},
                          {"line", r.error->line},
                          {"seq", r.error->seq},
                          {"why", r.error->why}};
    }
    std::cout << out.dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
    return code;
  }
  if (r.error) {
    std::cout << "FAIL " << TerminalSafe(r.error->file);
    if (r.error->line > 0) std::cout << ":" << r.error->line;
    std::cout << ": " << AuditProblemName(r.error->problem) << ": " << TerminalSafe(r.error->why) << "\n";
    if (r.records > 0) {
      std::cout << "  verified before it: " << VerifySummary(r) << "\n";
    }
  } else {
    std::cout << "OK " << VerifySummary(r) << "\n";
    if (r.unsigned_tail > 0) {
      std::cout << "  " << r.unsigned_tail << " record(s) after the last signed checkpoint (allowed)\n";
    }
  }
  for (const std::string& n : r.notes) std::cout << "  note: " << TerminalSafe(n) << "\n";
  return code;
}

int RunQuery(const std::vector<std::string>& argv) {
  Args args(argv, Join(FilterFlags(), {"--limit"}), {"--json", "--all-types"});
  if (!args.ok()) return Usage(args.error());
  std::string err;
  auto filter = FilterFromArgs(args, &err);
  if (!filter) return Usage(err);
  filter->all_types = args.has("--all-types");
  std::uint64_t limit = 0;
  if (auto l = args.value("--limit")) limit = std::strtoull(l->c_str(), nullptr, 10);
  auto reader = OpenReader(args.positional(), "query");
  if (!reader) return kExitLogNoInput;
  const bool as_json = args.has("--json");
  std::uint64_t matched = 0;
  if (!as_json) {
    std::printf("%-7s %-19s %-6s %-16s %-12s %-22s %s\n", "SEQ", "TIME (UTC)", "VERDICT", "AGENT", "TOOL", "RULE",
                "CALL");
  }
  reader->ForEach(
      [&](const json& rec, std::string_view raw, const audit::RecordLocation&) {
        if (!filter->Matches(rec)) return true;
        ++matched;
        if (as_json) {
          std::cout << raw << "\n";  // the record exactly as logged (valid UTF-8 JSON)
        } else {
          std::string rules;
          if (rec.contains("rules") && rec["rules"].is_array()) {
            for (const json& r : rec["rules"]) {
              if (!r.is_string()) continue;
              if (!rules.empty()) rules += ",";
              rules += r.get<std::string>();
            }
          }
          const std::string type = audit::Str(rec, "type");
          const std::string seq = rec.contains("seq") ? rec["seq"].dump() : "?";
          // A learning-mode record that was answered otherwise: "deny>allow" (the policy's verdict, then the answer).
          std::string verdict = type == "decision" ? audit::Str(rec, "verdict") : type;
          if (audit::Str(rec, "mode") == "learn" && audit::Str(rec, "enforced") != verdict) {
            verdict = "L:" + verdict;
          }
          std::printf("%-7s %-19s %-6s %-16s %-12s %-22s %s\n", seq.c_str(),
                      TerminalSafe(audit::Str(rec, "time").substr(0, 19)).c_str(), TerminalSafe(verdict, 10).c_str(),
                      TerminalSafe(audit::Str(rec, "agent", "id"), 16).c_str(),
                      TerminalSafe(rec.contains("call") ? audit::Str(rec["call"], "tool_name") : "", 12).c_str(),
                      TerminalSafe(rules.empty() ? "-" : rules, 22).c_str(),
                      TerminalSafe(type == "decision" ? audit::CallSummary(rec, 100) : "", 100).c_str());
        }
        return limit == 0 || matched < limit;
      },
      [&](std::string_view raw) { return filter->MatchesRaw(raw); });
  std::cout.flush();
  PrintWarnings(*reader, "query");
  if (!as_json) std::fprintf(stderr, "%llu matching record(s); not verified — run `toolgate log verify`\n",
                             static_cast<unsigned long long>(matched));
  return matched > 0 ? kExitLogOk : kExitLogProblem;
}

bool CollectStats(const Args& args, audit::LogStats* stats, const char* command, std::vector<std::string>* files,
                  int* exit_code) {
  std::string err;
  auto filter = FilterFromArgs(args, &err);
  if (!filter) {
    *exit_code = Usage(err);
    return false;
  }
  auto reader = OpenReader(args.positional(), command);
  if (!reader) {
    *exit_code = kExitLogNoInput;
    return false;
  }
  reader->ForEach(
      [&](const json& rec, std::string_view, const audit::RecordLocation&) {
        if (filter->Matches(rec)) stats->Add(rec);
        return true;
      },
      [&](std::string_view raw) { return filter->MatchesRaw(raw); });
  PrintWarnings(*reader, command);
  if (files != nullptr) *files = reader->files();
  return true;
}

int RunStats(const std::vector<std::string>& argv) {
  Args args(argv, Join(FilterFlags(), {"--top"}), {"--json"});
  if (!args.ok()) return Usage(args.error());
  std::size_t top = 10;
  if (auto t = args.value("--top")) top = std::max<std::size_t>(1, std::strtoull(t->c_str(), nullptr, 10));
  audit::LogStats stats;
  int code = 0;
  if (!CollectStats(args, &stats, "stats", nullptr, &code)) return code;
  json j = stats.ToJson(top);
  if (args.has("--json")) {
    std::cout << j.dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
    return kExitLogOk;
  }
  const auto& v = stats.verdicts;
  std::printf("decisions: %llu  (%s .. %s)\n", static_cast<unsigned long long>(stats.total),
              TerminalSafe(stats.first_time).c_str(), TerminalSafe(stats.last_time).c_str());
  std::printf("verdicts:  allow %llu  ask %llu  deny %llu  deny rate %.1f%%\n",
              static_cast<unsigned long long>(v.allow), static_cast<unsigned long long>(v.ask),
              static_cast<unsigned long long>(v.deny), v.deny_rate() * 100.0);
  if (stats.learn > 0) {
    std::printf("LEARNING MODE: %llu record(s) made in learning mode; %llu deny/ask verdict(s) were answered allow\n",
                static_cast<unsigned long long>(stats.learn),
                static_cast<unsigned long long>(stats.learn_allowed_anyway));
  }
  std::printf("latency:   p50 %.1f us  p90 %.1f us  p99 %.1f us  max %.1f us\n", j["latency_us"]["p50"].get<double>(),
              j["latency_us"]["p90"].get<double>(), j["latency_us"]["p99"].get<double>(),
              j["latency_us"]["max"].get<double>());
  const auto table = [&](const char* title, const json& rows) {
    std::printf("\n%-40s %9s %7s %7s %7s %9s\n", title, "total", "allow", "ask", "deny", "deny%");
    for (const json& r : rows) {
      std::printf("%-40s %9llu %7llu %7llu %7llu %8.1f%%\n", TerminalSafe(r["name"].get<std::string>(), 40).c_str(),
                  static_cast<unsigned long long>(r["total"].get<std::uint64_t>()),
                  static_cast<unsigned long long>(r["allow"].get<std::uint64_t>()),
                  static_cast<unsigned long long>(r["ask"].get<std::uint64_t>()),
                  static_cast<unsigned long long>(r["deny"].get<std::uint64_t>()),
                  r["deny_rate"].get<double>() * 100.0);
    }
  };
  table("AGENT", j["by_agent"]);
  table("TOOL", j["by_tool"]);
  table("RULE", j["by_rule"]);
  std::printf("\n%-70s %9s\n", "TOP DENY REASONS", "count");
  for (const json& r : j["top_deny_reasons"]) {
    std::printf("%-70s %9llu\n", TerminalSafe(r["reason"].get<std::string>(), 70).c_str(),
                static_cast<unsigned long long>(r["count"].get<std::uint64_t>()));
  }
  std::fprintf(stderr, "not verified — run `toolgate log verify`\n");
  return kExitLogOk;
}

int RunReport(const std::vector<std::string>& argv) {
  Args args(argv, Join(FilterFlags(), {"--html", "--key", "--title"}), {});
  if (!args.ok()) return Usage(args.error());
  const auto out = args.value("--html");
  if (!out) return Usage("report needs --html FILE");
  audit::LogStats stats;
  std::vector<std::string> files;
  int code = 0;
  if (!CollectStats(args, &stats, "report", &files, &code)) return code;
  audit::ReportContext ctx;
  if (auto t = args.value("--title")) ctx.title = *t;
  ctx.sources = files;
  ctx.generated_at = audit::FormatTime(NowNs()).substr(0, 19) + "Z";
  VerifyOptions vo;
  vo.paths = args.positional();
  vo.public_key_path = args.value("--key").value_or("");
  vo.allow_unsigned_tail = true;  // a report is often of a live log
  const VerifyReport vr = VerifyLog(vo);
  ctx.integrity_checked = true;
  ctx.integrity_ok = vr.ok();
  if (vr.ok()) {
    ctx.integrity_text = "Chain verified: " + VerifySummary(vr) +
                         (vo.public_key_path.empty() ? " — signatures not checked (no --key)" : "");
  } else {
    ctx.integrity_text = "Verification FAILED at " + vr.error->file + ":" + std::to_string(vr.error->line) + " (" +
                         AuditProblemName(vr.error->problem) + "): " + vr.error->why;
  }
  std::string err;
  if (!WriteOutputFile(*out, audit::RenderHtmlReport(stats, ctx), &err)) {
    std::cerr << "toolgate log report: cannot write " << err << "\n";
    return kExitFailure;
  }
  std::cerr << "toolgate log report: wrote " << *out << " (" << stats.total << " decisions)\n";
  if (!vr.ok()) {
    std::cerr << "toolgate log report: the log did not verify: " << TerminalSafe(ctx.integrity_text) << "\n";
    return kExitLogProblem;
  }
  return kExitLogOk;
}

int RunExport(const std::vector<std::string>& argv) {
  Args args(argv, Join(FilterFlags(), {"--format", "--out"}), {});
  if (!args.ok()) return Usage(args.error());
  const std::string format = args.value("--format").value_or("");
  if (format != "ocsf" && format != "otel") return Usage("export needs --format ocsf or --format otel");
  std::string err;
  auto filter = FilterFromArgs(args, &err);
  if (!filter) return Usage(err);
  auto reader = OpenReader(args.positional(), "export");
  if (!reader) return kExitLogNoInput;
  std::string buffer;
  const auto out_path = args.value("--out");
  std::uint64_t n = 0;
  reader->ForEach(
      [&](const json& rec, std::string_view, const audit::RecordLocation&) {
        if (!filter->Matches(rec)) return true;
        json e = format == "ocsf" ? audit::ToOcsf(rec)
                                  : audit::OtelExportRequest(audit::Str(rec, "host"),
                                                             json::array({audit::ToOtelLogRecord(rec)}));
        if (e.is_null()) return true;
        buffer += e.dump(-1, ' ', false, json::error_handler_t::replace);
        buffer += '\n';
        ++n;
        if (!out_path && buffer.size() > (1u << 20)) {
          std::cout << buffer;
          buffer.clear();
        }
        return true;
      },
      [&](std::string_view raw) { return filter->MatchesRaw(raw); });
  PrintWarnings(*reader, "export");
  if (out_path) {
    if (!WriteOutputFile(*out_path, buffer, &err)) {
      std::cerr << "toolgate log export: cannot write " << err << "\n";
      return kExitFailure;
    }
  } else {
    std::cout << buffer;
  }
  std::cerr << "toolgate log export: " << n << " " << format << " record(s)\n";
  return kExitLogOk;
}

int RunKeygen(const std::vector<std::string>& argv) {
  Args args(argv, {"--out", "--log-dir"}, {});
  if (!args.ok() || !args.positional().empty()) return Usage(args.ok() ? "unexpected argument" : args.error());
  const auto prefix = args.value("--out");
  if (!prefix) return Usage("keygen needs --out PREFIX");
  const std::string priv = *prefix + ".key";
  const std::string pub = *prefix + ".pub";
  if (auto e = GenerateSigningKeyPair(priv, pub, args.value("--log-dir").value_or(""))) {
    std::cerr << "toolgate log keygen: " << e->location << ": " << e->message << "\n";
    return kExitFailure;
  }
  std::cout << "private key: " << priv << " (keep it outside the log directory; give it to the writer only)\n"
            << "public key:  " << pub << " (give it to whoever verifies)\n";
  return kExitLogOk;
}

}  // namespace

std::vector<std::string> FilterFlags() {
  return {"--agent", "--session", "--tool", "--rule", "--verdict", "--since", "--until", "--text", "--mode"};
}

std::optional<audit::RecordFilter> FilterFromArgs(const Args& args, std::string* error) {
  audit::RecordFilter f;
  f.agent = args.value("--agent").value_or("");
  f.session = args.value("--session").value_or("");
  f.tool = args.value("--tool").value_or("");
  f.rule = args.value("--rule").value_or("");
  f.text = args.value("--text").value_or("");
  f.mode = args.value("--mode").value_or("");
  if (!f.mode.empty() && f.mode != "learn" && f.mode != "enforce") {
    *error = "--mode takes learn or enforce, not '" + f.mode + "'";
    return std::nullopt;
  }
  if (auto v = args.value("--verdict")) {
    std::size_t start = 0;
    while (start <= v->size()) {
      const std::size_t comma = v->find(',', start);
      const std::string part = v->substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if (part != "allow" && part != "ask" && part != "deny") {
        *error = "--verdict takes allow, ask, deny (comma separated), not '" + part + "'";
        return std::nullopt;
      }
      f.verdicts.push_back(part);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  const std::int64_t now = NowNs();
  for (const char* flag : {"--since", "--until"}) {
    if (auto v = args.value(flag)) {
      auto t = audit::ParseTimeBound(*v, now);
      if (!t) {
        *error = std::string(flag) + " takes an RFC 3339 time, a date, or an age like 15m, 2h, 7d; not '" + *v + "'";
        return std::nullopt;
      }
      (std::string(flag) == "--since" ? f.since_ns : f.until_ns) = *t;
    }
  }
  return f;
}

std::string TerminalSafe(std::string_view text, std::size_t max_bytes) {
  const std::string clean = SanitizeUtf8(text);
  std::string out;
  out.reserve(clean.size());
  for (std::size_t i = 0; i < clean.size();) {
    const unsigned char c = static_cast<unsigned char>(clean[i]);
    std::size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : 4;
    len = std::min(len, clean.size() - i);
    if (max_bytes > 0 && out.size() + len > max_bytes) {
      out += "…";
      break;
    }
    const std::string_view ch(clean.data() + i, len);
    bool bad = c < 0x20 || c == 0x7f;
    if (len == 2 && c == 0xC2 && static_cast<unsigned char>(ch[1]) < 0xA0) bad = true;  // C1 controls
    // U+200E/F, U+202A..U+202E, U+2066..U+2069: direction marks and overrides.
    if (len == 3 && c == 0xE2 && static_cast<unsigned char>(ch[1]) == 0x80 &&
        ((static_cast<unsigned char>(ch[2]) >= 0xAA && static_cast<unsigned char>(ch[2]) <= 0xAE) ||
         static_cast<unsigned char>(ch[2]) == 0x8E || static_cast<unsigned char>(ch[2]) == 0x8F)) {
      bad = true;
    }
    if (len == 3 && c == 0xE2 && static_cast<unsigned char>(ch[1]) == 0x81 &&
        static_cast<unsigned char>(ch[2]) >= 0xA6 && static_cast<unsigned char>(ch[2]) <= 0xA9) {
      bad = true;
    }
    out += bad ? std::string("?") : std::string(ch);
    i += len;
  }
  return out;
}

void RecordDecisionOrDeny(const std::string& log_path, const std::string& key_path, std::string_view input,
                          const std::optional<std::string>& agent, const Policy& policy, Decision* decision) {
  AuditLogOptions o;
  o.path = log_path;
  o.signing_key_path = key_path;
  PeerInfo peer = PeerInfo::CurrentProcess("cli");
  peer.pid = static_cast<std::int64_t>(::getppid());  // the hook or shell that asked
  std::optional<Error> failure;
  {
    auto log = AuditLog::Open(o);
    if (!log) {
      failure = log.error();
    } else {
      Result<ToolCall> call =
          ParseToolCall(input, {policy.settings().max_input_bytes, policy.settings().max_json_depth});
      Result<AppendReceipt> r = Error{};
      if (call) {
        if (agent) call->agent_id = *agent;
        r = (*log)->Append(*call, *decision, peer);
      } else {
        r = (*log)->AppendUnparsed(input, *decision, peer);
      }
      if (!r) failure = r.error();
      if (auto e = (*log)->Close(); e && !failure) failure = e;
    }
  }
  if (!failure) return;
  // Fail closed: what cannot be logged is not allowed.
  std::cerr << "toolgate check: audit log " << log_path << ": " << failure->message
            << (failure->location.empty() ? "" : " (" + failure->location + ")") << "; denying\n";
  LeaveLearnMode(decision);
  decision->verdict = Verdict::kDeny;
  decision->error = Error{ErrorCode::kInternal, "the decision could not be written to the audit log: " + failure->message,
                          log_path};
  Finding f;
  f.verdict = Verdict::kDeny;
  f.subject = Subject::kCall;
  f.note = "the audit log is unavailable, so nothing is allowed";
  decision->findings.push_back(std::move(f));
}

int RunLog(const std::vector<std::string>& argv) {
  if (argv.empty() || argv[0] == "--help" || argv[0] == "-h" || argv[0] == "help") {
    std::cout << kLogUsage;
    return argv.empty() ? kExitUsage : 0;
  }
  const std::vector<std::string> rest(argv.begin() + 1, argv.end());
  const std::string& sub = argv[0];
  if (sub == "verify") return RunVerify(rest);
  if (sub == "query") return RunQuery(rest);
  if (sub == "stats") return RunStats(rest);
  if (sub == "report") return RunReport(rest);
  if (sub == "export") return RunExport(rest);
  if (sub == "keygen") return RunKeygen(rest);
  if (sub == "bench") return RunLogBench(rest);
  return Usage("unknown command '" + sub + "'");
}

}  // namespace toolgate::cli
