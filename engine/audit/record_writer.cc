#include "audit/record_writer.h"

#include <array>
#include <charconv>
#include <cstdint>
#include <vector>

#include "audit/record.h"
#include "util/sha256.h"

namespace toolgate::audit {
namespace {

using nlohmann::json;

// 0: copied as is; 1: escaped (control characters, '"', '\\'); 2: starts a
// multi-byte sequence that must be valid UTF-8.
constexpr std::array<std::uint8_t, 256> kByteClass = [] {
  std::array<std::uint8_t, 256> t{};
  for (int c = 0; c < 0x20; ++c) t[static_cast<std::size_t>(c)] = 1;
  t['"'] = 1;
  t['\\'] = 1;
  for (int c = 0x80; c < 0x100; ++c) t[static_cast<std::size_t>(c)] = 2;
  return t;
}();

// Length of the valid UTF-8 sequence at p (p < end, *p >= 0x80), or 0. The
// same rules as util/utf8 and nlohmann's decoder: no overlong forms, no
// surrogates, nothing past U+10FFFF.
std::size_t SequenceLength(const unsigned char* p, const unsigned char* end) {
  const unsigned char c = *p;
  std::size_t n = 0;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (static_cast<std::size_t>(end - p) < n) return 0;
  if (p[1] < lo || p[1] > hi) return 0;
  for (std::size_t k = 2; k < n; ++k) {
    if (p[k] < 0x80 || p[k] > 0xBF) return 0;
  }
  return n;
}

template <class Int>
void AppendInt(std::string* out, Int v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, r.ptr);
}

// Writes the record members; ok turns false at the first string that is not
// valid UTF-8. scan, when set, receives every string written (the members
// RedactJson would scan).
class Writer {
 public:
  explicit Writer(std::string* out) : out_(*out) {}

  void Lit(std::string_view s) { out_.append(s); }
  void Str(std::string_view s) {
    if (!AppendJsonString(&out_, s)) ok_ = false;
  }
  // A string inside a member that RedactJson scans.
  void Scanned(std::string_view s) {
    if (scan_ != nullptr) scan_->String(s);
    Str(s);
  }
  template <class Int>
  void Num(Int v) {
    AppendInt(&out_, v);
  }
  void ScannedArray(const std::vector<std::string>& values) {
    out_ += '[';
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (i > 0) out_ += ',';
      Scanned(values[i]);
    }
    out_ += ']';
  }

  void set_scan(RedactionScan* scan) { scan_ = scan; }
  bool ok() const { return ok_; }
  std::string& out() { return out_; }

 private:
  std::string& out_;
  RedactionScan* scan_ = nullptr;
  bool ok_ = true;
};

// As ToJson(const Effects&) (engine/effects/effects_json.cc), keys sorted.
void WriteEffects(Writer& w, const Effects& e) {
  w.Lit("{\"bytes_written\":");
  w.Num(e.bytes_written);
  w.Lit(",\"emails\":");
  w.ScannedArray(e.emails);
  w.Lit(",\"execs\":[");
  for (std::size_t i = 0; i < e.execs.size(); ++i) {
    const ExecEffect& x = e.execs[i];
    w.Lit(i > 0 ? ",{\"argv\":" : "{\"argv\":");
    w.ScannedArray(x.argv);
    w.Lit(",\"program\":");
    w.Scanned(x.program);
    w.Lit(",\"resolved\":");
    w.Scanned(x.resolved);
    w.Lit(",\"source\":");
    w.Scanned(x.source);
    w.Lit("}");
  }
  w.Lit("],\"hosts\":[");
  for (std::size_t i = 0; i < e.hosts.size(); ++i) {
    const HostEffect& h = e.hosts[i];
    w.Lit(i > 0 ? ",{\"host\":" : "{\"host\":");
    w.Scanned(h.host);
    w.Lit(",\"port\":");
    w.Num(h.port);
    w.Lit(",\"scheme\":");
    w.Scanned(h.scheme);
    w.Lit(",\"source\":");
    w.Scanned(h.source);
    w.Lit(",\"url\":");
    w.Scanned(h.url);
    w.Lit("}");
  }
  w.Lit("],\"paths\":[");
  for (std::size_t i = 0; i < e.paths.size(); ++i) {
    const PathEffect& p = e.paths[i];
    w.Lit(i > 0 ? ",{\"access\":" : "{\"access\":");
    w.Scanned(PathAccessName(p.access));
    w.Lit(",\"path\":");
    w.Scanned(p.path);
    w.Lit(",\"raw\":");
    w.Scanned(p.raw);
    w.Lit(",\"source\":");
    w.Scanned(p.source);
    w.Lit("}");
  }
  w.Lit("],\"unknowns\":[");
  for (std::size_t i = 0; i < e.unknowns.size(); ++i) {
    const UnknownEffect& u = e.unknowns[i];
    w.Lit(i > 0 ? ",{\"detail\":" : "{\"detail\":");
    w.Scanned(u.detail);
    w.Lit(",\"what\":");
    w.Scanned(u.what);
    w.Lit("}");
  }
  w.Lit("],\"urls\":");
  w.ScannedArray(e.urls);
  w.Lit("}");
}

