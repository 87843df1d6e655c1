// vpnd's commits against a real ChannelServer in this process: the commit batch and its
// contents, diffs and all-or-nothing on reload, the flush that replaces what an earlier vpnd left,
// files with errors, and a commit whose ack comes late.
#include <catch2/catch.hpp>

#include <thread>

#include "absl/strings/match.h"
#include "control/vpnd/logging_sa_installer.h"
#include "dataplane/api/shared_atomic.h"
#include "test/unit/control/vpnd/vpnd_test_rig.h"

using namespace portcullis;
using namespace portcullis::vpnd::testing;

TEST_CASE("a commit is one batch: interfaces, addresses, static routes incl. VTI routes",
          "[vpnd][dataplane]") {
  Rig r;
  REQUIRE(r.vpnd->LoadFile("configs/vyatta-west.conf").ok());
  auto batches = r.dp.Batches();
  REQUIRE(batches.size() == 1);
  const auto& b = batches[0];
  // It starts with a flush: whatever an earlier vpnd left in the dataplane goes in the same
  // atomic batch.
  REQUIRE(b[0].header.kind == MessageKind::kFlush);
  CHECK(b[0].body.flush.scope == dp::api::kFlushAll);
  CHECK(Count(b, MessageKind::kFlush, Op::kDelete) == 1);
  // dp0p1s1 dp0p2s1 dp0p1s2 dp0p2s2, dp0bond0 dp0bond1, vti2
  CHECK(Count(b, MessageKind::kInterface, Op::kAdd) == 7);
  CHECK(Count(b, MessageKind::kAddress, Op::kAdd) == 3);
  CHECK(Count(b, MessageKind::kRoute, Op::kAdd) == 2);
  const Message* vti = Interface(b, "vti2");
  REQUIRE(vti != nullptr);
  CHECK(vti->body.interface.kind == dp::api::InterfaceKind::kVti);
  CHECK(vti->body.interface.mtu == 1428);
  CHECK(Interface(b, "dp0bond1")->body.interface.kind == dp::api::InterfaceKind::kBond);
  CHECK(Interface(b, "dp0p1s1")->body.interface.kind == dp::api::InterfaceKind::kPort);
  const Message* vroute = Find(b, MessageKind::kRoute, Op::kAdd, [](const Message& m) {
    return m.body.route.type == dp::api::RouteType::kInterface;
  });
  REQUIRE(vroute != nullptr);
  CHECK(vroute->body.route.out_ifindex == vti->body.interface.ifindex);
  CHECK(vroute->body.route.prefix_length == 26);
  CHECK(vroute->body.route.prefix.bytes[0] == 10);
  CHECK(vroute->body.route.prefix.bytes[3] == 128);
  const Message* def = Find(b, MessageKind::kRoute, Op::kAdd, [](const Message& m) {
    return m.body.route.type == dp::api::RouteType::kGateway;
  });
  REQUIRE(def != nullptr);
  CHECK(def->body.route.prefix_length == 0);
  CHECK(def->body.route.next_hop.bytes[3] == 193);
  // Interfaces come before the addresses and routes that refer to them.
  size_t last_if = 0, first_route = b.size();
  for (size_t i = 0; i < b.size(); ++i) {
    if (b[i].header.kind == MessageKind::kInterface) last_if = i;
    if (b[i].header.kind == MessageKind::kRoute) first_route = std::min(first_route, i);
  }
  CHECK(last_if < first_route);
}

TEST_CASE("reload: only the difference is sent; an identical file sends nothing",
          "[vpnd][dataplane]") {
  Rig r;
  std::string base = ReadFile("configs/vyatta-west.conf");
  REQUIRE(r.vpnd->LoadFile("configs/vyatta-west.conf").ok());
  REQUIRE(r.vpnd->LoadFile("configs/vyatta-west.conf").ok());
  CHECK(r.dp.Batches().size() == 1);
  std::string changed = base;
  changed.replace(changed.find("172.16.0.5/30"), 13, "172.16.0.9/30");
  changed.replace(changed.find("set protocols static route 0.0.0.0/0 next-hop 169.50.194.193"), 60,
                  "");
  std::string path = WriteFile(changed);
  REQUIRE(r.vpnd->LoadFile(path).ok());
  auto batches = r.dp.Batches();
  REQUIRE(batches.size() == 2);
  const auto& b = batches[1];
  CHECK(b.size() == 3);  // no flush after the first commit
  CHECK(Count(b, MessageKind::kAddress, Op::kDelete) == 1);
  CHECK(Count(b, MessageKind::kAddress, Op::kAdd) == 1);
  CHECK(Count(b, MessageKind::kRoute, Op::kDelete) == 1);
  CHECK(b[0].header.op == Op::kDelete);  // deletes first
  std::remove(path.c_str());
}

