// IKE's counters for the metrics endpoint, read off the log lines the IKE engine writes.
#include <catch2/catch.hpp>

#include "control/vpnd/ike_log_counters.h"

using namespace portcullis;

namespace {

ike::LogRecord Line(std::string conn, std::string text) {
  return ike::LogRecord{absl::FromUnixSeconds(1767225600),
                        ike::LogGroup::kEnc,
                        std::move(conn),
                        1,
                        false,
                        std::move(text)};
}

}  // namespace

TEST_CASE("ike counters: messages by exchange, direction and kind", "[vpnd][metrics]") {
  vpnd::IkeLogCounters c;
  c.Write(Line("peer-192.0.2.2", "generating IKE_SA_INIT request 0 [ SA KE No N(NATD_S_IP) ]"));
  c.Write(Line("peer-192.0.2.2", "parsed IKE_SA_INIT response 0 [ SA KE No ]"));
  c.Write(Line("peer-192.0.2.2", "generating IKE_AUTH request 1 [ IDi AUTH SA TSi TSr ]"));
  c.Write(Line("peer-192.0.2.2", "generating IKE_AUTH request 1 [ IDi AUTH SA TSi TSr ]"));
  c.Write(Line("peer-192.0.2.2", "generating response failed: too big"));
  CHECK(c.messages().at({"IKE_SA_INIT", "out", "request"}) == 1);
  CHECK(c.messages().at({"IKE_SA_INIT", "in", "response"}) == 1);
  CHECK(c.messages().at({"IKE_AUTH", "out", "request"}) == 2);
  CHECK(c.messages().size() == 3);
}

TEST_CASE("ike counters: notify errors by peer and notify, other notifies not", "[vpnd][metrics]") {
  vpnd::IkeLogCounters c;
  c.Write(Line("peer-192.0.2.2",
               "received NO_PROPOSAL_CHOSEN notify error: the peer accepted none of ..."));
  c.Write(Line("peer-192.0.2.2-tunnel-vti",
               "received TS_UNACCEPTABLE notify error: the peer accepted none of our ..."));
  c.Write(Line("peer-192.0.2.2", "received COOKIE notify, restarting IKE_SA_INIT with it"));
  CHECK(c.notify_errors().at({"192.0.2.2", "NO_PROPOSAL_CHOSEN"}) == 1);
  CHECK(c.notify_errors().at({"192.0.2.2", "TS_UNACCEPTABLE"}) == 1);
  CHECK(c.notify_errors().size() == 2);
}
