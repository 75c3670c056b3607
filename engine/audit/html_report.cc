#include "audit/html_report.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>

#include "audit/record.h"
#include "util/utf8.h"

namespace toolgate::audit {
namespace {

constexpr const char* kAllowColor = "#2e7d32";
constexpr const char* kAskColor = "#f9a825";
constexpr const char* kDenyColor = "#c62828";

std::string Num(double v, int decimals = 0) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string Pct(double v) { return Num(v * 100.0, 1) + "%"; }

std::string Us(std::int64_t ns) {
  const double us = static_cast<double>(ns) / 1000.0;
  return us >= 1000.0 ? Num(us / 1000.0, 2) + " ms" : Num(us, us < 10 ? 1 : 0) + " µs";
}

std::string Shorten(const std::string& s, std::size_t n) {
  if (s.size() <= n) return s;
  std::size_t cut = n;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return s.substr(0, cut) + "…";
}

// Decisions over time: stacked bars per time bucket.
std::string TimelineSvg(const std::vector<std::pair<std::int64_t, std::uint8_t>>& timeline) {
  constexpr int kW = 1100, kH = 220, kLeft = 50, kBottom = 30, kTop = 10;
  if (timeline.empty()) return "<p class=\"muted\">No decisions.</p>";
  std::int64_t lo = timeline.front().first, hi = lo;
  for (const auto& [t, v] : timeline) {
    lo = std::min(lo, t);
    hi = std::max(hi, t);
  }
  // Bucket width: the smallest "nice" step giving at most 60 buckets.
  constexpr std::int64_t kSec = 1000000000;
  const std::int64_t steps[] = {kSec,      10 * kSec,   60 * kSec,   5 * 60 * kSec, 15 * 60 * kSec,
                                3600 * kSec, 6 * 3600 * kSec, 86400 * kSec, 7 * 86400 * kSec};
  std::int64_t step = steps[std::size(steps) - 1];
  for (std::int64_t s : steps) {
    if ((hi - lo) / s < 60) {
      step = s;
      break;
    }
  }
  const std::int64_t start = lo - lo % step;
  const std::size_t n = static_cast<std::size_t>((hi - start) / step + 1);
  std::vector<std::array<std::uint64_t, 3>> buckets(n, {0, 0, 0});
  for (const auto& [t, v] : timeline) ++buckets[static_cast<std::size_t>((t - start) / step)][v];
  std::uint64_t peak = 1;
  for (const auto& b : buckets) peak = std::max<std::uint64_t>(peak, b[0] + b[1] + b[2]);
  const double plot_w = kW - kLeft - 10, plot_h = kH - kBottom - kTop;
  const double bw = plot_w / static_cast<double>(n);
  std::string svg = "<svg role=\"img\" aria-label=\"decisions over time\" viewBox=\"0 0 " + std::to_string(kW) + " " +
                    std::to_string(kH) + "\" width=\"100%\" height=\"" + std::to_string(kH) + "\">";
  // Axis and gridlines.
  for (int g = 0; g <= 4; ++g) {
    const double y = kTop + plot_h - plot_h * g / 4.0;
    svg += "<line x1=\"" + std::to_string(kLeft) + "\" x2=\"" + std::to_string(kW - 10) + "\" y1=\"" + Num(y, 1) +
           "\" y2=\"" + Num(y, 1) + "\" stroke=\"#e0e0e0\"/>";
    svg += "<text x=\"" + std::to_string(kLeft - 6) + "\" y=\"" + Num(y + 4, 1) +
           "\" text-anchor=\"end\" class=\"axis\">" + Num(static_cast<double>(peak) * g / 4.0) + "</text>";
  }
  for (std::size_t i = 0; i < n; ++i) {
    double y = kTop + plot_h;
    const double x = kLeft + bw * static_cast<double>(i) + bw * 0.1;
    const char* colors[3] = {kAllowColor, kAskColor, kDenyColor};
    for (int v = 0; v < 3; ++v) {
      if (buckets[i][static_cast<std::size_t>(v)] == 0) continue;
      const double h = plot_h * static_cast<double>(buckets[i][static_cast<std::size_t>(v)]) / static_cast<double>(peak);
      y -= h;
      svg += "<rect x=\"" + Num(x, 1) + "\" y=\"" + Num(y, 1) + "\" width=\"" + Num(std::max(bw * 0.8, 1.0), 1) +
             "\" height=\"" + Num(h, 1) + "\" fill=\"" + colors[v] + "\"/>";
    }
  }
  // Time labels: first, middle, last bucket.
  for (std::size_t i : {std::size_t{0}, n / 2, n - 1}) {
    // 2025-06-01T12:34:56: seconds for short spans, minutes within days, dates beyond.
    const std::string t = FormatTime(start + static_cast<std::int64_t>(i) * step);
    const std::string label = step < 60 * kSec      ? t.substr(11, 8)
                              : step < 86400 * kSec ? t.substr(5, 5) + " " + t.substr(11, 5)
                                                    : t.substr(0, 10);
    svg += "<text x=\"" + Num(kLeft + bw * (static_cast<double>(i) + 0.5), 1) + "\" y=\"" + std::to_string(kH - 8) +
           "\" text-anchor=\"middle\" class=\"axis\">" + HtmlEscape(label) + " UTC</text>";
    if (n == 1) break;
  }
  svg += "</svg>";
  return svg;
}

std::string VerdictSplitSvg(const VerdictCounts& c) {
  constexpr int kW = 1100, kH = 46;
  std::string svg = "<svg role=\"img\" aria-label=\"verdict split\" viewBox=\"0 0 " + std::to_string(kW) + " " +
                    std::to_string(kH) + "\" width=\"100%\" height=\"" + std::to_string(kH) + "\">";
  const double total = static_cast<double>(std::max<std::uint64_t>(c.total(), 1));
  double x = 0;
  const std::pair<std::uint64_t, const char*> parts[] = {{c.allow, kAllowColor}, {c.ask, kAskColor}, {c.deny, kDenyColor}};
  const char* names[] = {"allow", "ask", "deny"};
  for (int i = 0; i < 3; ++i) {
    const double w = kW * static_cast<double>(parts[i].first) / total;
    if (w <= 0) continue;
    svg += "<rect x=\"" + Num(x, 1) + "\" y=\"0\" width=\"" + Num(w, 1) + "\" height=\"" + std::to_string(kH) +
           "\" fill=\"" + parts[i].second + "\"/>";
    if (w > 130) {
      svg += "<text x=\"" + Num(x + 10, 1) + "\" y=\"29\" class=\"barlabel\">" + std::string(names[i]) + " " +
             std::to_string(parts[i].first) + " (" + Pct(static_cast<double>(parts[i].first) / total) + ")</text>";
    }
    x += w;
  }
  svg += "</svg>";
  return svg;
}

std::string HorizontalBarsSvg(const std::vector<std::pair<std::string, std::uint64_t>>& rows, const char* color,
                              const char* label) {
  if (rows.empty()) return "<p class=\"muted\">None.</p>";
  constexpr int kW = 1100, kRow = 26, kLabelW = 520;
  const int h = static_cast<int>(rows.size()) * kRow + 6;
  std::uint64_t peak = 1;
  for (const auto& r : rows) peak = std::max(peak, r.second);
  std::string svg = "<svg role=\"img\" aria-label=\"" + std::string(label) + "\" viewBox=\"0 0 " + std::to_string(kW) +
                    " " + std::to_string(h) + "\" width=\"100%\" height=\"" + std::to_string(h) + "\">";
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const int y = static_cast<int>(i) * kRow + 3;
    const double w = (kW - kLabelW - 80) * static_cast<double>(rows[i].second) / static_cast<double>(peak);
    svg += "<text x=\"" + std::to_string(kLabelW - 8) + "\" y=\"" + std::to_string(y + 17) +
           "\" text-anchor=\"end\" class=\"rowlabel\">" + HtmlEscape(Shorten(rows[i].first, 70)) + "</text>";
    svg += "<rect x=\"" + std::to_string(kLabelW) + "\" y=\"" + std::to_string(y + 3) + "\" width=\"" +
           Num(std::max(w, 1.0), 1) + "\" height=\"" + std::to_string(kRow - 8) + "\" fill=\"" + color + "\"/>";
    svg += "<text x=\"" + Num(kLabelW + w + 6, 1) + "\" y=\"" + std::to_string(y + 17) + "\" class=\"axis\">" +
           std::to_string(rows[i].second) + "</text>";
  }
  svg += "</svg>";
  return svg;
}

std::string CountsTable(const std::map<std::string, VerdictCounts>& m, const char* what, std::size_t top) {
  if (m.empty()) return "<p class=\"muted\">None.</p>";
  std::string out = "<table><thead><tr><th>" + std::string(what) +
                    "</th><th class=\"n\">decisions</th><th class=\"n\">allow</th><th class=\"n\">ask</th>"
                    "<th class=\"n\">deny</th><th class=\"n\">deny rate</th><th>split</th></tr></thead><tbody>";
  for (auto it : TopEntries(m, top, [](const VerdictCounts& c) { return c.total(); })) {
    const VerdictCounts& c = it->second;
    const double t = static_cast<double>(std::max<std::uint64_t>(c.total(), 1));
    out += "<tr><td class=\"mono\">" + HtmlEscape(Shorten(it->first, 80)) + "</td><td class=\"n\">" +
           std::to_string(c.total()) + "</td><td class=\"n\">" + std::to_string(c.allow) + "</td><td class=\"n\">" +
           std::to_string(c.ask) + "</td><td class=\"n\">" + std::to_string(c.deny) + "</td><td class=\"n\">" +
           Pct(c.deny_rate()) + "</td><td><svg viewBox=\"0 0 120 12\" width=\"120\" height=\"12\">" +
           "<rect x=\"0\" y=\"0\" height=\"12\" width=\"" + Num(120 * c.allow / t, 1) + "\" fill=\"" + kAllowColor +
           "\"/><rect x=\"" + Num(120 * c.allow / t, 1) + "\" y=\"0\" height=\"12\" width=\"" +
           Num(120 * c.ask / t, 1) + "\" fill=\"" + kAskColor + "\"/><rect x=\"" +
           Num(120 * (c.allow + c.ask) / t, 1) + "\" y=\"0\" height=\"12\" width=\"" + Num(120 * c.deny / t, 1) +
           "\" fill=\"" + kDenyColor + "\"/></svg></td></tr>";
  }
  out += "</tbody></table>";
  if (m.size() > top) out += "<p class=\"muted\">" + std::to_string(m.size() - top) + " more not shown.</p>";
  return out;
}

constexpr const char* kStyle = R"(
body{font:14px/1.45 -apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:0;background:#f5f6f8;color:#1d2330}
header{background:#1d2330;color:#fff;padding:20px 32px}
header h1{margin:0 0 4px;font-size:22px}
header .sub{color:#b8c0d0;font-size:13px}
main{padding:20px 32px;max-width:1180px}
section{background:#fff;border:1px solid #dde1e8;border-radius:6px;padding:16px 20px;margin:0 0 18px}
h2{font-size:16px;margin:0 0 12px}
.cards{display:flex;gap:12px;flex-wrap:wrap;margin:0 0 18px}
.card{background:#fff;border:1px solid #dde1e8;border-radius:6px;padding:10px 14px;min-width:118px}
.card .v{font-size:24px;font-weight:600}
.card .k{color:#5b6475;font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.allow{color:#2e7d32}.ask{color:#b27b00}.deny{color:#c62828}
.banner{padding:10px 14px;border-radius:6px;margin:0 0 18px;font-weight:600}
.ok{background:#e6f4ea;color:#1e5e2b;border:1px solid #b7dfc1}
.bad{background:#fdecea;color:#8a1c1c;border:1px solid #f3b7b1}
.unk{background:#fff8e1;color:#6d5200;border:1px solid #f0dc9b}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #eceff3;vertical-align:top}
th{background:#f7f8fa;font-weight:600}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.mono{font-family:"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:12px;word-break:break-all}
.muted{color:#6b7280}
.nowrap{white-space:nowrap;word-break:normal}
.legend span{display:inline-block;margin-right:14px}
.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}
svg text{font-family:inherit}
.axis{font-size:11px;fill:#5b6475}
.rowlabel{font-size:12px;fill:#1d2330}
.barlabel{font-size:14px;fill:#fff;font-weight:600}
footer{color:#6b7280;font-size:12px;padding:0 32px 24px}
)";

}  // namespace

std::string HtmlEscape(std::string_view text) {
  const std::string clean = SanitizeUtf8(text);
  std::string out;
  out.reserve(clean.size() + 16);
  for (char c : clean) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t') break;  // no control characters
        if (c == 0x7f) break;
        out += c;
    }
  }
  return out;
}

std::string RenderHtmlReport(LogStats& s, const ReportContext& ctx) {
  std::string h;
  h.reserve(64 * 1024);
  h += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">";
  // Nothing in this page may load or run anything, even if escaping were ever wrong.
  h += "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
       "img-src data:; base-uri 'none'; form-action 'none'\">";
  h += "<meta name=\"referrer\" content=\"no-referrer\">";
  h += "<title>" + HtmlEscape(ctx.title) + "</title><style>" + kStyle + "</style></head><body>";
  h += "<header><h1>" + HtmlEscape(ctx.title) + "</h1><div class=\"sub\">";
  if (!s.first_time.empty()) h += HtmlEscape(s.first_time) + " — " + HtmlEscape(s.last_time) + " · ";
  h += std::to_string(s.total) + " decisions · generated " + HtmlEscape(ctx.generated_at) + "</div></header><main>";

  // Integrity first: a reviewer must know whether to trust what follows.
  if (!ctx.integrity_checked) {
    h += "<div class=\"banner unk\">Integrity not checked: run <span class=\"mono\">toolgate log verify</span>.</div>";
  } else {
    h += std::string("<div class=\"banner ") + (ctx.integrity_ok ? "ok\">&#10004; " : "bad\">&#10008; ") +
         HtmlEscape(ctx.integrity_text) + "</div>";
  }

  std::vector<std::int64_t> lat = s.latency_ns;
  h += "<div class=\"cards\">";
  const auto card = [&](const std::string& k, const std::string& v, const char* cls) {
    h += "<div class=\"card\"><div class=\"k\">" + k + "</div><div class=\"v " + cls + "\">" + v + "</div></div>";
  };
  card("decisions", std::to_string(s.total), "");
  card("allowed", std::to_string(s.verdicts.allow), "allow");
  card("asked", std::to_string(s.verdicts.ask), "ask");
  card("denied", std::to_string(s.verdicts.deny), "deny");
  card("deny rate", Pct(s.verdicts.deny_rate()), "deny");
  card("latency p50", Us(LogStats::Percentile(lat, 50)), "");
  card("latency p99", Us(LogStats::Percentile(lat, 99)), "");
  h += "</div>";

  h += "<section><h2>Decisions over time</h2>" + TimelineSvg(s.timeline);
  h += std::string("<div class=\"legend\"><span><i style=\"background:") + kAllowColor + "\"></i>allow</span><span><i "
       "style=\"background:" + kAskColor + "\"></i>ask</span><span><i style=\"background:" + kDenyColor +
       "\"></i>deny</span></div></section>";
  h += "<section><h2>Verdict split</h2>" + VerdictSplitSvg(s.verdicts) + "</section>";

  std::vector<std::pair<std::string, std::uint64_t>> reasons;
  for (auto it : TopEntries(s.deny_reasons, 12, [](std::uint64_t c) { return c; })) reasons.emplace_back(it->first, it->second);
  h += "<section><h2>Top deny reasons</h2>" + HorizontalBarsSvg(reasons, kDenyColor, "top deny reasons") + "</section>";

  std::map<std::string, VerdictCounts> deny_rules;
  for (const auto& [id, c] : s.by_rule) {
    if (c.deny > 0) deny_rules[id] = c;
  }
  std::vector<std::pair<std::string, std::uint64_t>> rule_rows;
  for (auto it : TopEntries(deny_rules, 12, [](const VerdictCounts& c) { return c.deny; })) {
    rule_rows.emplace_back(it->first, it->second.deny);
  }
  h += "<section><h2>Top deny rules</h2>" + HorizontalBarsSvg(rule_rows, kDenyColor, "top deny rules") +
       "<h2 style=\"margin-top:16px\">All deciding rules</h2>" + CountsTable(s.by_rule, "rule", 30) + "</section>";
  h += "<section><h2>Per agent</h2>" + CountsTable(s.by_agent, "agent", 30) + "</section>";
  h += "<section><h2>Per tool</h2>" + CountsTable(s.by_tool, "tool", 30) + "</section>";

  // Slowest rules by p99 of the decisions they decided.
  struct Slow {
    std::string id;
    std::int64_t p50, p99, max;
    std::size_t n;
  };
  std::vector<Slow> slow;
  for (auto& [id, v] : s.rule_latency_ns) {
    std::vector<std::int64_t> copy = v;
    slow.push_back(Slow{id, LogStats::Percentile(copy, 50), LogStats::Percentile(copy, 99), copy.back(), copy.size()});
  }
  std::sort(slow.begin(), slow.end(), [](const Slow& a, const Slow& b) { return a.p99 > b.p99; });
  if (slow.size() > 15) slow.resize(15);
  h += "<section><h2>Slowest rules</h2><p class=\"muted\">Decision latency of the calls each rule decided.</p>";
  if (slow.empty()) {
    h += "<p class=\"muted\">None.</p>";
  } else {
    h += "<table><thead><tr><th>rule</th><th class=\"n\">decisions</th><th class=\"n\">p50</th><th "
         "class=\"n\">p99</th><th class=\"n\">max</th></tr></thead><tbody>";
    for (const Slow& r : slow) {
      h += "<tr><td class=\"mono\">" + HtmlEscape(r.id) + "</td><td class=\"n\">" + std::to_string(r.n) +
           "</td><td class=\"n\">" + Us(r.p50) + "</td><td class=\"n\">" + Us(r.p99) + "</td><td class=\"n\">" +
           Us(r.max) + "</td></tr>";
    }
    h += "</tbody></table>";
  }
  h += "</section>";

  h += "<section><h2>Latest denials</h2>";
  if (s.latest_denials.empty()) {
    h += "<p class=\"muted\">None.</p>";
  } else {
    h += "<table><thead><tr><th>time (UTC)</th><th class=\"n\">seq</th><th>agent</th><th>tool</th><th>call</th>"
         "<th>why</th><th>rule</th></tr></thead><tbody>";
    for (auto it = s.latest_denials.rbegin(); it != s.latest_denials.rend(); ++it) {
      std::string when = it->time.substr(0, 19);
      if (when.size() > 10) when[10] = ' ';
      h += "<tr><td class=\"mono nowrap\">" + HtmlEscape(when) + "</td><td class=\"n\">" +
           std::to_string(it->seq) + "</td><td>" + HtmlEscape(it->agent) + "</td><td>" + HtmlEscape(it->tool) +
           "</td><td class=\"mono\">" + HtmlEscape(it->call) + "</td><td>" + HtmlEscape(it->reasons) +
           "</td><td class=\"mono\">" + HtmlEscape(it->rules.empty() ? "profile default" : it->rules) + "</td></tr>";
    }
    h += "</tbody></table>";
  }
  h += "</section>";
  if (s.redacted > 0 || s.unparsed_inputs > 0 || s.errors > 0) {
    h += "<section><h2>Notes</h2><ul><li>" + std::to_string(s.redacted) +
         " record(s) had secrets redacted from their input.</li><li>" + std::to_string(s.unparsed_inputs) +
         " input(s) could not be parsed into a tool call (denied).</li><li>" + std::to_string(s.errors) +
         " decision(s) were made because a call could not be judged normally.</li></ul></section>";
  }
  h += "</main><footer>Sources: ";
  for (std::size_t i = 0; i < ctx.sources.size(); ++i) h += (i ? ", " : "") + HtmlEscape(ctx.sources[i]);
  h += "</footer></body></html>\n";
  return h;
}

}  // namespace toolgate::audit