TEST_CASE("all or nothing: a batch the dataplane refuses changes nothing", "[vpnd][dataplane]") {
  Rig r;
  REQUIRE(r.vpnd->LoadFile("configs/vyatta-west.conf").ok());
  auto running = r.vpnd->running();
  r.dp.SetVerdict([](const std::vector<Message>&) {
    return dp::api::ApplyResult{absl::FailedPreconditionError("fib full"), 1};
  });
  std::string changed = ReadFile("configs/vyatta-west.conf");
  changed.replace(changed.find("172.16.0.5/30"), 13, "172.16.0.9/30");
  std::string path = WriteFile(changed);
  absl::Status st = r.vpnd->LoadFile(path);
  CHECK_FALSE(st.ok());
  CHECK(absl::StrContains(st.message(), "the dataplane refused the batch"));
  CHECK(absl::StrContains(st.message(), "fib full"));
  CHECK(r.vpnd->running().size() == running.size());
  CHECK(r.vpnd->config_path() == "configs/vyatta-west.conf");
  // Once the dataplane accepts, the same difference goes again.
  r.dp.SetVerdict(nullptr);
  REQUIRE(r.vpnd->LoadFile(path).ok());
  auto batches = r.dp.Batches();
  REQUIRE(batches.size() == 3);
  CHECK(batches[2].size() == 2);
  std::remove(path.c_str());
}

TEST_CASE("a vpnd attaching to a dataplane another vpnd programmed replaces its state",
          "[vpnd][dataplane]") {
  // A real dataplane refuses "interface exists" when a restarted vpnd adds what its predecessor
  // left: play that, and check the flush makes the first commit go through, and that a refused
  // first commit keeps the flush for the next attempt.
  Rig r;
  int attempts = 0;
  r.dp.SetVerdict([&attempts](const std::vector<Message>& b) {
    ++attempts;
    if (attempts == 1) return dp::api::ApplyResult{absl::UnavailableError("busy"), 0};
    if (b.empty() || b[0].header.kind != MessageKind::kFlush) {
      return dp::api::ApplyResult{absl::AlreadyExistsError("interface 1 exists"), 0};
    }
    return dp::api::ApplyResult{};
  });
  CHECK_FALSE(r.vpnd->LoadFile("configs/vyatta-west.conf").ok());
  REQUIRE(r.vpnd->LoadFile("configs/vyatta-west.conf").ok());
  auto batches = r.dp.Batches();
  REQUIRE(batches.size() == 2);
  CHECK(batches[1][0].header.kind == MessageKind::kFlush);
  CHECK(absl::StrContains(r.log.Recent(), "flushed, then"));
}

TEST_CASE("a file with errors is refused with its line numbers; nothing is sent",
          "[vpnd][dataplane]") {
  Rig r;
  REQUIRE(r.vpnd->LoadFile("configs/vyatta-west.conf").ok());
  std::string path = WriteFile(
      "set security vpn ipsec ike-group X proposal 1 encryption aes999\n"
      "set interfaces dataplane dp0p1s1 address 10.0.0.1/24\n");
  absl::Status st = r.vpnd->LoadFile(path);
  CHECK_FALSE(st.ok());
  CHECK(absl::StrContains(st.message(), "line 1"));
  CHECK(absl::StrContains(st.message(), "nothing changed"));
  CHECK(r.dp.Batches().size() == 1);
  auto out = r.vpnd->Command({"load", path});
  CHECK_FALSE(out.ok());
  std::remove(path.c_str());
}

