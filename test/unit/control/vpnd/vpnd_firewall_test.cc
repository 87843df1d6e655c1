// vpnd and the firewall over a real channel: the commit carries the rulesets and bindings, and
// a log event from the dataplane becomes the seed's line in vpnd's log and in syslog, with the
// dataplane's name and PID.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "absl/strings/match.h"
#include "control/vpnd/syslog_sink.h"
#include "dataplane/api/shared_atomic.h"
#include "test/unit/control/vpnd/vpnd_test_rig.h"

using namespace portcullis;
using namespace portcullis::vpnd::testing;

namespace {

constexpr char kFirewall[] = R"(set interfaces bonding dp0bond1 address 159.8.98.214/29
set interfaces vti vti0 address 172.16.0.5/30
set security firewall name PubIn default-action drop
set security firewall name PubIn rule 1 action accept
set security firewall name PubIn rule 1 protocol esp
set security firewall name PubIn rule 1 log
set security firewall name INipsecvti0 rule 10 action accept
set security firewall name INipsecvti0 rule 10 protocol icmp
set security firewall name INipsecvti0 rule 10 log
set interfaces bonding dp0bond1 firewall in PubIn
set interfaces vti vti0 firewall in INipsecvti0
)";

struct DevLog {
  std::string path;
  int fd;
  DevLog() {
    char dir[] = "/tmp/fwlog-test-XXXXXX";
    path = std::string(mkdtemp(dir)) + "/log";
    fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strcpy(a.sun_path, path.c_str());
    REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    timeval tv{2, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~DevLog() {
    close(fd);
    unlink(path.c_str());
  }
  std::string Receive() {
    char buf[2048];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
  }
};

const Message* FindRuleset(const std::vector<Message>& b, const std::string& name) {
  return Find(b, MessageKind::kFwRuleset, Op::kAdd,
              [&](const Message& m) { return name == m.body.fw_ruleset.name; });
}

}  // namespace

TEST_CASE("the commit carries the firewall; a log event becomes the seed's line",
          "[vpnd][firewall]") {
  DevLog devlog;
  vpnd::SyslogSink dataplane_syslog(devlog.path, "dataplane");
  Rig r(absl::Seconds(2), &dataplane_syslog);
  std::string path = WriteFile(kFirewall);
  absl::Status st = r.vpnd->LoadFile(path);
  INFO(st.message());
  REQUIRE(st.ok());
  auto batches = r.dp.Batches();
  REQUIRE(batches.size() == 1);
  const auto& b = batches[0];
  const Message* pubin = FindRuleset(b, "PubIn");
  REQUIRE(pubin != nullptr);
  // PubIn 1 (esp, no address) in both families, INipsecvti0 10 (icmp) in IPv4 only.
  CHECK(Count(b, MessageKind::kFwRule, Op::kAdd) == 3);
  CHECK(Count(b, MessageKind::kFwBinding, Op::kAdd) == 2);
  const Message* bond = Interface(b, "dp0bond1");
  REQUIRE(bond != nullptr);
  const Message* vti = Interface(b, "vti0");
  REQUIRE(vti != nullptr);

  // ESP in on the bond, as the seed's first line.
  dp::api::Event e = dp::api::NewEvent(dp::api::EventKind::kFwLog);
  auto& f = e.body.fw_log;
  f.ruleset_id = pubin->body.fw_ruleset.ruleset_id;
  f.rule_number = 1;
  f.ifindex = bond->body.interface.ifindex;
  f.hook = dp::api::FwHook::kIn;
  f.action = dp::api::FwAction::kAccept;
  f.family = dp::api::Family::kIpv4;
  f.has_macs = 1;
  const uint8_t src_mac[6] = {0xe4, 0xc7, 0x22, 0x63, 0xb5, 0x41};
  const uint8_t dst_mac[6] = {0x00, 0x00, 0x5e, 0x00, 0x01, 0x02};
  std::memcpy(f.src_mac, src_mac, 6);
  std::memcpy(f.dst_mac, dst_mac, 6);
  f.l3_length = 20;
  f.l3[0] = 0x45;
  f.l3[3] = 156;
  f.l3[8] = 241;
  f.l3[9] = 50;
  inet_pton(AF_INET, "198.11.194.155", f.l3 + 12);
  inet_pton(AF_INET, "159.8.98.214", f.l3 + 16);
  f.l4_length = 8;
  r.dp.Post(e);
  const std::string text =
      " In:dp0bond1 PASS fw rule PubIn:1 proto=(other/50) addr=198.11.194.155->159.8.98.214 "
      "macs=e4:c7:22:63:b5:41->0:0:5e:0:1:2 v4=(len:156,ttl:241,tos:00,ecn:Not,prot:50,hl:5)";
  const std::string line = absl::StrCat("dataplane[", getpid(), "]: ", text);
  absl::Time end = absl::Now() + absl::Seconds(2);
  while (r.vpnd->firewall_log_lines() == 0 && absl::Now() < end) {
    r.vpnd->Poll();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  REQUIRE(r.vpnd->firewall_log_lines() == 1);
  // vpnd's log: the syslog form, the line's end exactly the seed's.
  std::string recent = r.log.RecentFirewall(" fw rule ");
  INFO(recent);
  CHECK(absl::EndsWith(recent, " " + line + "\n"));
  CHECK(absl::StartsWith(recent, "Jan  1 00:00:00 "));
  // syslog: ident dataplane with the dataplane's PID, severity notice, then the text.
  std::string dgram = devlog.Receive();
  CHECK(absl::StartsWith(dgram, "<29>"));
  CHECK(absl::EndsWith(dgram, " " + line));
  std::remove(path.c_str());
}

TEST_CASE("a diff over --max-batch-messages is refused, named and counted, not sent",
          "[vpnd][dataplane]") {
  dp::api::ServerOptions small;
  small.max_batch_messages = 4096;
  Rig r(absl::Seconds(2), nullptr, small);
  std::string first = WriteFile(BigFirewall({"OLD1", "OLD2", "OLD3"}));
  REQUIRE(r.vpnd->LoadFile(first).ok());
  REQUIRE(r.dp.Batches().size() == 1);
  CHECK(r.dp.Batches()[0].size() > 3003);
  // Each file fits, but replacing one's rulesets by the other's deletes 3003 and adds 3003.
  std::string second = WriteFile(BigFirewall({"NEW1", "NEW2", "NEW3"}));
  absl::Status st = r.vpnd->LoadFile(second);
  REQUIRE_FALSE(st.ok());
  INFO(st.message());
  CHECK(absl::StrContains(st.message(), "more than the 4096 vpn-dataplane takes in one batch"));
  // Deletes and adds count alike; equal counts go in id order.
  CHECK(absl::StrContains(st.message(), "largest rulesets: OLD1 (1001), OLD2 (1001), OLD3 (1001)"));
  CHECK(absl::StrContains(st.message(), "raise --max-batch-messages"));
  CHECK(r.vpnd->oversized_batches() == 1);
  // Counted where the dataplane counts its own refusals (`dpctl show channel`).
  CHECK(dp::api::LoadShared(r.client->header().counters.rejects[static_cast<size_t>(
            dp::api::RejectReason::kBatchTooLarge)]) == 1);
  CHECK(r.dp.Batches().size() == 1);
  CHECK(r.vpnd->config_path() == first);
  std::remove(first.c_str());
  std::remove(second.c_str());
}

TEST_CASE("a firewall and a diff of over 4,096 messages commit as one streamed batch",
          "[vpnd][dataplane][stream]") {
  Rig r;
  std::string first = WriteFile(BigFirewall({"OLD1", "OLD2", "OLD3", "OLD4", "OLD5"}));
  absl::Status st = r.vpnd->LoadFile(first);
  INFO(st.message());
  REQUIRE(st.ok());
  REQUIRE(r.dp.Batches().size() == 1);
  CHECK(r.dp.Batches()[0].size() > 5005);
  std::string second = WriteFile(BigFirewall({"NEW1", "NEW2", "NEW3", "NEW4", "NEW5"}));
  st = r.vpnd->LoadFile(second);
  INFO(st.message());
  REQUIRE(st.ok());
  REQUIRE(r.dp.Batches().size() == 2);
  CHECK(Count(r.dp.Batches()[1], MessageKind::kFwRule, Op::kDelete) >= 5000);
  CHECK(Count(r.dp.Batches()[1], MessageKind::kFwRule, Op::kAdd) >= 5000);
  CHECK(r.vpnd->oversized_batches() == 0);
  CHECK(r.vpnd->config_path() == second);
  std::remove(first.c_str());
  std::remove(second.c_str());
}
