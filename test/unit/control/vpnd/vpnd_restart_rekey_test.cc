// vpnd after a dataplane restart: the reinstalled CHILD SAs number their packets from 1 again,
// under the peers' replay windows, so each is rekeyed make-before-break (32 every 10 ms) and
// followed until new SAs replace it: a rekey in flight at the restart, or refused by the peer,
// is seen through; one from a notify-ipsec virtual address waits for the group's report.
#include <catch2/catch.hpp>

#include <cstdio>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "ike/encoding/message.h"
#include "test/unit/control/vpnd/vpnd_test_rig.h"

using namespace portcullis;
using namespace portcullis::vpnd::testing;

namespace {

// How many times `text` is in vpnd's log.
size_t Occurrences(Rig& r, const std::string& text) {
  const std::string log = r.log.Recent();
  size_t n = 0;
  for (size_t p = 0; (p = log.find(text, p)) != std::string::npos; p += text.size()) ++n;
  return n;
}

// Whether a batch of the (restarted) dataplane adds the SA `spi`.
bool Added(Rig& r, uint32_t spi) {
  for (const auto& b : r.dp.Batches()) {
    if (Find(b, MessageKind::kSa, Op::kAdd,
             [&](const Message& m) { return m.body.sa.spi == spi; }) != nullptr) {
      return true;
    }
  }
  return false;
}

// vpnd with kOneTunnel and east, the CHILD SA up.
struct OneTunnelUp {
  Rig r;
  std::string file = WriteFile(kOneTunnel);
  East east{r};
  uint32_t ours = 0;  // our inbound SPI of the CHILD SA
  OneTunnelUp() {
    REQUIRE(r.vpnd->LoadFile(file).ok());
    east.mgr->SetPeers({MirrorPeer(kOneTunnel)});
    Pump(r, east);
    const ike::ChildSa* ec = EastChild(east);
    REQUIRE(ec != nullptr);
    ours = ec->spi_out;
  }
  ~OneTunnelUp() { std::remove(file.c_str()); }

  // East's one CHILD SA, new since the set-up, with our inbound SA in the (new) dataplane.
  const ike::ChildSa* NewChild() {
    const ike::ChildSa* ec = EastChild(east);
    REQUIRE(ec != nullptr);
    CHECK(ec->spi_out != ours);
    CHECK(Added(r, ec->spi_out));
    return ec;
  }
};

}  // namespace

TEST_CASE("after a dataplane restart the CHILD SAs are rekeyed 32 every 10 ms, not at once",
          "[vpnd][dataplane][restart]") {
  // 40 policy-based tunnels to one peer: more CHILD SAs than one pacing round takes.
  std::string text = kOneTunnel;
  for (int t = 2; t <= 40; ++t) {
    absl::StrAppend(&text, "set security vpn ipsec site-to-site peer 192.0.2.2 tunnel ", t,
                    " local prefix 10.1.", t, ".0/24\n",
                    "set security vpn ipsec site-to-site peer 192.0.2.2 tunnel ", t,
                    " remote prefix 10.2.", t, ".0/24\n");
  }
  Rig r;
  std::string mine = WriteFile(text);
  REQUIRE(r.vpnd->LoadFile(mine).ok());
  East east(r);
  east.mgr->SetPeers({MirrorPeer(text)});
  Pump(r, east);
  INFO(r.log.Recent());
  REQUIRE(east.Sa() != nullptr);
  REQUIRE(east.Sa()->children().size() == 40);
  absl::flat_hash_set<uint32_t> before;
  for (const auto& c : east.Sa()->children()) before.insert(c->spi_in);
  // How many of east's CHILD SAs are still the ones from before the restart.
  auto old_ones = [&] {
    size_t n = 0;
    for (const auto& c : east.Sa()->children()) n += before.contains(c->spi_in);
    return n;
  };

  r.dp.Restart();
  r.now += absl::Seconds(2);
  Pump(r, east);  // the clock stands still: one round
  CHECK(absl::StrContains(r.log.Recent(), "rekeying up to 40 CHILD_SA(s)"));
  REQUIRE(east.Sa() != nullptr);
  CHECK(east.Sa()->children().size() == 40);
  CHECK(old_ones() == 40 - 32);
  r.now += absl::Milliseconds(9);
  Pump(r, east);  // not yet 10 ms after the first round
  CHECK(old_ones() == 40 - 32);
  r.now += absl::Milliseconds(1);
  Pump(r, east);  // the second round takes the rest
  CHECK(old_ones() == 0);
  CHECK(east.Sa()->children().size() == 40);
  CHECK(r.installer->installed_children() == 40);
  std::remove(mine.c_str());
}

