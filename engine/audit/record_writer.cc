#include "audit/record_writer.h"

#include <array>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <vector>

#include "audit/decision_record.h"
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

std::uint64_t Load8(const unsigned char* p) {
  std::uint64_t w;
  std::memcpy(&w, p, sizeof w);
  return w;
}

// True when any of the eight bytes in w is not copied as is (kByteClass
// is not 0): a control character, '"', '\\' or a byte of a multi-byte
// sequence. The tests are exact for "some byte": the classic has-zero-byte
// and has-less-than-n-byte tricks (n <= 128) with no false negatives.
bool NeedsLook(std::uint64_t w) {
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
  constexpr std::uint64_t kHigh = 0x8080808080808080ULL;
  const auto has_zero = [&](std::uint64_t v) { return ((v - kOnes) & ~v & kHigh) != 0; };
  const bool control = ((w - 0x20 * kOnes) & ~w & kHigh) != 0;
  return (w & kHigh) != 0 || control || has_zero(w ^ ('"' * kOnes)) || has_zero(w ^ ('\\' * kOnes));
}

template <class Int>
void AppendInt(std::string* out, Int v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, r.ptr);
}

// "~" and "/" escaped as a JSON pointer token, as RedactJson names keys.
void AppendPointerToken(std::string* out, std::string_view token) {
  for (char c : token) {
    if (c == '~') {
      out->append("~0");
    } else if (c == '/') {
      out->append("~1");
    } else {
      out->push_back(c);
    }
  }
}

// The walk RedactJson makes over a member whose prefilter scan is not clean,
// made while writing: every string goes through RedactText, a non-empty
// string under a key named like a secret and the array element after a
// secret argv flag are replaced whole, and each redaction is recorded with
// the JSON pointer of its value in the record.
struct Walk {
  const SecretRedactor& redactor;
  std::vector<Redaction>& found;
  std::string pointer;  // of the value being written
};

// Writes the record members; ok turns false at the first string that is not
// valid UTF-8. scan, when set, receives every string written (the members
// RedactJson would scan); walk, when set, redacts them instead.
class Writer {
 public:
  explicit Writer(std::string* out) : out_(*out) {}

  void Lit(std::string_view s) { out_.append(s); }
  void Str(std::string_view s) {
    if (!AppendJsonString(&out_, s)) ok_ = false;
  }
  // A string inside a member that RedactJson scans (or walks).
  void Scanned(std::string_view s) {
    if (walk_ != nullptr) [[unlikely]] return Redacted(s);
    if (scan_ != nullptr) scan_->String(s);
    Str(s);
  }
  // The string member named key of an object inside a scanned member.
  void Field(std::string_view key, std::string_view s) {
    if (walk_ != nullptr) [[unlikely]] return WalkField(key, s);
    if (scan_ != nullptr) scan_->String(s);
    Str(s);
  }
  template <class Int>
  void Num(Int v) {
    AppendInt(&out_, v);
  }
  void ScannedArray(const std::vector<std::string>& values) {
    if (walk_ != nullptr) [[unlikely]] return WalkArray(values);
    out_ += '[';
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (i > 0) out_ += ',';
      Scanned(values[i]);
    }
    out_ += ']';
  }

  // The JSON pointer of what the walk writes next; both return the length to
  // restore with Leave. Without a walk they cost nothing.
  std::size_t Enter(std::string_view key) {
    if (walk_ == nullptr) return 0;
    const std::size_t at = walk_->pointer.size();
    walk_->pointer.push_back('/');
    AppendPointerToken(&walk_->pointer, key);
    return at;
  }
  std::size_t EnterIndex(std::size_t i) {
    if (walk_ == nullptr) return 0;
    const std::size_t at = walk_->pointer.size();
    walk_->pointer.push_back('/');
    AppendInt(&walk_->pointer, i);
    return at;
  }
  void Leave(std::size_t at) {
    if (walk_ != nullptr) walk_->pointer.resize(at);
  }

  void set_scan(RedactionScan* scan) { scan_ = scan; }
  void set_walk(Walk* walk) { walk_ = walk; }
  bool ok() const { return ok_; }
  std::string& out() { return out_; }

 private:
  // The walk's side, out of the clean records' way.
  [[gnu::noinline]] void WalkField(std::string_view key, std::string_view s) {
    const std::size_t at = Enter(key);
    if (walk_->redactor.secret_key_names() && !s.empty() && walk_->redactor.IsSecretKey(key)) {
      Replaced("secret_field");
    } else {
      Redacted(s);
    }
    Leave(at);
  }
  [[gnu::noinline]] void WalkArray(const std::vector<std::string>& values) {
    out_ += '[';
    bool next_is_secret = false;
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (i > 0) out_ += ',';
      const std::size_t at = EnterIndex(i);
      if (next_is_secret && walk_->redactor.secret_key_names()) {
        Replaced("secret_flag");
        next_is_secret = false;
      } else {
        next_is_secret = walk_->redactor.IsSecretFlag(values[i]);
        Redacted(values[i]);
      }
      Leave(at);
    }
    out_ += ']';
  }
  [[gnu::noinline]] void Redacted(std::string_view s) {
    std::string text(s);
    std::vector<std::string> kinds;
    if (!walk_->redactor.RedactText(&text, &kinds)) return Str(s);
    for (std::string& k : kinds) walk_->found.push_back(Redaction{std::move(k), walk_->pointer});
    Str(text);
  }
  [[gnu::noinline]] void Replaced(const char* kind) {
    out_.append("\"[REDACTED:").append(kind).append("]\"");
    walk_->found.push_back(Redaction{kind, walk_->pointer});
  }

  std::string& out_;
  RedactionScan* scan_ = nullptr;
  Walk* walk_ = nullptr;
  bool ok_ = true;
};

