#include "grants/compiled_profile_impl.h"

namespace toolgate {

namespace {

constexpr GrantListInfo kListInfo[kGrantListCount] = {
    {GrantList::kToolsAllow, "tools", "allow", Verdict::kAllow},
    {GrantList::kToolsAsk, "tools", "ask", Verdict::kAsk},
    {GrantList::kToolsDeny, "tools", "deny", Verdict::kDeny},
    {GrantList::kFsRead, "fs", "read", Verdict::kAllow},
    {GrantList::kFsWrite, "fs", "write", Verdict::kAllow},
    {GrantList::kFsAsk, "fs", "ask", Verdict::kAsk},
    {GrantList::kFsDeny, "fs", "deny", Verdict::kDeny},
    {GrantList::kNetworkAllow, "network", "allow", Verdict::kAllow},
    {GrantList::kNetworkAsk, "network", "ask", Verdict::kAsk},
    {GrantList::kNetworkDeny, "network", "deny", Verdict::kDeny},
    {GrantList::kExecAllow, "exec", "allow", Verdict::kAllow},
    {GrantList::kExecAsk, "exec", "ask", Verdict::kAsk},
    {GrantList::kExecDeny, "exec", "deny", Verdict::kDeny},
};

// Picks the most severe candidate; among equals the earliest slot (first declared).
class Best {
 public:
  void Offer(int slot, Verdict verdict) {
    if (slot_ < 0 || verdict > verdict_ || (verdict == verdict_ && slot < slot_)) {
      slot_ = slot;
      verdict_ = verdict;
    }
  }
  bool found() const { return slot_ >= 0; }
  int slot() const { return slot_; }
  Verdict verdict() const { return verdict_; }

