// OpenTelemetry log records for decision records: one OTLP/JSON
// ExportLogsServiceRequest per line (the shape the collector's otlpjsonfile
// receiver reads). EventName is "policy.decision"; deny is WARN.
#pragma once

#include <nlohmann/json.hpp>

namespace toolgate::audit {

// One OTLP LogRecord for a decision record (null for other record types).
nlohmann::json ToOtelLogRecord(const nlohmann::json& record);

// An ExportLogsServiceRequest wrapping log records from one host.
nlohmann::json OtelExportRequest(const std::string& host, nlohmann::json log_records);

}  // namespace toolgate::audit