TEST_CASE("a commit whose ack comes late completes then; running matches the dataplane",
          "[vpnd][dataplane][consistency]") {
  Rig r(absl::Milliseconds(100));
  AckFirstBatchLate(r);
  absl::Status st = r.vpnd->LoadFile("configs/vyatta-west.conf");
  CHECK(absl::IsDeadlineExceeded(st));
  CHECK(absl::StrContains(st.message(), "outcome is unknown"));
  CHECK(r.vpnd->running().empty());
  // Another commit meanwhile would diff against a state nobody knows: refused.
  CHECK(absl::IsUnavailable(r.vpnd->LoadFile("configs/vyatta-west.conf")));
  absl::Time end = absl::Now() + absl::Seconds(2);
  while (r.link->unacknowledged() > 0 && absl::Now() < end) {
    r.vpnd->Poll();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  INFO(r.log.Recent());
  CHECK(r.link->unacknowledged() == 0);
  CHECK_FALSE(r.vpnd->running().empty());
  CHECK(absl::StrContains(r.log.Recent(), "configuration committed: 1 peer"));
  // The next commit of the same file has nothing left to send.
  REQUIRE(r.vpnd->LoadFile("configs/vyatta-west.conf").ok());
  CHECK(r.dp.Batches().size() == 1);
}

TEST_CASE("a start whose whole batch is over --max-batch-messages is refused loudly, not sent",
          "[vpnd][dataplane]") {
  dp::api::ServerOptions small;
  small.max_batch_messages = 4096;
  Rig r(absl::Seconds(2), nullptr, small);
  std::string text = BigFirewall({"A", "B", "C"});
  for (int i = 0; i < 1100; ++i)
    text += absl::StrCat("set protocols static route 10.100.", i / 200, ".", i % 200,
                         "/32 next-hop 192.0.2.254\n");
  std::string path = WriteFile(text);
  absl::Status st = r.vpnd->LoadFile(path);
  REQUIRE_FALSE(st.ok());
  INFO(st.message());
  CHECK(absl::StrContains(
      st.message(),
      "--max-batch-messages; 3007 of them the firewall's; largest rulesets: A (1001)"));
  CHECK(r.vpnd->oversized_batches() == 1);
  // Counted where the dataplane counts its own refusals (`dpctl show channel`).
  CHECK(dp::api::LoadShared(r.client->header().counters.rejects[static_cast<size_t>(
            dp::api::RejectReason::kBatchTooLarge)]) == 1);
  CHECK(r.dp.Batches().empty());
  CHECK(absl::StrContains(r.log.Recent(), "more than the 4096 vpn-dataplane takes in one batch"));
  std::remove(path.c_str());
}

TEST_CASE("a start of 50,000 static routes goes to the dataplane as one streamed batch",
          "[vpnd][dataplane][stream]") {
  Rig r;
  std::string text = "set interfaces dataplane dp0p1s1 address 192.0.2.1/24\n";
  for (int i = 0; i < 50000; ++i)
    text += absl::StrCat("set protocols static route 10.", i / 65536 + 100, ".", (i / 256) % 256,
                         ".", i % 256, "/32 next-hop 192.0.2.254\n");
  std::string path = WriteFile(text);
  absl::Status st = r.vpnd->LoadFile(path);
  INFO(st.message());
  REQUIRE(st.ok());
  REQUIRE(r.dp.Batches().size() == 1);
  CHECK(r.dp.Batches()[0].size() > 50000);
  CHECK(Count(r.dp.Batches()[0], MessageKind::kRoute, Op::kAdd) == 50000);
  CHECK(r.vpnd->oversized_batches() == 0);
  std::remove(path.c_str());
}

namespace {

vpnd::FwRulesetTelemetry Counted(uint32_t id, std::vector<uint32_t> rules) {
  vpnd::FwRulesetTelemetry t;
  t.id = id;
  t.default_counters = {7, 700, 0};
  for (uint32_t n : rules) t.rules[n] = {n, n * 100, 0};
  return t;
}

}  // namespace

TEST_CASE("clear firewall baselines go with the rulesets and rules a commit deletes",
          "[vpnd][firewall]") {
  vpnd::VpndLog log{"", false};
  auto clock = [] { return absl::FromUnixSeconds(1767225600); };
  vpnd::LoggingSaInstaller installer{clock, &log};
  vpnd::VpndDeps deps;
  deps.clock = clock;
  deps.send = [](const ike::Datagram&) {};
  deps.log = &log;
  deps.installer = &installer;
  vpnd::Vpnd v(deps);
  const std::string fw =
      "set interfaces dataplane dp0p1s1 address 192.0.2.1/24\n"
      "set security firewall name A rule 1 action accept\n"
      "set security firewall name A rule 2 action accept\n"
      "set security firewall name B rule 1 action accept\n"
      "set security firewall name B rule 2 action accept\n"
      "set interfaces dataplane dp0p1s1 firewall in B\n";
  std::string first = WriteFile(fw + "set interfaces dataplane dp0p1s1 firewall in A\n");
  REQUIRE(v.LoadFile(first).ok());
  // Ids by name from 1: A is 1, B is 2.
  v.firewall_baselines().Clear(Counted(1, {1, 2}), 0);
  v.firewall_baselines().Clear(Counted(2, {1, 2}), 0);
  REQUIRE(v.firewall_baselines().size() == 6);
  // A goes; B's rule 1 changes (sent as delete + add: its counters start over); rule 2 stays.
  std::string text =
      "set interfaces dataplane dp0p1s1 address 192.0.2.1/24\n"
      "set security firewall name B rule 1 action drop\n"
      "set security firewall name B rule 2 action accept\n"
      "set interfaces dataplane dp0p1s1 firewall in B\n";
  std::string second = WriteFile(text);
  REQUIRE(v.LoadFile(second).ok());
  CHECK(v.firewall_baselines().size() == 2);  // B's default and rule 2
  vpnd::FwTelemetry t;
  t.rulesets[2] = Counted(2, {1, 2});
  t.rulesets[2].rules[1] = {3, 300, 0};  // counted from zero since the change
  t.rulesets[2].rules[2] = {9, 900, 0};
  v.firewall_baselines().Apply(t);
  CHECK(t.rulesets[2].rules[1].packets == 3);
  CHECK(t.rulesets[2].rules[2].packets == 7);
  std::remove(first.c_str());
  std::remove(second.c_str());
}

TEST_CASE("clear firewall baselines all go when the dataplane restarts", "[vpnd][firewall]") {
  Rig r;
  REQUIRE(r.vpnd->LoadFile("configs/vyatta-east.conf").ok());
  r.vpnd->firewall_baselines().Clear(Counted(1, {1, 2}), 0);
  REQUIRE(r.vpnd->firewall_baselines().size() == 3);
  r.dp.Restart();
  r.now += absl::Seconds(2);
  for (int i = 0; i < 200 && r.dp.Batches().empty(); ++i) {
    r.vpnd->Poll();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  INFO(r.log.Recent());
  REQUIRE(absl::StrContains(r.log.Recent(), "the dataplane restarted"));
  CHECK(r.vpnd->firewall_baselines().size() == 0);
}

TEST_CASE("a resync the channel did not take is sent again once the dataplane consumes",
          "[vpnd][dataplane][stream]") {
  Rig r;
  std::string text = "set interfaces dataplane dp0p1s1 address 192.0.2.1/24\n";
  for (int i = 0; i < 10000; ++i)
    text += absl::StrCat("set protocols static route 10.", 100 + i / 65536, ".", (i / 256) % 256,
                         ".", i % 256, "/32 next-hop 192.0.2.254\n");
  std::string path = WriteFile(text);
  REQUIRE(r.vpnd->LoadFile(path).ok());
  // The dataplane restarts and is busy: the resync's batch (more than the ring) stalls.
  r.dp.PauseCommands(true);
  r.dp.Restart();
  r.vpnd->Poll();
  INFO(r.log.Recent());
  CHECK(absl::StrContains(r.log.Recent(), "the dataplane did not take the configuration"));
  CHECK(r.dp.Batches().empty());
  r.dp.PauseCommands(false);
  r.now += absl::Seconds(2);
  absl::Time end = absl::Now() + absl::Seconds(10);
  while (r.dp.Batches().empty() && absl::Now() < end) {
    r.vpnd->Poll();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  REQUIRE(r.dp.Batches().size() == 1);
  CHECK(Count(r.dp.Batches()[0], MessageKind::kRoute, Op::kAdd) == 10000);
  std::remove(path.c_str());
}

TEST_CASE("a commit after a resync the channel did not take does the resync's work, once",
          "[vpnd][dataplane][stream]") {
  Rig r;
  auto routes = [](int n) {
    std::string text = "set interfaces dataplane dp0p1s1 address 192.0.2.1/24\n";
    for (int i = 0; i < n; ++i)
      text += absl::StrCat("set protocols static route 10.", 100 + i / 65536, ".", (i / 256) % 256,
                           ".", i % 256, "/32 next-hop 192.0.2.254\n");
    return text;
  };
  std::string path = WriteFile(routes(10000));
  REQUIRE(r.vpnd->LoadFile(path).ok());
  r.dp.PauseCommands(true);
  r.dp.Restart();
  r.vpnd->Poll();
  REQUIRE(absl::StrContains(r.log.Recent(), "the dataplane did not take the configuration"));
  r.dp.PauseCommands(false);
  // An operator commits before the retry is due: it sends everything (running_ is empty).
  REQUIRE(r.vpnd->LoadFile(path).ok());
  REQUIRE(r.dp.Batches().size() == 1);
  // The retry's time passes: nothing is sent again (it would be refused as existing).
  r.now += absl::Seconds(5);
  for (int i = 0; i < 20; ++i) {
    r.vpnd->Poll();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  INFO(r.log.Recent());
  CHECK(r.dp.Batches().size() == 1);
  CHECK_FALSE(absl::StrContains(r.log.Recent(), "refused"));
  // And the next change is a diff, applied.
  std::string more = WriteFile(routes(10001));
  REQUIRE(r.vpnd->LoadFile(more).ok());
  REQUIRE(r.dp.Batches().size() == 2);
  CHECK(r.dp.Batches()[1].size() == 1);
  std::remove(path.c_str());
  std::remove(more.c_str());
}