TEST_CASE(
    "after a dataplane restart the rekeys from a notify-ipsec virtual address wait for the "
    "group's first report, which stops IKE until MASTER",
    "[vpnd][dataplane][restart][vrrp]") {
  // The tunnel runs from 192.0.2.1, group 10's virtual address on dp0p1.
  std::string text = kOneTunnel;
  const std::string own = "set interfaces dataplane dp0p1 address 192.0.2.1/24\n";
  REQUIRE(absl::StrContains(text, own));
  text.replace(text.find(own), own.size(),
               "set interfaces dataplane dp0p1 address 192.0.2.10/24\n"
               "set interfaces dataplane dp0p1 vrrp vrrp-group 10 virtual-address 192.0.2.1\n"
               "set interfaces dataplane dp0p1 vrrp vrrp-group 10 notify ipsec\n");
  Rig r;
  std::string mine = WriteFile(text);
  REQUIRE(r.vpnd->LoadFile(mine).ok());
  East east(r);
  east.mgr->SetPeers({MirrorPeer(text)});
  const Message* port = Interface(r.dp.Batches().at(0), "dp0p1");
  REQUIRE(port != nullptr);
  const uint32_t ifindex = port->body.interface.ifindex;
  // As the dataplane reports a group: INIT once configured, before its machine starts; then
  // BACKUP, and MASTER after Master_Down_Interval (or at once as the address owner).
  using dp::api::VrrpReason;
  using dp::api::VrrpState;
  auto report = [&](VrrpState state, VrrpReason reason) {
    dp::api::Event e = dp::api::NewEvent(dp::api::EventKind::kVrrpState);
    e.body.vrrp_state.ifindex = ifindex;
    e.body.vrrp_state.vrid = 10;
    e.body.vrrp_state.state = state;
    e.body.vrrp_state.old_state = VrrpState::kInitialize;
    e.body.vrrp_state.reason = reason;
    r.dp.Post(e);
  };
  report(VrrpState::kInitialize, VrrpReason::kReport);
  Pump(r, east);
  REQUIRE(EastChild(east) == nullptr);  // IKE for the peer starts only on MASTER
  report(VrrpState::kMaster, VrrpReason::kMasterDown);
  Pump(r, east);
  INFO(r.log.Recent());
  const ike::ChildSa* ec = EastChild(east);
  REQUIRE(ec != nullptr);
  const uint32_t spi = ec->spi_in;

  r.dp.Restart();
  r.now += absl::Seconds(2);
  Pump(r, east);
  CHECK(absl::StrContains(r.log.Recent(), "notify ipsec: 1 CHILD_SA(s) from a virtual address"));
  CHECK_FALSE(absl::StrContains(r.log.Recent(), "rekeying up to"));
  r.now += absl::Seconds(1);
  Pump(r, east);
  ec = EastChild(east);
  REQUIRE(ec != nullptr);
  CHECK(ec->spi_in == spi);  // held: no report yet
  // The restarted machine's first report is INIT (configured, not started): not master, so
  // the held rekey is dropped and IKE for the peer stops, as for BACKUP ...
  report(VrrpState::kInitialize, VrrpReason::kReport);
  Pump(r, east);
  r.now += absl::Milliseconds(10);
  Pump(r, east);
  CHECK(absl::StrContains(r.log.Recent(),
                          "1 CHILD_SA(s) held since the dataplane restart are "
                          "not rekeyed"));
  CHECK(absl::StrContains(r.log.Recent(), "notify ipsec: stopping IKE for peer"));
  CHECK_FALSE(absl::StrContains(r.log.Recent(), "master here: rekeying"));
  // ... and starts again, with new SAs, when the group becomes MASTER.
  report(VrrpState::kMaster, VrrpReason::kOwner);
  for (int i = 0; i < 5; ++i) {
    r.now += absl::Seconds(1);
    Pump(r, east);
  }
  CHECK(absl::StrContains(r.log.Recent(), "notify ipsec: starting IKE for peer"));
  ec = EastChild(east);
  REQUIRE(ec != nullptr);
  CHECK(ec->spi_in != spi);
  std::remove(mine.c_str());
}