// As ToJson(const Effects&) (engine/effects/effects_json.cc), keys sorted.
void WriteEffects(Writer& w, const Effects& e) {
  w.Lit("{\"bytes_written\":");
  w.Num(e.bytes_written);
  w.Lit(",\"emails\":");
  std::size_t at = w.Enter("emails");
  w.ScannedArray(e.emails);
  w.Leave(at);
  w.Lit(",\"execs\":[");
  at = w.Enter("execs");
  for (std::size_t i = 0; i < e.execs.size(); ++i) {
    const ExecEffect& x = e.execs[i];
    const std::size_t item = w.EnterIndex(i);
    w.Lit(i > 0 ? ",{\"argv\":" : "{\"argv\":");
    const std::size_t argv = w.Enter("argv");
    w.ScannedArray(x.argv);
    w.Leave(argv);
    w.Lit(",\"program\":");
    w.Field("program", x.program);
    w.Lit(",\"resolved\":");
    w.Field("resolved", x.resolved);
    w.Lit(",\"source\":");
    w.Field("source", x.source);
    w.Lit("}");
    w.Leave(item);
  }
  w.Leave(at);
  w.Lit("],\"hosts\":[");
  at = w.Enter("hosts");
  for (std::size_t i = 0; i < e.hosts.size(); ++i) {
    const HostEffect& h = e.hosts[i];
    const std::size_t item = w.EnterIndex(i);
    w.Lit(i > 0 ? ",{\"host\":" : "{\"host\":");
    w.Field("host", h.host);
    w.Lit(",\"port\":");
    w.Num(h.port);
    w.Lit(",\"scheme\":");
    w.Field("scheme", h.scheme);
    w.Lit(",\"source\":");
    w.Field("source", h.source);
    w.Lit(",\"url\":");
    w.Field("url", h.url);
    w.Lit("}");
    w.Leave(item);
  }
  w.Leave(at);
  w.Lit("],\"paths\":[");
  at = w.Enter("paths");
  for (std::size_t i = 0; i < e.paths.size(); ++i) {
    const PathEffect& p = e.paths[i];
    const std::size_t item = w.EnterIndex(i);
    w.Lit(i > 0 ? ",{\"access\":" : "{\"access\":");
    w.Field("access", PathAccessName(p.access));
    w.Lit(",\"path\":");
    w.Field("path", p.path);
    w.Lit(",\"raw\":");
    w.Field("raw", p.raw);
    w.Lit(",\"source\":");
    w.Field("source", p.source);
    w.Lit("}");
    w.Leave(item);
  }
  w.Leave(at);
  w.Lit("],\"unknowns\":[");
  at = w.Enter("unknowns");
  for (std::size_t i = 0; i < e.unknowns.size(); ++i) {
    const UnknownEffect& u = e.unknowns[i];
    const std::size_t item = w.EnterIndex(i);
    w.Lit(i > 0 ? ",{\"detail\":" : "{\"detail\":");
    w.Field("detail", u.detail);
    w.Lit(",\"what\":");
    w.Field("what", u.what);
    w.Lit("}");
    w.Leave(item);
  }
  w.Leave(at);
  w.Lit("],\"urls\":");
  at = w.Enter("urls");
  w.ScannedArray(e.urls);
  w.Leave(at);
  w.Lit("}");
}

