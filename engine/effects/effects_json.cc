#include <string>
#include <string_view>

#include "toolgate/effects.h"

namespace toolgate {
namespace {

// Length of the valid UTF-8 sequence at text[i], or 0 when it is invalid
// (overlong forms, surrogates and values above U+10FFFF are invalid).
std::size_t ValidSequence(std::string_view text, std::size_t i) {
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  unsigned char lead = byte(i);
  if (lead < 0x80) return 1;
  std::size_t length;
  unsigned char min2 = 0x80;
  unsigned char max2 = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) min2 = 0xA0;
    if (lead == 0xED) max2 = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) min2 = 0x90;
    if (lead == 0xF4) max2 = 0x8F;
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  if (byte(i + 1) < min2 || byte(i + 1) > max2) return 0;
  for (std::size_t k = 2; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
  }
  return length;
}

// Effects carry text from hostile input; JSON consumers must never meet
// invalid UTF-8 (nlohmann's dump throws on it), so each bad byte becomes U+FFFD.
std::string ValidUtf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t length = ValidSequence(text, i);
    if (length == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(text.substr(i, length));
      i += length;
    }
  }
  return out;
}

nlohmann::json Strings(const std::vector<std::string>& values) {
  nlohmann::json out = nlohmann::json::array();
  for (const std::string& value : values) out.push_back(ValidUtf8(value));
  return out;
}

}  // namespace

const char* PathAccessName(PathAccess access) {
  switch (access) {
    case PathAccess::kRead:
      return "read";
    case PathAccess::kWrite:
      return "write";
  }
  return "unknown";
}

nlohmann::json ToJson(const Effects& effects) {
  nlohmann::json out = nlohmann::json::object();
  nlohmann::json execs = nlohmann::json::array();
  for (const ExecEffect& exec : effects.execs) {
    execs.push_back({{"program", ValidUtf8(exec.program)},
                     {"resolved", ValidUtf8(exec.resolved)},
                     {"argv", Strings(exec.argv)},
                     {"source", ValidUtf8(exec.source)}});
  }
  nlohmann::json paths = nlohmann::json::array();
  for (const PathEffect& path : effects.paths) {
    paths.push_back({{"path", ValidUtf8(path.path)},
                     {"raw", ValidUtf8(path.raw)},
                     {"access", PathAccessName(path.access)},
                     {"source", ValidUtf8(path.source)}});
  }
  nlohmann::json hosts = nlohmann::json::array();
  for (const HostEffect& host : effects.hosts) {
    hosts.push_back({{"host", ValidUtf8(host.host)},
                     {"port", host.port},
                     {"scheme", ValidUtf8(host.scheme)},
                     {"url", ValidUtf8(host.url)},
                     {"source", ValidUtf8(host.source)}});
  }
  nlohmann::json unknowns = nlohmann::json::array();
  for (const UnknownEffect& unknown : effects.unknowns) {
    unknowns.push_back({{"what", ValidUtf8(unknown.what)}, {"detail", ValidUtf8(unknown.detail)}});
  }
  out["execs"] = std::move(execs);
  out["paths"] = std::move(paths);
  out["hosts"] = std::move(hosts);
  out["urls"] = Strings(effects.urls);
  out["emails"] = Strings(effects.emails);
  out["bytes_written"] = effects.bytes_written;
  out["unknowns"] = std::move(unknowns);
  return out;
}

}  // namespace toolgate