 private:
  int slot_ = -1;
  Verdict verdict_ = Verdict::kAllow;
};

}  // namespace

const GrantListInfo& InfoFor(GrantList list) { return kListInfo[static_cast<int>(list)]; }

CompiledProfileImpl::CompiledProfileImpl(std::string name, std::vector<std::string> trusted_bin_dirs)
    : name_(std::move(name)), trusted_bin_dirs_(std::move(trusted_bin_dirs)) {
  unknown_ = GrantInfo{name_ + ".unknown_effects", name_, "", "/profiles/" + name_, "", Verdict::kDeny};
  fail_closed_ = GrantInfo{name_ + ".fail_closed", name_, "", "/profiles/" + name_, "", Verdict::kDeny};
}

void CompiledProfileImpl::SetUnknownEffects(GrantInfo info) {
  fail_closed_.file = info.file;
  unknown_ = std::move(info);
}

int CompiledProfileImpl::AddEntry(GrantInfo info, GrantList list) {
  fail_closed_.file = info.file;
  grants_.push_back(std::move(info));
  entries_.push_back(Entry{&grants_.back(), list});
  return static_cast<int>(entries_.size()) - 1;
}

void CompiledProfileImpl::AddTool(GrantInfo info, const ToolPattern& pattern) {
  const Verdict v = info.verdict;
  tools_.Add(pattern, AddEntry(std::move(info), v == Verdict::kDeny  ? GrantList::kToolsDeny
                                                : v == Verdict::kAsk ? GrantList::kToolsAsk
                                                                     : GrantList::kToolsAllow));
}

void CompiledProfileImpl::AddPath(GrantInfo info, GrantList list, const PathScope& scope) {
  paths_.Add(scope, AddEntry(std::move(info), list));
}

void CompiledProfileImpl::AddHost(GrantInfo info, const HostPattern& pattern) {
  const Verdict v = info.verdict;
  hosts_.Add(pattern, AddEntry(std::move(info), v == Verdict::kDeny  ? GrantList::kNetworkDeny
                                                : v == Verdict::kAsk ? GrantList::kNetworkAsk
                                                                     : GrantList::kNetworkAllow));
}

void CompiledProfileImpl::AddExec(GrantInfo info, const ArgvPattern& pattern) {
  const Verdict v = info.verdict;
  execs_.Add(pattern, AddEntry(std::move(info), v == Verdict::kDeny  ? GrantList::kExecDeny
                                                : v == Verdict::kAsk ? GrantList::kExecAsk
                                                                     : GrantList::kExecAllow));
}

namespace {

// Claude Code's built-in tools and the other clients' names for the tools the
// effects extractor knows: nearly every call names one of these.
constexpr std::string_view kKnownToolNames[] = {
    "Bash", "Read", "Write", "Edit", "MultiEdit", "NotebookEdit", "NotebookRead", "Glob", "Grep", "LS",
    "WebFetch", "WebSearch", "Task", "TodoWrite", "TodoRead", "ExitPlanMode", "BashOutput", "KillShell",
    "bash", "shell", "Shell", "run_shell_command", "exec_command", "local_shell", "write_file", "read_file",
    "edit", "replace", "create", "view", "str_replace_editor", "str_replace_based_edit_tool", "glob", "grep",
    "list_directory", "web_fetch", "web_search", "google_web_search", "search_file_content",
};

}  // namespace

bool CompiledProfileImpl::Finish(std::string* error) {
  if (!(tools_.Compile(error) && paths_.Compile(error) && hosts_.Compile(error) && execs_.Compile(error))) {
    return false;
  }
  known_tools_.clear();
  for (const std::string_view name : kKnownToolNames) {
    const GrantMatch m = MatchTool(name);
    // A matcher error is never cached: the call path reports it itself.
    if (m.grant != &fail_closed_) known_tools_.emplace(std::string(name), m);
  }
  return true;
}

GrantMatch CompiledProfileImpl::CheckTool(std::string_view tool_name) const {
  if (const auto it = known_tools_.find(tool_name); it != known_tools_.end()) return it->second;
  return MatchTool(tool_name);
}

GrantMatch CompiledProfileImpl::MatchTool(std::string_view tool_name) const {
  thread_local std::vector<int> slots;
  if (tools_.Match(tool_name, &slots) == SetOutcome::kError) return FailClosed();
  Best best;
  for (const int s : slots) best.Offer(s, entries_[static_cast<std::size_t>(s)].grant->verdict);
  if (!best.found()) return GrantMatch{default_, nullptr};
  return GrantMatch{best.verdict(), entries_[static_cast<std::size_t>(best.slot())].grant};
}

GrantMatch CompiledProfileImpl::CheckPath(const PathEffect& path, std::string_view cwd) const {
  return MatchPath(path, PathScopeSet::Cwd(cwd));
}

void CompiledProfileImpl::CheckPaths(std::span<const PathEffect> paths, std::string_view cwd,
                                     GrantMatch* out) const {
  const PathScopeSet::Cwd prepared(cwd);
  for (const PathEffect& path : paths) *out++ = MatchPath(path, prepared);
}

GrantMatch CompiledProfileImpl::MatchPath(const PathEffect& path, const PathScopeSet::Cwd& cwd) const {
  // Scopes are written for normalized absolute paths; anything else could
  // dodge a deny scope, so it is refused rather than matched.
  if (!IsNormalizedAbsolutePath(path.path)) return FailClosed();
  thread_local std::vector<int> slots;
  if (paths_.Match(path.path, cwd, &slots) == SetOutcome::kError) return FailClosed();
  const bool write = path.access == PathAccess::kWrite;
  Best best;
  for (const int s : slots) {
    const Entry& e = entries_[static_cast<std::size_t>(s)];
    if (write && e.list == GrantList::kFsRead) continue;  // read grants never allow writing
    best.Offer(s, e.grant->verdict);
  }
  if (!best.found()) return GrantMatch{default_, nullptr};
  return GrantMatch{best.verdict(), entries_[static_cast<std::size_t>(best.slot())].grant};
}

GrantMatch CompiledProfileImpl::CheckExec(const ExecEffect& exec) const {
  thread_local std::vector<int> slots;
  if (execs_.Match(exec, trusted_bin_dirs_, &slots) == SetOutcome::kError) return FailClosed();
  Best best;
  for (const int s : slots) best.Offer(s, entries_[static_cast<std::size_t>(s)].grant->verdict);
  if (!best.found()) return GrantMatch{default_, nullptr};
  return GrantMatch{best.verdict(), entries_[static_cast<std::size_t>(best.slot())].grant};
}

GrantMatch CompiledProfileImpl::CheckHost(const HostEffect& host) const {
  thread_local std::vector<int> slots;
  bool well_formed = false;
  if (hosts_.Match(host.host, host.port, &slots, &well_formed) == SetOutcome::kError) return FailClosed();
  Best best;
  for (const int s : slots) {
    const GrantInfo* g = entries_[static_cast<std::size_t>(s)].grant;
    if (!well_formed && g->verdict == Verdict::kAllow) continue;  // a malformed host is never allowed by a grant
    best.Offer(s, g->verdict);
  }
  if (!best.found()) return GrantMatch{default_, nullptr};
  return GrantMatch{best.verdict(), entries_[static_cast<std::size_t>(best.slot())].grant};
}

GrantMatch CompiledProfileImpl::CheckUnknown(const UnknownEffect& /*unknown*/) const {
  return GrantMatch{unknown_.verdict, &unknown_};
}

}  // namespace toolgate