TEST_CASE_METHOD(
    OneTunnelUp,
    "a CHILD SA rekey in flight at the restart puts its new SAs into the new dataplane",
    "[vpnd][dataplane][restart]") {
  // We rekey; east's answer is delayed past the restart.
  std::vector<ike::Datagram> held;
  auto answer = [](const ike::Datagram& d) {
    return IsIke(d, ike::ExchangeType::kCreateChildSa, /*response=*/true);
  };
  REQUIRE(r.vpnd->ike().RekeyChild(ours));
  PumpHolding(r, east, answer, &held);
  REQUIRE(held.size() == 1);
  REQUIRE(Occurrences(r, "rekeying CHILD_SA") == 1);

  r.dp.Restart();
  r.now += absl::Seconds(2);
  PumpHolding(r, east, answer, &held);
  CHECK(absl::StrContains(r.log.Recent(), "rekeying up to 1 CHILD_SA(s)"));
  // The rekey in flight is what replaces the reinstalled SA: no second one while it lasts
  // (our retransmissions of it only).
  for (int i = 0; i < 6; ++i) {
    r.now += absl::Milliseconds(500);
    PumpHolding(r, east, answer, &held);
  }
  INFO(r.log.Recent());
  CHECK(Occurrences(r, "rekeying CHILD_SA") == 1);
  // The answer comes: the new SAs go into the new dataplane, the old ones out.
  r.dp.Punt(held.front());
  r.now += absl::Milliseconds(500);
  Pump(r, east);
  const ike::ChildSa* ec = NewChild();  // our new inbound SA
  CHECK(Added(r, ec->spi_in));          // and outbound
  for (int i = 0; i < 6; ++i) {         // the follow-up rounds see it replaced
    r.now += absl::Milliseconds(500);
    Pump(r, east);
  }
  CHECK(Occurrences(r, "rekeying CHILD_SA") == 1);
  CHECK(r.installer->installed_children() == 1);
}

TEST_CASE_METHOD(
    OneTunnelUp,
    "a restart rekey the peer refuses is asked again a second later, three times in all",
    "[vpnd][dataplane][restart]") {
  // East resets the tunnel (deletes the CHILD SA, then sets up a new one); its Delete is
  // delayed, so east answers our rekeys of an SA it is deleting with TEMPORARY_FAILURE
  // (RFC 7296 2.25.1).
  std::vector<ike::Datagram> held;
  auto east_request = [](const ike::Datagram& d) {
    return IsIke(d, ike::ExchangeType::kInformational, /*response=*/false);
  };
  REQUIRE(east.mgr->Reset("192.0.2.1", 1).ok());
  PumpHolding(r, east, east_request, &held);
  REQUIRE(held.size() == 1);

  r.dp.Restart();
  r.now += absl::Seconds(2);
  PumpHolding(r, east, east_request, &held);
  CHECK(absl::StrContains(r.log.Recent(), "rekeying up to 1 CHILD_SA(s)"));
  CHECK(Occurrences(r, "rekeying CHILD_SA") == 1);
  CHECK(Occurrences(r, "received TEMPORARY_FAILURE notify, retrying") == 1);
  // Asked again one to two seconds after each refusal (the follow-up rounds are a second apart
  // once the queue is empty), three times in all; each refusal also re-arms the IKE SA's own
  // retry 7.5-12.5 s later, which this case does not reach.
  std::vector<size_t> asked;
  for (int i = 0; i < 14; ++i) {
    r.now += absl::Milliseconds(500);
    PumpHolding(r, east, east_request, &held);
    asked.push_back(Occurrences(r, "rekeying CHILD_SA"));
  }
  INFO(r.log.Recent());
  INFO(absl::StrJoin(asked, " "));
  CHECK(asked[0] == 1);   // 0.5 s after the refusal: not yet
  CHECK(asked[1] == 1);   // 1 s: the round that sees the refusal waits a second more
  CHECK(asked[3] == 2);   // 2 s
  CHECK(asked[5] == 2);   // 3 s: the round that sees the second refusal
  CHECK(asked[7] == 3);   // 4 s
  CHECK(asked[13] == 3);  // 7 s: no fourth from the restart's follow-up
  CHECK(Occurrences(r, "received TEMPORARY_FAILURE notify, retrying") == 3);
  REQUIRE(r.vpnd->ike().Sas().size() == 1);
  const ike::ChildSa* still = nullptr;
  for (const auto& c : r.vpnd->ike().Sas()[0]->children()) {
    if (c->spi_in == ours) still = c.get();
  }
  REQUIRE(still != nullptr);  // refused, not replaced: still the reinstalled SA
  CHECK(still->state == ike::ChildSa::State::kInstalled);

  // East's Delete arrives: the SA goes, and east's new one comes up in the new dataplane.
  r.dp.Punt(held.front());
  Pump(r, east);
  NewChild();  // checks it is new and in the new dataplane
  CHECK(r.installer->installed_children() == 1);
}

