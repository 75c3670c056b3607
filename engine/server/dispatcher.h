// Judges the requests of one batch (every complete line one read brought in)
// and writes their replies. The decisions of a batch go to the decision log
// together (AuditLog::AppendBatch: one write, one fdatasync when needed)
// before any reply of the batch exists, so no answer ever leaves without its
// record; if the log refuses them, every decision of the batch becomes a deny.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "server/engine_holder.h"
#include "toolgate/audit.h"

namespace toolgate::server {

class Dispatcher {
 public:
  // log may be null: decisions are then answered without being recorded.
  Dispatcher(const EngineHolder* engines, AuditLog* log, std::size_t max_message_bytes);

  // Appends one reply line to *out per request line, in order. peer is who
  // sent them (SO_PEERCRED), recorded with each decision.
  void HandleLines(std::span<const std::string_view> lines, const PeerInfo& peer, std::string* out) const;

  // The reply to a line over max_message_bytes (the connection closes after it).
  void AppendOversizedReply(std::string* out) const;

  std::size_t max_message_bytes() const { return max_message_bytes_; }

 private:
  const EngineHolder* engines_;
  AuditLog* log_;
  std::size_t max_message_bytes_;
};

}  // namespace toolgate::server