// As the "reasons" of ToJson(const Decision&, false) (engine/decision/decision.cc).
void WriteReasons(Writer& w, const std::vector<const Finding*>& reasons) {
  w.Lit("[");
  for (std::size_t i = 0; i < reasons.size(); ++i) {
    const Finding& f = *reasons[i];
    const std::size_t item = w.EnterIndex(i);
    w.Lit(i > 0 ? ",{\"grant\":" : "{\"grant\":");
    if (f.grant != nullptr) {
      const std::size_t at = w.Enter("grant");
      w.Lit("{\"file\":");
      w.Field("file", f.grant->file);
      w.Lit(",\"id\":");
      w.Field("id", f.grant->id);
      w.Lit(",\"json_path\":");
      w.Field("json_path", f.grant->json_path);
      w.Lit(",\"pattern\":");
      w.Field("pattern", f.grant->pattern);
      w.Lit(",\"profile\":");
      w.Field("profile", f.grant->profile);
      w.Lit("}");
      w.Leave(at);
    } else {
      w.Lit("null");
    }
    if (!f.note.empty()) {
      w.Lit(",\"note\":");
      w.Field("note", f.note);
    }
    if (f.rule != nullptr) {
      const std::size_t at = w.Enter("rule");
      w.Lit(",\"rule\":{\"file\":");
      w.Field("file", f.rule->file);
      w.Lit(",\"id\":");
      w.Field("id", f.rule->id);
      w.Lit(",\"line\":");
      w.Num(f.rule->line);
      w.Lit(",\"pack\":");
      w.Field("pack", f.rule->pack);
      w.Lit(",\"verdict_line\":");
      w.Num(f.line > 0 ? f.line : f.rule->line);
      w.Lit("}");
      w.Leave(at);
    }
    w.Lit(",\"subject\":");
    w.Field("subject", SubjectName(f.subject));
    w.Lit(",\"target\":");
    w.Field("target", f.target);
    w.Lit(",\"verdict\":");
    w.Field("verdict", VerdictName(f.verdict));
    w.Lit("}");
    w.Leave(item);
  }
  w.Lit("]");
}

bool AppendCanonicalValue(std::string* out, const json& value, RedactionScan* scan);