TEST_CASE_METHOD(
    OneTunnelUp,
    "a rekey in flight at the restart that the peer refuses is asked again at the next round",
    "[vpnd][dataplane][restart]") {
  // Our rekey is on its way when east resets the tunnel (its Delete held): east refuses the
  // rekey of the SA it is deleting, and the refusal is delayed past the restart.
  std::vector<ike::Datagram> held;
  auto held_kinds = [](const ike::Datagram& d) {
    return IsIke(d, ike::ExchangeType::kInformational, /*response=*/false) ||
           IsIke(d, ike::ExchangeType::kCreateChildSa, /*response=*/true);
  };
  REQUIRE(r.vpnd->ike().RekeyChild(ours));
  REQUIRE(east.mgr->Reset("192.0.2.1", 1).ok());
  PumpHolding(r, east, held_kinds, &held);
  REQUIRE(held.size() == 2);  // east's Delete and its refusal
  REQUIRE(east.log.Has("answering TEMPORARY_FAILURE"));

  r.dp.Restart();
  r.now += absl::Seconds(2);
  PumpHolding(r, east, held_kinds, &held);  // the first round: ours in flight, followed
  INFO(r.log.Recent());
  CHECK(Occurrences(r, "rekeying CHILD_SA") == 1);
  r.dp.Punt(held[1]);
  PumpHolding(r, east, held_kinds, &held);
  // Refused: the reinstalled SA still carries traffic; the IKE SA's own retry is 7.5 s or more
  // away, the restart's next round a second.
  CHECK(Occurrences(r, "received TEMPORARY_FAILURE notify, retrying") == 1);
  CHECK(Occurrences(r, "rekeying CHILD_SA") == 1);
  r.now += absl::Seconds(1);
  PumpHolding(r, east, held_kinds, &held);
  CHECK(Occurrences(r, "rekeying CHILD_SA") == 2);
}

TEST_CASE("a rekey queued behind another exchange at the restart is followed, not asked twice",
          "[vpnd][dataplane][restart]") {
  Rig r;
  const std::string file = WriteFile(kTwoTunnels);
  East east{r};
  REQUIRE(r.vpnd->LoadFile(file).ok());
  east.mgr->SetPeers({MirrorPeer(kTwoTunnels)});
  Pump(r, east);
  REQUIRE(east.Sa() != nullptr);
  REQUIRE(east.Sa()->children().size() == 2);
  const uint32_t first = east.Sa()->children()[0]->spi_out;
  const uint32_t second = east.Sa()->children()[1]->spi_out;
  // Our rekey of the first tunnel's SA is in flight (east's answer held); the second's waits
  // behind it in the IKE SA's queue (one exchange at a time), not yet sent.
  std::vector<ike::Datagram> held;
  auto answer = [](const ike::Datagram& d) {
    return IsIke(d, ike::ExchangeType::kCreateChildSa, /*response=*/true);
  };
  REQUIRE(r.vpnd->ike().RekeyChild(first));
  PumpHolding(r, east, answer, &held);
  REQUIRE(r.vpnd->ike().RekeyChild(second));
  PumpHolding(r, east, answer, &held);
  REQUIRE(held.size() == 1);
  REQUIRE(Occurrences(r, "rekeying CHILD_SA") == 1);

  r.dp.Restart();
  r.now += absl::Seconds(2);
  PumpHolding(r, east, answer, &held);
  CHECK(absl::StrContains(r.log.Recent(), "rekeying up to 2 CHILD_SA(s)"));
  for (int i = 0; i < 6; ++i) {
    r.now += absl::Milliseconds(500);
    PumpHolding(r, east, answer, &held);
  }
  CHECK(Occurrences(r, "rekeying CHILD_SA") == 1);  // neither asked again while they wait
  REQUIRE(r.vpnd->ike().Sas().size() == 1);
  CHECK(r.vpnd->ike().Sas()[0]->queued_tasks() == 1);  // the second's rekey, and no copy of it
  // The first answer comes; the queued rekey goes next; both answered: each SA rekeyed once,
  // the new SAs in the new dataplane, and the follow-up rounds ask for nothing more.
  r.dp.Punt(held.front());
  for (int i = 0; i < 8; ++i) {
    r.now += absl::Milliseconds(500);
    Pump(r, east);
  }
  INFO(r.log.Recent());
  CHECK(Occurrences(r, "rekeying CHILD_SA") == 2);
  REQUIRE(east.Sa()->children().size() == 2);
  for (const auto& c : east.Sa()->children()) {
    CHECK(c->spi_out != first);
    CHECK(c->spi_out != second);
    CHECK(Added(r, c->spi_out));
  }
  CHECK(r.installer->installed_children() == 2);
  std::remove(file.c_str());
}
