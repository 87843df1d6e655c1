#include "control/vpnd/ike_log_counters.h"

#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace portcullis::vpnd {

std::string IkeLogCounters::PeerOf(const std::string& conn) {
  absl::string_view c = conn;
  if (!absl::ConsumePrefix(&c, "peer-")) return conn;
  size_t tunnel = c.find("-tunnel-");
  return std::string(tunnel == absl::string_view::npos ? c : c.substr(0, tunnel));
}

void IkeLogCounters::Write(const ike::LogRecord& r) {
  absl::string_view text = r.text;
  std::string direction;
  if (absl::ConsumePrefix(&text, "generating ")) {
    direction = "out";
  } else if (absl::ConsumePrefix(&text, "parsed ")) {
    direction = "in";
  }
  if (!direction.empty()) {
    std::vector<absl::string_view> w = absl::StrSplit(text, ' ');
    if (w.size() >= 2 && (w[1] == "request" || w[1] == "response")) {
      ++messages_[{std::string(w[0]), direction, std::string(w[1])}];
    }
    return;
  }
  // "received NAME notify error ..." (IKE_SA_INIT, IKE_AUTH, CREATE_CHILD_SA failures).
  size_t at = text.find("received ");
  if (at == absl::string_view::npos) return;
  absl::string_view rest = text.substr(at + 9);
  size_t sp = rest.find(' ');
  if (sp == absl::string_view::npos || !absl::StartsWith(rest.substr(sp), " notify error")) return;
  ++notify_errors_[{PeerOf(r.conn), std::string(rest.substr(0, sp))}];
}

}  // namespace portcullis::vpnd
