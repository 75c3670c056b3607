// The daemon protocol (version 1) shared by `toolgate serve` and its clients:
// newline-delimited JSON over a Unix stream socket.
//
//   request  {"v":1,"id":<string|number>,"op":"decide","call":<ToJson(ToolCall)>[,"headless":true]}
//            {"v":1,"id":<string|number>,"op":"ping"}
//   reply    {"v":1,"id":<same>,"ok":true,"decision":<ToJson(Decision, false)>}
//            {"v":1,"id":<same>,"ok":true,"pong":true,"policy_digest":"<hex>","version":"0.1.0"}
//            {"v":1,"id":<same or null>,"ok":false,"error":{"code":"<name>","message":"<text>"}}
//
// Session ops (include/toolgate/session.h); phase_set, grant and revoke only
// from a peer that is root or the daemon's own user (else "forbidden"):
//   {"v":1,"id":N,"op":"phase_set","session":S,"phase":P[,"agent":A]}
//        -> {..,"ok":true,"session":S,"phase":P,"previous_phase":Q}
//   {"v":1,"id":N,"op":"phase_get","session":S} -> {..,"ok":true,"session":S,"phase":P}
//   {"v":1,"id":N,"op":"grant","session":S,"for_s":900,"grant":"fs.write:/srv/**"[,"agent":A]}
//        -> {..,"ok":true,"grant":{"id","session","agent","grant","created","expires","uses"}}
//   {"v":1,"id":N,"op":"grants","session":S} -> {..,"ok":true,"session":S,"grants":[...]}
//   {"v":1,"id":N,"op":"revoke","session":S,"grant_id":"tg-1"} -> {..,"ok":true,"session":S,"revoked":"tg-1"}
// Error codes added: forbidden, invalid_argument, not_found. A decide's call
// is judged in the session's phase as the daemon keeps it (the call's own
// "phase" is replaced) and with the session's live temporary grants.
//
// "headless": true says the caller cannot ask a human (a Codex or Gemini CLI
// hook, Cursor's beforeReadFile, an MCP proxy): an ask then follows the
// policy's ask_fallback (include/toolgate/ask_fallback.h) before it is logged.
// One request per line, at most the server's max message bytes (1 MiB by
// default) before the '\n'. Replies come back in request order, one line each.
// A malformed line gets an error reply and the connection stays usable; a line
// over the limit gets input_too_large and the connection is closed.
#pragma once

#include <cstddef>
#include <string>

namespace toolgate {

inline constexpr int kDaemonProtocolVersion = 1;
inline constexpr std::size_t kDefaultMaxMessageBytes = std::size_t{1} << 20;

// Where the daemon listens unless told otherwise: $TOOLGATE_SOCKET if set;
// else $XDG_RUNTIME_DIR/toolgate.sock if XDG_RUNTIME_DIR is set; else
// /run/toolgate/toolgate.sock for uid 0 and /tmp/toolgate-<uid>/toolgate.sock
// for everyone else. Empty environment values count as unset.
std::string DefaultSocketPath();

}  // namespace toolgate
