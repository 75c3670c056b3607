#include "effects/effects_sink.h"

#include <algorithm>
#include <functional>
#include <utility>

namespace toolgate::effects {

std::string_view ShortenUtf8(std::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  std::size_t end = max_bytes;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return text.substr(0, end);
}

EffectsSink::EffectsSink(Effects& out, std::size_t work_budget)
    : out_(out), budget_(work_budget), path_index_(0, PathIndexHash{&out.paths}, PathIndexEqual{&out.paths}) {}

std::size_t EffectsSink::PathIndexHash::operator()(std::size_t i) const {
  const PathEffect& e = (*paths)[i];
  const std::size_t h = std::hash<std::string_view>{}(e.path);
  return e.access == PathAccess::kWrite ? ~h : h;
}

bool EffectsSink::PathIndexEqual::operator()(std::size_t a, std::size_t b) const {
  const PathEffect& x = (*paths)[a];
  const PathEffect& y = (*paths)[b];
  return x.access == y.access && x.path == y.path;
}

bool EffectsSink::FirstTime(std::string key) { return seen_.insert(std::move(key)).second; }

template <class List, class Same, class KeyOf, class NewKey>
bool EffectsSink::Fresh(const List& list, bool& hashed, Same same, KeyOf key_of, NewKey new_key) {
  if (!hashed) {
    for (const auto& entry : list) {
      if (same(entry)) return false;
    }
    if (list.size() < kLinearDedupe) return true;
    for (const auto& entry : list) seen_.insert(key_of(entry));
    hashed = true;
  }
  return FirstTime(new_key());
}

namespace {

std::string ExecKey(const ExecEffect& e) {
  std::string key = "x\x1f" + e.source + "\x1f" + e.resolved;
  for (const std::string& arg : e.argv) key.append("\x1f").append(arg);
  return key;
}
std::string HostKey(std::string_view host, int port, std::string_view scheme) {
  std::string key = "h\x1f";
  key.append(host).append("\x1f").append(std::to_string(port)).append("\x1f").append(scheme);
  return key;
}
std::string UnknownKey(std::string_view what, std::string_view detail) {
  std::string key = "?\x1f";
  return key.append(what).append("\x1f").append(detail);
}

}  // namespace

bool EffectsSink::Room(std::size_t size, std::string_view kind) {
  if (size < kMaxEffectsPerKind) return true;
  std::string key = "cap\x1f";
  key.append(kind);
  if (FirstTime(key)) {
    out_.unknowns.push_back({"too many effects", std::string(kind)});
  }
  return false;
}

void EffectsSink::AddExec(ExecEffect&& exec) {
  if (!Room(out_.execs.size(), "execs")) return;
  const auto same = [&](const ExecEffect& e) {
    // The argv length first: it tells most programs apart without a string compare.
    return e.argv.size() == exec.argv.size() && e.source == exec.source && e.resolved == exec.resolved &&
           e.argv == exec.argv;
  };
  if (!Fresh(out_.execs, execs_hashed_, same, ExecKey, [&] { return ExecKey(exec); })) return;
  // As for paths: one allocation for a call's first few programs, not 1, 2, 4.
  if (out_.execs.capacity() == 0) out_.execs.reserve(4);
  out_.execs.push_back(std::move(exec));
}

void EffectsSink::AddPath(std::string path, std::string_view raw, PathAccess access,
                          std::string_view source) {
  if (!Room(out_.paths.size(), "paths")) return;
  // As Fresh, with path_index_ for seen_: short lists are scanned; from
  // kLinearDedupe entries on every entry's index is in path_index_, and a new
  // entry is added, then taken back if the set already had its equal.
  if (!paths_hashed_) {
    for (const PathEffect& e : out_.paths) {
      if (e.access == access && e.path == path) return;
    }
    if (out_.paths.size() >= kLinearDedupe) {
      path_index_.reserve(2 * out_.paths.size());
      for (std::size_t i = 0; i < out_.paths.size(); ++i) path_index_.insert(i);
      paths_hashed_ = true;
    }
  }
  PathEffect effect;
  effect.path = std::move(path);
  effect.raw = std::string(raw);
  effect.access = access;
  effect.source = std::string(source);
  // Calls that touch paths usually touch a few: one allocation, not 1, 2, 4.
  if (out_.paths.capacity() == 0) out_.paths.reserve(4);
  out_.paths.push_back(std::move(effect));
  if (paths_hashed_ && !path_index_.insert(out_.paths.size() - 1).second) out_.paths.pop_back();
}

void EffectsSink::AddPaths(std::span<std::string> paths, std::string_view raw, PathAccess access,
                           std::string_view source) {
  const std::size_t before = out_.paths.size();
  if (paths_hashed_ || before >= kLinearDedupe) {
    // The list is (or is about to be) hashed: AddPath keeps path_index_ up to date.
    for (std::string& path : paths) AddPath(std::move(path), raw, access, source);
    return;
  }
  // Below kLinearDedupe the list is never hashed here: the next AddPath
  // hashes it once it finds it long enough, as it would have.
  out_.paths.reserve(before + std::min(paths.size(), kMaxEffectsPerKind));
  for (std::string& path : paths) {
    if (!Room(out_.paths.size(), "paths")) return;
    // Distinct from the batch's earlier paths: only the first `before`
    // entries can be its equal.
    bool fresh = true;
    for (std::size_t i = 0; i < before && fresh; ++i) {
      const PathEffect& e = out_.paths[i];
      fresh = !(e.access == access && e.path == path);
    }
    if (!fresh) continue;
    // Appended to the new, empty strings: assign() goes through the general
    // _M_replace (overlap checks) and costs twice as much for these short texts.
    PathEffect& effect = out_.paths.emplace_back();
    effect.path = std::move(path);
    effect.raw.append(raw);
    effect.access = access;
    effect.source.append(source);
  }
}

bool EffectsSink::FreshHost(const ParsedUrl& host) {
  const auto same = [&](const HostEffect& e) {
    return e.port == host.port && e.host == host.host && e.scheme == host.scheme;
  };
  const auto key_of = [](const HostEffect& e) { return HostKey(e.host, e.port, e.scheme); };
  return Fresh(out_.hosts, hosts_hashed_, same, key_of, [&] { return HostKey(host.host, host.port, host.scheme); });
}

void EffectsSink::AddHost(const ParsedUrl& host, std::string_view source) {
  if (host.non_ascii_host) AddUnknown("non-ASCII host", host.host);
  if (host.ambiguous) AddUnknown("ambiguous host", host.host);
  if (host.host.empty()) return;
  if (!Room(out_.hosts.size(), "hosts")) return;
  if (!FreshHost(host)) return;
  HostEffect effect;
  effect.host = host.host;
  effect.port = host.port;
  effect.scheme = host.scheme;
  effect.source = std::string(source);
  out_.hosts.push_back(std::move(effect));
}

void EffectsSink::AddUrl(const ParsedUrl& url, std::string_view url_text, std::string_view source) {
  AddUrlText(url_text);
  if (url.scheme == "file") {
    if (!url.host.empty()) AddHost(url, source);
    if (!url.path.empty() && url.path.front() == '/') {
      std::string path = url.path.substr(0, url.path.find_first_of("?#"));
      AddPath(std::move(path), url_text, PathAccess::kRead, source);
    }
    return;
  }
  if (url.host.empty()) {
    AddUnknown("URL without host", url_text);
    return;
  }
  if (url.non_ascii_host) AddUnknown("non-ASCII host", url.host);
  if (url.ambiguous) AddUnknown("ambiguous host", url_text);
  if (!Room(out_.hosts.size(), "hosts")) return;
  if (!FreshHost(url)) return;
  HostEffect effect;
  effect.host = url.host;
  effect.port = url.port;
  effect.scheme = url.scheme;
  effect.url = std::string(url_text);
  effect.source = std::string(source);
  out_.hosts.push_back(std::move(effect));
}

void EffectsSink::AddUrlText(std::string_view url_text) {
  if (!Room(out_.urls.size(), "urls")) return;
  const auto same = [&](const std::string& u) { return u == url_text; };
  const auto key_of = [](std::string_view u) { return "u\x1f" + std::string(u); };
  if (!Fresh(out_.urls, urls_hashed_, same, key_of, [&] { return key_of(url_text); })) return;
  out_.urls.emplace_back(url_text);
}

void EffectsSink::AddEmail(std::string_view email) {
  if (email.substr(0, 7) == "mailto:") email.remove_prefix(7);
  if (!Room(out_.emails.size(), "emails")) return;
  const auto same = [&](const std::string& e) { return e == email; };
  const auto key_of = [](std::string_view e) { return "e\x1f" + std::string(e); };
  if (!Fresh(out_.emails, emails_hashed_, same, key_of, [&] { return key_of(email); })) return;
  out_.emails.emplace_back(email);
}

void EffectsSink::AddUnknown(std::string_view what, std::string_view detail) {
  detail = ShortenUtf8(detail, kMaxUnknownDetail);
  const auto same = [&](const UnknownEffect& u) { return u.what == what && u.detail == detail; };
  const auto key_of = [](const UnknownEffect& u) { return UnknownKey(u.what, u.detail); };
  if (!Fresh(out_.unknowns, unknowns_hashed_, same, key_of, [&] { return UnknownKey(what, detail); })) return;
  if (out_.unknowns.size() >= kMaxEffectsPerKind) return;  // one is enough to deny
  out_.unknowns.push_back({std::string(what), std::string(detail)});
}

bool EffectsSink::Charge(std::size_t units) {
  if (exhausted_) return false;
  if (units <= budget_) {
    budget_ -= units;
    return true;
  }
  exhausted_ = true;
  budget_ = 0;
  out_.unknowns.push_back({"analysis budget exceeded", ""});
  return false;
}

}  // namespace toolgate::effects
