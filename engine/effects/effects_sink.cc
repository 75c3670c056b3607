#include "effects/effects_sink.h"

#include <utility>

namespace toolgate::effects {

std::string_view ShortenUtf8(std::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  std::size_t end = max_bytes;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return text.substr(0, end);
}

EffectsSink::EffectsSink(Effects& out, std::size_t work_budget) : out_(out), budget_(work_budget) {}

bool EffectsSink::FirstTime(std::string key) { return seen_.insert(std::move(key)).second; }

bool EffectsSink::Room(std::size_t size, std::string_view kind) {
  if (size < kMaxEffectsPerKind) return true;
  std::string key = "cap\x1f";
  key.append(kind);
  if (FirstTime(key)) {
    out_.unknowns.push_back({"too many effects", std::string(kind)});
  }
  return false;
}

void EffectsSink::AddExec(ExecEffect exec) {
  if (!Room(out_.execs.size(), "execs")) return;
  std::string key = "x\x1f" + exec.source + "\x1f" + exec.resolved;
  for (const std::string& arg : exec.argv) key.append("\x1f").append(arg);
  if (!FirstTime(std::move(key))) return;
  out_.execs.push_back(std::move(exec));
}

void EffectsSink::AddPath(std::string path, std::string_view raw, PathAccess access,
                          std::string_view source) {
  if (!Room(out_.paths.size(), "paths")) return;
  std::string key = (access == PathAccess::kRead ? "r\x1f" : "w\x1f") + path;
  if (!FirstTime(std::move(key))) return;
  PathEffect effect;
  effect.path = std::move(path);
  effect.raw = std::string(raw);
  effect.access = access;
  effect.source = std::string(source);
  out_.paths.push_back(std::move(effect));
}

void EffectsSink::AddHost(const ParsedUrl& host, std::string_view source) {
  if (host.non_ascii_host) AddUnknown("non-ASCII host", host.host);
  if (host.ambiguous) AddUnknown("ambiguous host", host.host);
  if (host.host.empty()) return;
  if (!Room(out_.hosts.size(), "hosts")) return;
  std::string key = "h\x1f" + host.host + "\x1f" + std::to_string(host.port) + "\x1f" + host.scheme;
  if (!FirstTime(std::move(key))) return;
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
  std::string key = "h\x1f" + url.host + "\x1f" + std::to_string(url.port) + "\x1f" + url.scheme;
  if (!FirstTime(std::move(key))) return;
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
  if (!FirstTime("u\x1f" + std::string(url_text))) return;
  out_.urls.emplace_back(url_text);
}

void EffectsSink::AddEmail(std::string_view email) {
  if (email.substr(0, 7) == "mailto:") email.remove_prefix(7);
  if (!Room(out_.emails.size(), "emails")) return;
  if (!FirstTime("e\x1f" + std::string(email))) return;
  out_.emails.emplace_back(email);
}

void EffectsSink::AddUnknown(std::string_view what, std::string_view detail) {
  detail = ShortenUtf8(detail, kMaxUnknownDetail);
  if (!FirstTime("?\x1f" + std::string(what) + "\x1f" + std::string(detail))) return;
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
