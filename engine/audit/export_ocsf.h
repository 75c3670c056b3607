// OCSF mapping of decision records, for SIEMs that speak OCSF (Splunk,
// Elastic, Sentinel, Security Lake).
//
// Pinned to OCSF 1.3.0, class API Activity (6003, category Application
// Activity 6) with the Security Control profile: a tool call is an API call an
// agent made through its client; toolgate is the control that allowed or
// denied it. The field mapping is documented in README.md, section The decision log.
#pragma once

#include <nlohmann/json.hpp>

namespace toolgate::audit {

inline constexpr const char* kOcsfVersion = "1.3.0";
inline constexpr int kOcsfApiActivityClass = 6003;

// One OCSF event for one decision record (checkpoint/recovery records: null).
nlohmann::json ToOcsf(const nlohmann::json& record);

}  // namespace toolgate::audit