// The tool input as RedactJson's walk leaves it (see Walk), written as
// CanonicalJson writes it. Returns false as AppendCanonicalValue does.
bool AppendRedactedValue(std::string* out, const json& value, Walk& walk) {
  if (value.is_string()) {
    Writer w(out);
    w.set_walk(&walk);
    w.Scanned(value.get_ref<const std::string&>());
    return w.ok();
  }
  if (value.is_array()) {
    out->push_back('[');
    bool next_is_secret = false;
    std::size_t i = 0;
    for (const json& item : value) {
      if (i > 0) out->push_back(',');
      const std::size_t at = walk.pointer.size();
      walk.pointer.push_back('/');
      AppendInt(&walk.pointer, i++);
      if (next_is_secret && walk.redactor.secret_key_names() && item.is_string()) {
        out->append("\"[REDACTED:secret_flag]\"");
        walk.found.push_back(Redaction{"secret_flag", walk.pointer});
        next_is_secret = false;
      } else {
        next_is_secret = item.is_string() && walk.redactor.IsSecretFlag(item.get_ref<const std::string&>());
        if (!AppendRedactedValue(out, item, walk)) return false;
      }
      walk.pointer.resize(at);
    }
    out->push_back(']');
    return true;
  }
  if (value.is_object()) {
    out->push_back('{');
    bool first = true;
    for (auto it = value.begin(); it != value.end(); ++it) {  // std::map: sorted
      if (!first) out->push_back(',');
      first = false;
      if (!AppendJsonString(out, it.key())) return false;
      out->push_back(':');
      const std::size_t at = walk.pointer.size();
      walk.pointer.push_back('/');
      AppendPointerToken(&walk.pointer, it.key());
      const json& v = it.value();
      if (walk.redactor.secret_key_names() && v.is_string() && !v.get_ref<const std::string&>().empty() &&
          walk.redactor.IsSecretKey(it.key())) {
        out->append("\"[REDACTED:secret_field]\"");
        walk.found.push_back(Redaction{"secret_field", walk.pointer});
      } else if (!AppendRedactedValue(out, v, walk)) {
        return false;
      }
      walk.pointer.resize(at);
    }
    out->push_back('}');
    return true;
  }
  return AppendCanonicalValue(out, value, nullptr);  // numbers, booleans and null: nothing to redact
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
  // Most strings are plain from end to end: one resize and one copy.
  while (end - p >= 8 && !NeedsLook(Load8(p))) p += 8;
  while (p < end && kByteClass[*p] == 0) ++p;
  if (p == end) {
    const std::size_t at = out->size();
    out->resize(at + s.size() + 2);
    char* d = out->data() + at;
    d[0] = '"';
    if (!s.empty()) std::memcpy(d + 1, s.data(), s.size());
    d[s.size() + 1] = '"';
    return true;
  }
  out->push_back('"');
  while (p < end) {
    // Most of a record is plain ASCII: skip it eight bytes at a time.
    while (end - p >= 8 && !NeedsLook(Load8(p))) p += 8;
    if (p == end) break;
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

namespace {

// Both writers. With redact false a member that needs redaction makes it
// return false; with redact true such a member is written again through the
// walk (each member then has its own scan, as RedactJson scans it alone).
bool WriteDecisionMembers(std::string* out, const ToolCall& call, const Decision& decision, const PeerInfo& peer,
                          const SecretRedactor& redactor, const std::string& host, bool redact,
                          const std::string* message) {
  // The reference path runs RedactJson once per member, and the record is
  // taken here only if each of those would find nothing. With the built-in
  // detectors one pass over all the members' text decides that (a member
  // whose own text matches makes the whole text match; see scans_combine);
  // the pass runs once, at the end. With extra patterns each member gets its
  // own scan, exactly as RedactJson scans it.
  thread_local RedactionScan scan;
  const bool redacting = redactor.enabled();
  const bool one_pass = redactor.scans_combine() && !redact;
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
  // The redactions of each member, listed in the order the reference path
  // makes them: the input, then message, reasons, error, effects, context.
  enum { kInput, kMessage, kReasons, kError, kEffects, kContext, kMembers };
  thread_local std::vector<Redaction> found[kMembers];
  for (auto& f : found) f.clear();

  Writer w(out);
  // Writes one redacted member with write(); when its scan is not clean,
  // either declines (redact false) or writes it again through the walk.
  const auto member = [&](int which, std::string_view pointer, auto&& write) {
    const std::size_t at = out->size();
    next_member();
    w.set_scan(sc);
    write();
    w.set_scan(nullptr);
    if (!w.ok()) return false;
    if (clean()) return true;
    if (!redact) return false;
    out->resize(at);
    Walk walk{redactor, found[which], std::string(pointer)};
    w.set_walk(&walk);
    write();
    w.set_walk(nullptr);
    return w.ok();
  };

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
  if (!AppendCanonicalValue(out, call.tool_input, sc)) return false;
  // The digest of the input before redaction: the bytes just written are its
  // canonical JSON. A redacted input is then written again in their place.
  char input_sha256[64];
  Sha256HexTo(std::string_view(*out).substr(input_at), input_sha256);
  if (!clean()) {
    if (!redact) return false;
    out->resize(input_at);
    Walk walk{redactor, found[kInput], "/call/tool_input"};
    if (!AppendRedactedValue(out, call.tool_input, walk)) return false;
  }
  w.Lit(",\"tool_name\":");
  w.Str(call.tool_name);

  // deciders and rules: the grant and Lua rule ids, once each, in reason order.
  // Both lists are kept per thread: no allocation per record.
  thread_local std::vector<const Finding*> reasons;
  reasons.clear();
  for (const Finding& f : decision.findings) {
    if (f.verdict == decision.PolicyVerdict()) reasons.push_back(&f);  // as Decision::Reasons()
  }
  thread_local std::vector<const std::string*> ids;
  ids.clear();
  w.Lit("}");
  if (!decision.context.empty()) {
    // Text rules added for the model; written only when there is some.
    w.Lit(",\"context\":");
    if (!member(kContext, "/context", [&] {
          w.Lit("[");
          for (std::size_t i = 0; i < decision.context.size(); ++i) {
            const std::size_t item = w.EnterIndex(i);
            w.Lit(i > 0 ? ",{\"rule\":" : "{\"rule\":");
            w.Field("rule", decision.context[i].rule);
            w.Lit(",\"text\":");
            w.Field("text", decision.context[i].text);
            w.Lit("}");
            w.Leave(item);
          }
          w.Lit("]");
        })) {
      return false;
    }
  }
  w.Lit(",\"deciders\":[");
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
  if (!member(kEffects, "/effects", [&] { WriteEffects(w, decision.effects); })) return false;
  if (decision.policy_verdict) {
    w.Lit(",\"enforced\":");
    w.Str(VerdictName(decision.verdict));
  }
  if (decision.error) {
    w.Lit(",\"error\":");
    if (!member(kError, "/error", [&] {
          w.Lit("{\"code\":");
          w.Field("code", ErrorCodeName(decision.error->code));
          w.Lit(",\"location\":");
          w.Field("location", decision.error->location);
          w.Lit(",\"message\":");
          w.Field("message", decision.error->message);
          w.Lit("}");
        })) {
      return false;
    }
  }
  w.Lit(",\"host\":");
  w.Str(host);
  w.Lit(",\"input_sha256\":\"");
  w.Lit(std::string_view(input_sha256, sizeof input_sha256));
  w.Lit("\",\"latency_ns\":");
  w.Num(static_cast<std::int64_t>(decision.latency.count()));
  w.Lit(",\"message\":");
  std::string made_message;
  if (message == nullptr) {
    made_message = decision.MessageForModel();
    message = &made_message;
  }
  if (!member(kMessage, "/message", [&] { w.Scanned(*message); })) return false;
  if (decision.policy_verdict) w.Lit(",\"mode\":\"learn\"");
  w.Lit(",\"policy_digest\":");
  w.Str(decision.policy_digest);
  w.Lit(",\"reasons\":");
  if (!member(kReasons, "/reasons", [&] { WriteReasons(w, reasons); })) return false;
  // redactions, as the reference path lists them (at most kMaxRedactionsListed).
  std::size_t listed = 0, total = 0;
  for (const auto& list : found) total += list.size();
  if (total > 0) {
    w.Lit(",\"redactions\":[");
    for (const int which : {kInput, kMessage, kReasons, kError, kEffects, kContext}) {
      for (const Redaction& r : found[which]) {
        if (listed == kMaxRedactionsListed) break;
        w.Lit(listed++ > 0 ? ",{\"kind\":" : "{\"kind\":");
        w.Str(r.kind);
        w.Lit(",\"pointer\":");
        w.Str(r.pointer);
        w.Lit("}");
      }
    }
    w.Lit("]");
    if (total > kMaxRedactionsListed) {
      w.Lit(",\"redactions_total\":");
      w.Num(total);
    }
  }
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

}  // namespace

bool AppendDecisionMembers(std::string* out, const ToolCall& call, const Decision& decision, const PeerInfo& peer,
                           const SecretRedactor& redactor, const std::string& host, const std::string* message) {
  return WriteDecisionMembers(out, call, decision, peer, redactor, host, /*redact=*/false, message);
}

bool AppendRedactedDecisionMembers(std::string* out, const ToolCall& call, const Decision& decision,
                                   const PeerInfo& peer, const SecretRedactor& redactor, const std::string& host,
                                   const std::string* message) {
  return WriteDecisionMembers(out, call, decision, peer, redactor, host, /*redact=*/true, message);
}

}  // namespace toolgate::audit