// As the "reasons" of ToJson(const Decision&, false) (engine/decision/decision.cc).
void WriteReasons(Writer& w, const std::vector<const Finding*>& reasons) {
  w.Lit("[");
  for (std::size_t i = 0; i < reasons.size(); ++i) {
    const Finding& f = *reasons[i];
    w.Lit(i > 0 ? ",{\"grant\":" : "{\"grant\":");
    if (f.grant != nullptr) {
      w.Lit("{\"file\":");
      w.Scanned(f.grant->file);
      w.Lit(",\"id\":");
      w.Scanned(f.grant->id);
      w.Lit(",\"json_path\":");
      w.Scanned(f.grant->json_path);
      w.Lit(",\"pattern\":");
      w.Scanned(f.grant->pattern);
      w.Lit(",\"profile\":");
      w.Scanned(f.grant->profile);
      w.Lit("}");
    } else {
      w.Lit("null");
    }
    if (!f.note.empty()) {
      w.Lit(",\"note\":");
      w.Scanned(f.note);
    }
    if (f.rule != nullptr) {
      w.Lit(",\"rule\":{\"file\":");
      w.Scanned(f.rule->file);
      w.Lit(",\"id\":");
      w.Scanned(f.rule->id);
      w.Lit(",\"line\":");
      w.Num(f.rule->line);
      w.Lit(",\"pack\":");
      w.Scanned(f.rule->pack);
      w.Lit(",\"verdict_line\":");
      w.Num(f.line > 0 ? f.line : f.rule->line);
      w.Lit("}");
    }
    w.Lit(",\"subject\":");
    w.Scanned(SubjectName(f.subject));
    w.Lit(",\"target\":");
    w.Scanned(f.target);
    w.Lit(",\"verdict\":");
    w.Scanned(VerdictName(f.verdict));
    w.Lit("}");
  }
  w.Lit("]");
}

bool AppendCanonicalValue(std::string* out, const json& value, RedactionScan* scan) {
  switch (value.type()) {
    case json::value_t::null:
      out->append("null");
      return true;
    case json::value_t::boolean:
      out->append(value.get<bool>() ? "true" : "false");
      return true;
    case json::value_t::number_integer:
      AppendInt(out, value.get<std::int64_t>());
      return true;
    case json::value_t::number_unsigned:
      AppendInt(out, value.get<std::uint64_t>());
      return true;
    case json::value_t::number_float:
      out->append(value.dump());  // nlohmann's own float formatting; rare in tool input
      return true;
    case json::value_t::string: {
      const std::string& s = value.get_ref<const std::string&>();
      if (scan != nullptr) scan->String(s);
      return AppendJsonString(out, s);
    }
    case json::value_t::array: {
      out->push_back('[');
      bool first = true;
      for (const json& v : value) {
        if (!first) out->push_back(',');
        first = false;
        if (!AppendCanonicalValue(out, v, scan)) return false;
      }
      out->push_back(']');
      return true;
    }
    case json::value_t::object: {
      out->push_back('{');
      bool first = true;
      for (auto it = value.begin(); it != value.end(); ++it) {  // std::map: sorted
        if (!first) out->push_back(',');
        first = false;
        if (scan != nullptr) scan->Key(it.key());
        if (!AppendJsonString(out, it.key())) return false;
        out->push_back(':');
        if (!AppendCanonicalValue(out, it.value(), scan)) return false;
      }
      out->push_back('}');
      return true;
    }
    case json::value_t::binary:
    case json::value_t::discarded:
      return false;
  }
  return false;
}

}  // namespace

