// Fuzz target: the bytes a client sends the daemon, through the server's own
// path (engine/server/server.cc): SplitLines over what one read brought in,
// the Dispatcher judging the complete lines with the example policy (no
// decision log), the rest carried over to the next read. The first two bytes
// pick the line limit and where the stream is cut into two reads.
// Invariants: one reply line per request line, in order, plus one for an
// oversized line; every reply is a JSON object with "v":1 and a boolean "ok";
// a request whose id could be read gets it back.
#include <string>
#include <vector>

#include "fuzz_support.h"
#include "server/dispatcher.h"
#include "server/engine_holder.h"
#include "server/framing.h"
#include "toolgate/daemon_protocol.h"
#include "toolgate/tool_call.h"

namespace {

using namespace toolgate;
using namespace toolgate::server;

// Feeds `stream` in two reads cut at `cut`, and stops where the server would
// close the connection (after an oversized line).
void Serve(const Dispatcher& dispatcher, std::string_view stream, std::size_t cut) {
  static const PeerInfo peer = PeerInfo::CurrentProcess("fuzz");
  std::string buffer;
  const std::string_view reads[2] = {stream.substr(0, cut), stream.substr(cut)};
  for (int r = 0; r < 2; ++r) {
    buffer.append(reads[r]);
    const bool eof = r == 1;
    LineSplit split;
    SplitLines(buffer, dispatcher.max_message_bytes(), eof, &split);
    FUZZ_CHECK(split.consumed <= buffer.size());
    std::string out;
    dispatcher.HandleLines(split.lines, peer, &out);
    if (split.oversized) dispatcher.AppendOversizedReply(&out);
    // One reply per line, each a JSON object of protocol version 1.
    std::size_t replies = 0;
    std::size_t start = 0;
    while (start < out.size()) {
      const std::size_t nl = out.find('\n', start);
      FUZZ_CHECK(nl != std::string::npos);
      const std::string_view line(out.data() + start, nl - start);
      Result<nlohmann::json> reply = ParseUntrustedJson(line, {std::size_t{64} << 20, 256});
      FUZZ_CHECK(reply.ok());
      FUZZ_CHECK(reply->is_object());
      FUZZ_CHECK(reply->value("v", nlohmann::json()) == nlohmann::json(1));
      FUZZ_CHECK(reply->contains("ok") && (*reply)["ok"].is_boolean());
      FUZZ_CHECK(reply->contains("id"));
      if (replies < split.lines.size()) {
        // A line that parses as an object with a string or number id gets that id back.
        Result<nlohmann::json> req = ParseUntrustedJson(split.lines[replies], {std::size_t{1} << 20, 65});
        if (req && req->is_object() && req->contains("id") &&
            ((*req)["id"].is_string() || (*req)["id"].is_number_integer())) {
          FUZZ_CHECK((*reply)["id"] == (*req)["id"]);
        }
      }
      ++replies;
      start = nl + 1;
    }
    FUZZ_CHECK(replies == split.lines.size() + (split.oversized ? 1 : 0));
    if (split.oversized) return;  // the server closes the connection here
    buffer.erase(0, split.consumed);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::QuietLogs();
  static const EngineHolder engines(fuzz::ExamplePolicy());
  static const Dispatcher small(&engines, nullptr, 256);
  static const Dispatcher normal(&engines, nullptr, kDefaultMaxMessageBytes);
  fuzz::ByteReader in(data, size);
  const std::uint8_t limit = in.U8();
  const std::uint8_t cut_byte = in.U8();
  const std::string_view stream = in.Rest();
  const std::size_t cut = stream.empty() ? 0 : cut_byte % (stream.size() + 1);
  Serve((limit & 1) != 0 ? small : normal, stream, cut);
  return 0;
}