bool AppendJsonString(std::string* out, std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* const end = p + s.size();
  const auto* run = p;
  out->push_back('"');
  while (p < end) {
    const std::uint8_t k = kByteClass[*p];
    if (k == 0) {
      ++p;
      continue;
    }
    if (k == 2) {
      const std::size_t n = SequenceLength(p, end);
      if (n == 0) return false;
      p += n;
      continue;
    }
    out->append(reinterpret_cast<const char*>(run), static_cast<std::size_t>(p - run));
    const unsigned char c = *p;
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\b': out->append("\\b"); break;
      case '\t': out->append("\\t"); break;
      case '\n': out->append("\\n"); break;
      case '\f': out->append("\\f"); break;
      case '\r': out->append("\\r"); break;
      default: {
        static constexpr char kHex[] = "0123456789abcdef";  // nlohmann writes \u%04x: lower case
        const char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xf]};
        out->append(esc, sizeof esc);
      }
    }
    run = ++p;
  }
  out->append(reinterpret_cast<const char*>(run), static_cast<std::size_t>(p - run));
  out->push_back('"');
  return true;
}

bool AppendCanonicalJson(std::string* out, const json& value, RedactionScan* scan) {
  return AppendCanonicalValue(out, value, scan);
}

bool AppendDecisionMembers(std::string* out, const ToolCall& call, const Decision& decision, const PeerInfo& peer,
                           const SecretRedactor& redactor, const std::string& host) {
  // The reference path runs RedactJson once per member, and the record is
  // taken here only if each of those would find nothing. With the built-in
  // detectors one pass over all the members' text decides that (a member
  // whose own text matches makes the whole text match; see scans_combine);
  // the pass runs once, at the end. With extra patterns each member gets its
  // own scan, exactly as RedactJson scans it.
  thread_local RedactionScan scan;
  const bool redacting = redactor.enabled();
  const bool one_pass = redactor.scans_combine();
  RedactionScan* const sc = redacting ? &scan : nullptr;
  const auto clean = [&] {
    if (!redacting) return true;
    if (one_pass) return !scan.suspicious;  // the text is matched once, at the end
    return redactor.ScanIsClean(scan);
  };
  const auto next_member = [&] {
    if (!one_pass) scan.Clear();
  };
  scan.Clear();

  Writer w(out);
  // agent
  w.Lit("\"agent\":{");
  if (peer.gid) {
    w.Lit("\"gid\":");
    w.Num(*peer.gid);
    w.Lit(",");
  }
  w.Lit("\"id\":");
  w.Str(decision.agent_id.empty() ? call.agent_id : decision.agent_id);
  if (peer.pid) {
    w.Lit(",\"pid\":");
    w.Num(*peer.pid);
  }
  w.Lit(",\"profile\":");
  w.Str(decision.profile);
  if (peer.uid) {
    w.Lit(",\"uid\":");
    w.Num(*peer.uid);
  }
  if (!peer.transport.empty()) {
    w.Lit(",\"via\":");
    w.Str(peer.transport);
  }
  // call (tool_input is redacted in the reference path: scanned here)
  w.Lit("},\"call\":{\"agent_id\":");
  w.Str(call.agent_id);
  w.Lit(",\"call_id\":");
  w.Str(call.call_id);
  w.Lit(",\"client\":");
  w.Str(ClientName(call.client));
  if (!call.client_tool_name.empty()) {  // keys stay sorted, as CanonicalJson writes them
    w.Lit(",\"client_tool_name\":");
    w.Str(call.client_tool_name);
  }
  w.Lit(",\"cwd\":");
  w.Str(call.cwd);
  w.Lit(",\"hook_event\":");
  w.Str(call.hook_event);
  w.Lit(",\"permission_mode\":");
  w.Str(call.permission_mode);
  w.Lit(",\"phase\":");
  w.Str(call.phase);
  w.Lit(",\"session_id\":");
  w.Str(call.session_id);
  w.Lit(",\"timestamp_ms\":");
  w.Num(call.timestamp_ms);
  w.Lit(",\"tool_input\":");
  if (!w.ok()) return false;
  const std::size_t input_at = out->size();
  next_member();
  if (!AppendCanonicalValue(out, call.tool_input, sc) || !clean()) return false;
  // The digest of the input before redaction; with nothing to redact, the
  // bytes just written are its canonical JSON.
  const std::string input_sha256 = Sha256Hex(std::string_view(*out).substr(input_at));
  w.Lit(",\"tool_name\":");
  w.Str(call.tool_name);

  // deciders and rules: the grant and Lua rule ids, once each, in reason order.
  const std::vector<const Finding*> reasons = decision.Reasons();
  std::vector<const std::string*> ids;
  ids.reserve(reasons.size());
  w.Lit("},\"deciders\":[");
  for (const Finding* f : reasons) {
    const std::string* id = f->grant != nullptr ? &f->grant->id : f->rule != nullptr ? &f->rule->id : nullptr;
    if (id == nullptr) continue;
    bool seen = false;
    for (const std::string* s : ids) seen |= *s == *id;
    if (seen) continue;
    w.Lit(ids.empty() ? "{\"file\":" : ",{\"file\":");
    ids.push_back(id);
    if (f->grant != nullptr) {
      w.Str(f->grant->file);
      w.Lit(",\"id\":");
      w.Str(*id);
      w.Lit(",\"json_path\":");
      w.Str(f->grant->json_path);
      w.Lit(",\"kind\":\"grant\"}");
    } else {
      w.Str(f->rule->file);
      w.Lit(",\"id\":");
      w.Str(*id);
      w.Lit(",\"kind\":\"rule\",\"line\":");
      w.Num(f->line > 0 ? f->line : f->rule->line);
      w.Lit("}");
    }
  }
  w.Lit("],\"effects\":");
  w.set_scan(sc);
  next_member();
  WriteEffects(w, decision.effects);
  if (!w.ok() || !clean()) return false;
  if (decision.policy_verdict) {
    w.Lit(",\"enforced\":");
    w.Str(VerdictName(decision.verdict));
  }
  if (decision.error) {
    w.Lit(",\"error\":{\"code\":");
    next_member();
    w.Scanned(ErrorCodeName(decision.error->code));
    w.Lit(",\"location\":");
    w.Scanned(decision.error->location);
    w.Lit(",\"message\":");
    w.Scanned(decision.error->message);
    w.Lit("}");
    if (!w.ok() || !clean()) return false;
  }
  w.set_scan(nullptr);
  w.Lit(",\"host\":");
  w.Str(host);
  w.Lit(",\"input_sha256\":\"");
  w.Lit(input_sha256);
  w.Lit("\",\"latency_ns\":");
  w.Num(static_cast<std::int64_t>(decision.latency.count()));
  w.Lit(",\"message\":");
  w.set_scan(sc);
  next_member();
  w.Scanned(decision.MessageForModel());
  if (!w.ok() || !clean()) return false;
  if (decision.policy_verdict) w.Lit(",\"mode\":\"learn\"");
  w.Lit(",\"policy_digest\":");
  w.set_scan(nullptr);
  w.Str(decision.policy_digest);
  w.Lit(",\"reasons\":");
  w.set_scan(sc);
  next_member();
  WriteReasons(w, reasons);
  if (!w.ok() || !clean()) return false;
  w.set_scan(nullptr);
  w.Lit(",\"rules\":[");
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i > 0) w.Lit(",");
    w.Str(*ids[i]);
  }
  w.Lit("],\"v\":");
  w.Num(kRecordVersion);
  w.Lit(",\"verdict\":");
  w.Str(VerdictName(decision.PolicyVerdict()));
  if (!w.ok()) return false;
  return !redacting || !one_pass || redactor.ScanIsClean(scan);
}

}  // namespace toolgate::audit
