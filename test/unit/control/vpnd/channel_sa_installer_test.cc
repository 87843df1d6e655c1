// The channel transport's SA installer against a real ChannelServer in this process: VTI
// bindings, policies answered Unimplemented, refusals and retries, removals of one IKE event in
// one batch, NAT rebinding, its get-SPI and its counters. vpnd end to end over the channel (a
// second IKE engine as the peer; events; show) is vpnd_channel_test.cc.
#include <catch2/catch.hpp>

#include <atomic>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "test/unit/control/vpnd/vpnd_test_rig.h"

using namespace portcullis;
using namespace portcullis::vpnd::testing;

TEST_CASE("policy-based tunnels: policies answered Unimplemented are reported clearly",
          "[vpnd][dataplane][sa]") {
  Rig r;
  r.dp.SetVerdict([](const std::vector<Message>& b) {
    for (const Message& m : b) {
      if (m.header.kind == MessageKind::kPolicy) {
        return dp::api::ApplyResult{absl::UnimplementedError("policies are not implemented"), 0};
      }
    }
    return dp::api::ApplyResult{};
  });
  std::string mine = WriteFile(kOneTunnel);
  REQUIRE(r.vpnd->LoadFile(mine).ok());
  auto cfg = MirrorPeer(kOneTunnel);
  East east(r);
  east.mgr->SetPeers({cfg});
  Pump(r, east);
  INFO(r.log.Recent());
  auto all = r.dp.Batches();
  REQUIRE(all.size() == 3);  // commit, SAs, the refused policies
  CHECK(Count(all[1], MessageKind::kSa, Op::kAdd) == 2);
  CHECK(all[1][0].body.sa.cipher == dp::api::Cipher::kAesCbc256);
  CHECK(all[1][0].body.sa.auth == dp::api::Auth::kHmacSha256_128);
  CHECK(all[1][0].body.sa.auth_key_length == 32);
  CHECK(all[1][0].body.sa.vti_ifindex == 0);
  CHECK(Count(all[2], MessageKind::kPolicy, Op::kAdd) == 2);
  const Message* po = Find(all[2], MessageKind::kPolicy, Op::kAdd, [](const Message& m) {
    return m.body.policy.direction == dp::api::Direction::kOut;
  });
  REQUIRE(po != nullptr);
  CHECK(po->body.policy.src.bytes[1] == 1);
  CHECK(po->body.policy.dst.bytes[1] == 2);
  CHECK(po->body.policy.src_prefix_length == 24);
  CHECK(po->body.policy.action == dp::api::PolicyAction::kProtect);
  CHECK(po->body.policy.out_spi == all[1][1].body.sa.spi);
  CHECK(r.log.Recent().find("not installed: the dataplane answered Unimplemented (no SPD for "
                            "policy-based tunnels in this dataplane yet)") != std::string::npos);
  std::remove(mine.c_str());
}

TEST_CASE("a CHILD SA the dataplane refuses is deleted in IKE and created again later",
          "[vpnd][dataplane][sa][consistency]") {
  Rig r;
  East east(r);
  std::atomic<int> refusals{1};
  r.dp.SetVerdict([&](const std::vector<Message>& b) {
    if (Count(b, MessageKind::kSa, Op::kAdd) > 0 && refusals.fetch_sub(1) > 0) {
      return dp::api::ApplyResult{absl::ResourceExhaustedError("SAD full"), 0};
    }
    return dp::api::ApplyResult{};
  });
  REQUIRE(r.vpnd->LoadFile("configs/vyatta-west.conf").ok());
  Pump(r, east);
  INFO(r.log.Recent());
  CHECK(absl::StrContains(r.log.Recent(),
                          "SAD full: the CHILD_SA is deleted and created again later"));
  CHECK(absl::StrContains(r.log.Recent(), "could not be installed"));
  CHECK(r.installer->installed_children() == 0);
  REQUIRE(east.Sa() != nullptr);  // the IKE SA stays
  CHECK(EastChild(east) == nullptr);
  auto shown = r.vpnd->Command({"show", "vpn", "ipsec", "sa"});
  REQUIRE(shown.ok());
  CHECK_FALSE(absl::StrContains(*shown, " up "));
  // The re-initiation delay later, the CHILD SA is back, and installed.
  r.now += absl::Seconds(11);
  Pump(r, east);
  REQUIRE(EastChild(east) != nullptr);
  CHECK(r.installer->installed_children() == 1);
  CHECK(absl::StrContains(r.log.Recent(), "installed ESP SAs"));
}

TEST_CASE("a removal the dataplane refuses is retried; bindings change only once applied",
          "[vpnd][dataplane][sa][consistency]") {
  Rig r;
  East east(r);
  REQUIRE(r.vpnd->LoadFile("configs/vyatta-west.conf").ok());
  Pump(r, east);
  REQUIRE(EastChild(east) != nullptr);
  REQUIRE(r.installer->installed_children() == 1);
  std::atomic<int> refusals{1};
  r.dp.SetVerdict([&](const std::vector<Message>& b) {
    if (Count(b, MessageKind::kSa, Op::kDelete) > 0 && refusals.fetch_sub(1) > 0) {
      return dp::api::ApplyResult{absl::FailedPreconditionError("tables busy"), 0};
    }
    return dp::api::ApplyResult{};
  });
  REQUIRE(r.vpnd->Command({"reset", "vpn", "ipsec-peer", "159.8.98.213"}).ok());
  Pump(r, east);
  INFO(r.log.Recent());
  CHECK(absl::StrContains(r.log.Recent(), "tables busy: retrying the removal of 1 CHILD_SA"));
  CHECK(r.installer->removals_to_retry() == 1);
  r.now += absl::Seconds(2);
  Pump(r, east);
  CHECK(r.installer->removals_to_retry() == 0);
  CHECK(BatchesWith(r.dp.Batches(), MessageKind::kSa, Op::kDelete) == 2);
  CHECK(absl::StrContains(r.log.Recent(), "removed ESP SAs"));
  // The new CHILD SA of the re-established IKE SA is the only one left, and the VTI is bound
  // to it.
  REQUIRE(EastChild(east) != nullptr);
  CHECK(r.installer->installed_children() == 1);
  const auto all = r.dp.Batches();
  const Message* last_bind = nullptr;
  for (const auto& b : all) {
    for (const Message& m : b) {
      if (m.header.kind == MessageKind::kVtiBinding) last_bind = &m;
    }
  }
  REQUIRE(last_bind != nullptr);
  CHECK(last_bind->header.op != Op::kDelete);
  CHECK(last_bind->body.vti_binding.out_spi == EastChild(east)->spi_in);
}

TEST_CASE("the CHILD SAs of one IKE SA are removed in one batch",
          "[vpnd][dataplane][sa][consistency]") {
  Rig r;
  std::string mine = WriteFile(kTwoTunnels);
  REQUIRE(r.vpnd->LoadFile(mine).ok());
  East east(r);
  east.mgr->SetPeers({MirrorPeer(kTwoTunnels)});
  Pump(r, east);
  INFO(r.log.Recent());
  REQUIRE(east.Sa() != nullptr);
  REQUIRE(east.Sa()->children().size() == 2);
  REQUIRE(r.installer->installed_children() == 2);
  size_t before = r.dp.Batches().size();
  REQUIRE(r.vpnd->Command({"reset", "vpn", "ipsec-peer", "192.0.2.2"}).ok());
  Pump(r, east);
  auto all = r.dp.Batches();
  size_t removal_batches = 0;
  for (size_t i = before; i < all.size(); ++i) {
    if (Count(all[i], MessageKind::kSa, Op::kDelete) == 0) continue;
    ++removal_batches;
    CHECK(Count(all[i], MessageKind::kSa, Op::kDelete) == 4);
    CHECK(Count(all[i], MessageKind::kPolicy, Op::kDelete) == 4);  // in the same batch
  }
  CHECK(removal_batches == 1);
  std::remove(mine.c_str());
}

TEST_CASE("a removal decided before the install's ack comes unbinds the VTI too",
          "[vpnd][dataplane][consistency]") {
  // The dataplane holds the SA install until the test lets it go.
  HeldSaInstall hold;
  Rig r(absl::Milliseconds(100));
  East east(r);
  hold.Arm(r);
  REQUIRE(r.vpnd->LoadFile("configs/vyatta-west.conf").ok());
  Pump(r, east);
  INFO(r.log.Recent());
  REQUIRE(r.link->unacknowledged() == 1);  // the install, still unanswered
  REQUIRE(r.vpnd->Command({"reset", "vpn", "ipsec-peer", "159.8.98.213"}).ok());
  hold.Release();
  Settle(r, east, absl::Milliseconds(300));
  INFO(r.log.Recent());
  auto all = r.dp.Batches();
  const std::vector<Message>* removal = nullptr;
  for (const auto& b : all) {
    if (Count(b, MessageKind::kSa, Op::kDelete) > 0) removal = &b;
  }
  REQUIRE(removal != nullptr);
  // The VTI pointed at the SA being removed: the same batch re-points or unbinds it first.
  CHECK(Count(*removal, MessageKind::kVtiBinding, Op::kDelete) +
            Count(*removal, MessageKind::kVtiBinding, Op::kUpdate) ==
        1);
  CHECK((*removal)[0].header.kind == MessageKind::kVtiBinding);
  CHECK(r.link->unacknowledged() == 0);
  CHECK(r.installer->removals_to_retry() == 0);
}

TEST_CASE("a NAT rebinding re-pushes the outbound SA with the new port",
          "[vpnd][dataplane][sa][nat]") {
  Rig r;
  East east(r);
  auto cfg = std::make_shared<ike::IkeSaConfig>(*east.cfg);
  cfg->force_encap = true;  // claims a NAT: both ends use UDP encapsulation
  east.mgr->SetPeers({cfg});
  REQUIRE(r.vpnd->LoadFile("configs/vyatta-west.conf").ok());
  Pump(r, east);
  INFO(r.log.Recent());
  const ike::ChildSa* ec = EastChild(east);
  REQUIRE(ec != nullptr);
  REQUIRE(ec->encap);
  size_t before = r.dp.Batches().size();
  // The NAT in front of east now maps it to port 4501.
  auto rebind = [](ike::Datagram& d) { d.src.port = 4501; };
  REQUIRE(east.mgr->RekeyChild(ec->spi_in));
  Pump(r, east, rebind);
  auto all = r.dp.Batches();
  const Message* update = nullptr;
  for (size_t i = before; i < all.size() && update == nullptr; ++i) {
    update = Find(all[i], MessageKind::kSa, Op::kUpdate);
  }
  REQUIRE(update != nullptr);
  CHECK(update->body.sa.direction == dp::api::Direction::kOut);
  CHECK(update->body.sa.udp_encap == 1);
  CHECK(update->body.sa.encap_dst_port == 4501);
  CHECK(absl::StrContains(r.log.Recent(), "now sends to 159.8.98.213[4501]"));
}

TEST_CASE("outbound ESP leaves at TTL 255, as Vyatta's (the seed's PubOut line)",
          "[vpnd][dataplane][sa]") {
  Rig r;
  East east(r);
  REQUIRE(r.vpnd->LoadFile("configs/vyatta-west.conf").ok());
  Pump(r, east);
  int out = 0, in = 0;
  for (const auto& b : r.dp.Batches()) {
    for (const Message& m : b) {
      if (m.header.kind != MessageKind::kSa || m.header.op != Op::kAdd) continue;
      if (m.body.sa.direction == dp::api::Direction::kOut) {
        CHECK(m.body.sa.outer_ttl == 255);
        ++out;
      } else {
        CHECK(m.body.sa.outer_ttl == 0);
        ++in;
      }
    }
  }
  CHECK(out >= 1);
  CHECK(in >= 1);
}

// ---- The installer on its own, with CHILD SAs made up for it ----

TEST_CASE("get-SPI: random with charon's prefix, never an SPI the dataplane may still hold",
          "[vpnd][dataplane][sa][spi]") {
  Rig r;
  std::set<uint32_t> seen;
  for (int i = 0; i < 32; ++i) {
    absl::StatusOr<uint32_t> spi = r.installer->GetSpi();
    REQUIRE(spi.ok());
    CHECK(*spi >= 256);
    CHECK(*spi >> 28 == 0xc);
    seen.insert(*spi);
  }
  CHECK(seen.size() == 32);
  // From the install until the removal is applied, the SPI is the dataplane's: IKE releases it
  // when the CHILD SA goes down, but a refused removal leaves the SA in place.
  auto child = MakeChild(0xc0000101, 0xc0000202);
  CHECK_FALSE(r.installer->SpiInUse(0xc0000101));
  r.installer->AddSa(*child, 0);
  REQUIRE(r.installer->installed_children() == 1);
  CHECK(r.installer->SpiInUse(0xc0000101));
  CHECK_FALSE(r.installer->SpiInUse(0xc0000202));  // the peer's SPI: another number space
  r.dp.SetVerdict([](const std::vector<Message>& b) {
    if (Count(b, MessageKind::kSa, Op::kDelete) > 0) {
      return dp::api::ApplyResult{absl::FailedPreconditionError("tables busy"), 0};
    }
    return dp::api::ApplyResult{};
  });
  r.installer->DelSa(*child);
  r.installer->FlushRemovals();
  REQUIRE(r.installer->removals_to_retry() == 1);
  CHECK(r.installer->SpiInUse(0xc0000101));
  r.dp.SetVerdict(nullptr);
  r.now += absl::Seconds(2);
  r.installer->RetryRemovals();
  CHECK(r.installer->removals_to_retry() == 0);
  CHECK_FALSE(r.installer->SpiInUse(0xc0000101));
}

TEST_CASE("query_sa answers from the counters the dataplane last reported",
          "[vpnd][dataplane][sa][counters]") {
  Rig r;
  auto child = MakeChild(0xc0000101, 0xc0000202);
  r.installer->AddSa(*child, 0);
  REQUIRE(r.installer->installed_children() == 1);
  auto counters = CountersEvent;
  auto query = [&](uint32_t spi, vpnd::SaDirection dir) { return r.installer->QuerySa(spi, dir); };
  // Installed, but nothing heard yet.
  CHECK(absl::IsNotFound(query(0xc0000101, vpnd::SaDirection::kIn).status()));
  r.dp.Post(counters(0xc0000101, dp::api::Direction::kIn, 1500, 3));
  REQUIRE(PollLinkUntil(r, [&] { return query(0xc0000101, vpnd::SaDirection::kIn).ok(); }));
  CHECK(query(0xc0000101, vpnd::SaDirection::kIn)->bytes == 1500);
  CHECK(query(0xc0000101, vpnd::SaDirection::kIn)->packets == 3);
  CHECK(absl::IsNotFound(query(0xc0000202, vpnd::SaDirection::kOut).status()));
  // The outbound SA by the peer's SPI; a later report replaces the earlier one.
  r.dp.Post(counters(0xc0000202, dp::api::Direction::kOut, 700, 2));
  r.dp.Post(counters(0xc0000101, dp::api::Direction::kIn, 3000, 6));
  REQUIRE(PollLinkUntil(r, [&] {
    auto in = query(0xc0000101, vpnd::SaDirection::kIn);
    return query(0xc0000202, vpnd::SaDirection::kOut).ok() && in.ok() && in->bytes == 3000;
  }));
  CHECK(query(0xc0000202, vpnd::SaDirection::kOut)->bytes == 700);
  CHECK(query(0xc0000202, vpnd::SaDirection::kOut)->packets == 2);
  CHECK(query(0xc0000101, vpnd::SaDirection::kIn)->packets == 6);
  // The direction is part of the question.
  CHECK(absl::IsNotFound(query(0xc0000101, vpnd::SaDirection::kOut).status()));
  // Reports for SAs vpnd did not install are not kept.
  r.dp.Post(counters(0xc0000999, dp::api::Direction::kIn, 1, 1));
  r.dp.Post(counters(0xc0000101, dp::api::Direction::kIn, 4000, 8));
  REQUIRE(
      PollLinkUntil(r, [&] { return query(0xc0000101, vpnd::SaDirection::kIn)->bytes == 4000; }));
  CHECK(absl::IsNotFound(query(0xc0000999, vpnd::SaDirection::kIn).status()));
  // The counters go with the SA.
  r.installer->DelSa(*child);
  r.installer->FlushRemovals();
  REQUIRE(r.installer->installed_children() == 0);
  CHECK(absl::IsNotFound(query(0xc0000101, vpnd::SaDirection::kIn).status()));
  CHECK(absl::IsNotFound(query(0xc0000202, vpnd::SaDirection::kOut).status()));
}

TEST_CASE("add_policy before the SAs' ack: the policies follow the ack, never a refusal",
          "[vpnd][dataplane][sa][consistency]") {
  Rig r(absl::Milliseconds(100));
  std::atomic<bool> slow{true};
  r.dp.SetVerdict([&](const std::vector<Message>& b) {
    if (Count(b, MessageKind::kSa, Op::kAdd) > 0 && slow.exchange(false)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
    }
    return dp::api::ApplyResult{};
  });
  auto child = MakeChild(0xc0000101, 0xc0000202);
  r.installer->AddSa(*child, 0);
  r.installer->AddPolicy(*child);
  INFO(r.log.Recent());
  REQUIRE(r.link->unacknowledged() == 1);
  CHECK(BatchesWith(r.dp.Batches(), MessageKind::kPolicy, Op::kAdd) == 0);
  SECTION("the ack comes: the policies go, and leave with the SAs") {
    REQUIRE(PollLinkUntil(r, [&] { return r.dp.Batches().size() == 2; }));
    CHECK(r.link->unacknowledged() == 0);
    auto all = r.dp.Batches();
    CHECK(Count(all[0], MessageKind::kSa, Op::kAdd) == 2);
    CHECK(Count(all[1], MessageKind::kPolicy, Op::kAdd) == 2);
    CHECK(absl::StrContains(r.log.Recent(), "acknowledged late"));
    CHECK(absl::StrContains(r.log.Recent(), "installed ESP SAs c0000101_i c0000202_o"));
    r.installer->DelSa(*child);
    r.installer->FlushRemovals();
    all = r.dp.Batches();
    REQUIRE(all.size() == 3);
    CHECK(Count(all[2], MessageKind::kPolicy, Op::kDelete) == 2);
    CHECK(Count(all[2], MessageKind::kSa, Op::kDelete) == 2);
  }
  SECTION("the CHILD SA goes before the ack: no policies at all") {
    r.installer->DelSa(*child);
    r.installer->FlushRemovals();
    REQUIRE(PollLinkUntil(r, [&] { return r.link->unacknowledged() == 0; }));
    auto all = r.dp.Batches();
    REQUIRE(all.size() == 2);
    CHECK(Count(all[1], MessageKind::kSa, Op::kDelete) == 2);
    CHECK(BatchesWith(all, MessageKind::kPolicy, Op::kAdd) == 0);
    CHECK(BatchesWith(all, MessageKind::kPolicy, Op::kDelete) == 0);
    CHECK(r.installer->installed_children() == 0);
  }
}

TEST_CASE("add_policy after a refused install sends nothing", "[vpnd][dataplane][sa]") {
  Rig r;
  r.dp.SetVerdict([](const std::vector<Message>&) {
    return dp::api::ApplyResult{absl::ResourceExhaustedError("SAD full"), 0};
  });
  auto child = MakeChild(0xc0000101, 0xc0000202);
  r.installer->AddSa(*child, 0);
  r.installer->AddPolicy(*child);
  CHECK(r.dp.Batches().size() == 1);
  CHECK(r.installer->installed_children() == 0);
  std::vector<vpnd::InstallFailure> failed = r.installer->TakeInstallFailures();
  REQUIRE(failed.size() == 1);
  CHECK(failed[0].spi_in == 0xc0000101);
  CHECK(absl::StrContains(failed[0].reason, "SAD full"));
  CHECK(r.installer->TakeInstallFailures().empty());  // reported once
}

namespace {

// The dataplane's SPD and SAD as its command applier keeps them: policies keyed by direction
// and selectors (an add of a key that exists is refused, an update or delete of one that does
// not is refused), SAs by SPI and direction; a refused batch changes nothing. After each batch
// it applies, it checks that an outbound policy that existed still exists and points at an
// outbound SA that exists: otherwise the tunnel's traffic had nowhere to go.
struct SpdModel {
  std::mutex mu;
  std::map<std::string, uint32_t> policies;  // key -> out_spi
  std::set<uint32_t> out_sas;
  int gaps = 0, batches = 0;
  std::vector<std::string> history;

  static std::string Key(const dp::api::PolicyBody& b) {
    return absl::StrFormat("%d %u.%u.%u.%u/%d > %u.%u.%u.%u/%d", static_cast<int>(b.direction),
                           b.src.bytes[0], b.src.bytes[1], b.src.bytes[2], b.src.bytes[3],
                           b.src_prefix_length, b.dst.bytes[0], b.dst.bytes[1], b.dst.bytes[2],
                           b.dst.bytes[3], b.dst_prefix_length);
  }
  dp::api::ApplyResult Apply(const std::vector<Message>& batch) {
    std::lock_guard<std::mutex> l(mu);
    auto p = policies;
    auto o = out_sas;
    for (const Message& m : batch) {
      if (m.header.kind == MessageKind::kSa && m.body.sa.direction == dp::api::Direction::kOut) {
        if (m.header.op == Op::kDelete) o.erase(m.body.sa.spi);
        if (m.header.op == Op::kAdd) o.insert(m.body.sa.spi);
      }
      if (m.header.kind != MessageKind::kPolicy) continue;
      std::string k = Key(m.body.policy);
      bool has = p.count(k) > 0;
      if (m.header.op == Op::kAdd && has) {
        return dp::api::ApplyResult{absl::AlreadyExistsError("policy " + k + " exists"), 0};
      }
      if (m.header.op != Op::kAdd && !has) {
        return dp::api::ApplyResult{absl::NotFoundError("policy " + k + " does not exist"), 0};
      }
      if (m.header.op == Op::kDelete) {
        p.erase(k);
      } else {
        p[k] = m.body.policy.out_spi;
      }
    }
    for (const auto& [k, spi] : policies) {
      if (k[0] != '1' && k[0] != '0') continue;
      bool out = static_cast<int>(dp::api::Direction::kOut) == k[0] - '0';
      if (!out) continue;
      auto now = p.find(k);
      if (now == p.end() || !o.count(now->second)) {
        ++gaps;
        history.push_back("gap after batch " + std::to_string(batches) + " for " + k);
      }
    }
    policies = std::move(p);
    out_sas = std::move(o);
    ++batches;
    return dp::api::ApplyResult{};
  }
};

}  // namespace

// A policy-based tunnel rekeyed by either end: the successor's policies have the old ones'
// selectors, which the dataplane keys them by. They must re-point the existing policies to the
// new outbound SA (an add would be refused as existing), and the old SA's removal must leave
// them in place (a delete would take the successor's away): at no moment may the outbound
// policy be missing or point at a deleted SA.
TEST_CASE("policy-based rekeys: the outbound policy moves to the new SA, never goes away",
          "[vpnd][dataplane][sa][rekey]") {
  Rig r;
  SpdModel spd;
  r.dp.SetVerdict([&](const std::vector<Message>& b) { return spd.Apply(b); });
  std::string mine = WriteFile(kOneTunnel);
  REQUIRE(r.vpnd->LoadFile(mine).ok());
  auto cfg = MirrorPeer(kOneTunnel);
  East east(r);
  east.mgr->SetPeers({cfg});
  Pump(r, east);
  INFO(r.log.Recent());
  for (int round = 0; round < 4; ++round) {
    const ike::ChildSa* ec = EastChild(east);
    REQUIRE(ec != nullptr);
    {
      std::lock_guard<std::mutex> l(spd.mu);
      REQUIRE(spd.policies.size() == 2);
      for (const auto& [k, out] : spd.policies) {
        if (out != 0) CHECK(out == ec->spi_in);  // vpnd sends with what east receives on
      }
    }
    // Either end rekeys: vpnd as initiator (a soft expiry) or as responder.
    if (round % 2 == 0) {
      REQUIRE(east.mgr->RekeyChild(ec->spi_in));
    } else {
      dp::api::Event e = dp::api::NewEvent(dp::api::EventKind::kSaExpired);
      e.body.sa_expired.spi = ec->spi_in;
      e.body.sa_expired.direction = dp::api::Direction::kOut;
      e.body.sa_expired.kind = dp::api::ExpiryKind::kSoft;
      e.body.sa_expired.cause = dp::api::ExpiryCause::kBytes;
      r.dp.Post(e);
    }
    Pump(r, east);
    REQUIRE(EastChild(east) != nullptr);
    CHECK(EastChild(east)->spi_in != ec->spi_in);
  }
  std::lock_guard<std::mutex> l(spd.mu);
  INFO(absl::StrJoin(spd.history, "\n"));
  CHECK(spd.gaps == 0);
  CHECK(spd.policies.size() == 2);
  CHECK(spd.out_sas.size() == 1);
  CHECK(r.log.Recent().find("exists") == std::string::npos);
  std::remove(mine.c_str());
}

// The loser of a CHILD rekey collision, policy-based: IKE installs its new SA as sending, then
// settles the collision (the SA is redundant), sends with the old SA again and deletes the new
// one. The new SA's install is acknowledged only after that: its ack must not move the outbound
// policy to it, since the peer drops that SA's inbound half as soon as our Delete comes.
TEST_CASE("policy-based collision loser: the redundant SA's late ack leaves the policy alone",
          "[vpnd][dataplane][sa][rekey]") {
  Rig r(absl::Milliseconds(100));
  SpdModel spd;
  std::atomic<bool> slow{false};
  r.dp.SetVerdict([&](const std::vector<Message>& b) {
    if (Count(b, MessageKind::kSa, Op::kAdd) > 0 && slow.exchange(false)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
    }
    return spd.Apply(b);
  });
  auto old = MakeChild(0xc0000101, 0xc0000202);
  r.installer->AddSa(*old, 0);
  r.installer->AddPolicy(*old);
  INFO(r.log.Recent());
  REQUIRE(PollLinkUntil(r, [&] { return r.link->unacknowledged() == 0; }));
  auto out_policy = [&]() -> std::optional<uint32_t> {
    std::lock_guard<std::mutex> l(spd.mu);
    for (const auto& [k, out] : spd.policies) {
      if (k[0] - '0' == static_cast<int>(dp::api::Direction::kOut)) return out;
    }
    return std::nullopt;
  };
  REQUIRE(out_policy() == 0xc0000202u);

  // The collision's redundant SA, its install acknowledged late.
  slow = true;
  auto fresh = MakeChild(0xc0000303, 0xc0000404);
  fresh->unique_id = 8;
  r.installer->AddSa(*fresh, 0);
  r.installer->AddPolicy(*fresh);
  REQUIRE(r.link->unacknowledged() == 1);
  // Settled: the old SA sends on, the redundant one goes.
  fresh->outbound_active = false;
  r.installer->InstallOutbound(*old);
  REQUIRE(PollLinkUntil(r, [&] { return r.link->unacknowledged() == 0; }));
  CHECK(absl::StrContains(r.log.Recent(), "installed ESP SAs c0000303_i c0000404_o"));
  CHECK(out_policy() == 0xc0000202u);
  r.installer->DelSa(*fresh);
  r.installer->FlushRemovals();
  REQUIRE(PollLinkUntil(r, [&] { return r.link->unacknowledged() == 0; }));
  CHECK(out_policy() == 0xc0000202u);
  std::lock_guard<std::mutex> l(spd.mu);
  INFO(absl::StrJoin(spd.history, "\n"));
  CHECK(spd.gaps == 0);
  CHECK(spd.policies.size() == 2);
  CHECK(spd.out_sas == std::set<uint32_t>{0xc0000202});
}

// Vyatta's `tunnel 1 uses vfp1`: the policy-based tunnel's SAs name the VFP (decrypted traffic
// arrives on it, its firewall and counters apply), no VTI binding is made, its policies still
// select what it carries, and a rekey's SAs name the VFP too.
TEST_CASE("a policy-based tunnel that uses a VFP: its SAs name the VFP, policies still select",
          "[vpnd][dataplane][sa][vfp]") {
  Rig r;
  const std::string text = std::string(kOneTunnel) + R"(
set interfaces virtual-feature-point vfp1 address 10.255.0.1/32
set security vpn ipsec site-to-site peer 192.0.2.2 tunnel 1 uses vfp1
)";
  std::string mine = WriteFile(text);
  REQUIRE(r.vpnd->LoadFile(mine).ok());
  auto cfg = MirrorPeer(kOneTunnel);
  East east(r);
  east.mgr->SetPeers({cfg});
  Pump(r, east);
  INFO(r.log.Recent());
  auto all = r.dp.Batches();
  REQUIRE(all.size() >= 3);  // commit, SAs, policies
  const Message* vfp = Find(all[0], MessageKind::kInterface, Op::kAdd, [](const Message& m) {
    return m.body.interface.kind == dp::api::InterfaceKind::kVfp;
  });
  REQUIRE(vfp != nullptr);
  CHECK(std::string(vfp->body.interface.name) == "vfp1");
  const uint32_t vfp_ifindex = vfp->body.interface.ifindex;
  REQUIRE(vfp_ifindex != 0);
  REQUIRE(Count(all[1], MessageKind::kSa, Op::kAdd) == 2);
  for (const Message& m : all[1])
    if (m.header.kind == MessageKind::kSa) CHECK(m.body.sa.vti_ifindex == vfp_ifindex);
  CHECK(BatchesWith(all, MessageKind::kVtiBinding, Op::kAdd) == 0);
  CHECK(Count(all[2], MessageKind::kPolicy, Op::kAdd) == 2);
  CHECK(absl::StrContains(r.log.Recent(), ", through vfp1"));
  // A rekey by the peer: the new SAs name the VFP as well.
  const ike::ChildSa* ec = EastChild(east);
  REQUIRE(ec != nullptr);
  REQUIRE(east.mgr->RekeyChild(ec->spi_in));
  Pump(r, east);
  all = r.dp.Batches();
  size_t sas = 0;
  for (size_t b = 3; b < all.size(); ++b)
    for (const Message& m : all[b])
      if (m.header.kind == MessageKind::kSa && m.header.op != Op::kDelete) {
        ++sas;
        CHECK(m.body.sa.vti_ifindex == vfp_ifindex);
      }
  CHECK(sas >= 2);
  CHECK(BatchesWith(all, MessageKind::kVtiBinding, Op::kAdd) == 0);
  std::remove(mine.c_str());
}

// DPD action hold / close-action trap on a policy-based tunnel: its last SA going leaves the
// policies in place, the outbound one pointing at no SA (the dataplane drops the traffic and
// raises acquires instead of routing it in the clear); the next SA takes them over; a trap that
// ends without an SA (a commit, clear) takes them away.
TEST_CASE("a trapped policy-based tunnel keeps its policies without an SA",
          "[vpnd][dataplane][sa][trap]") {
  Rig r;
  bool trapped = false;
  r.installer->SetTrapQuery([&](const std::string& child) {
    CHECK(child == "peer-192.0.2.2-tunnel-1");
    return trapped;
  });
  auto first = MakeChild(0xc0000101, 0xc0000202);
  r.installer->AddSa(*first, 0);
  r.installer->AddPolicy(*first);
  REQUIRE(PollLinkUntil(r, [&] { return r.dp.Batches().size() == 2; }));
  INFO(r.log.Recent());
  // DPD declares the peer dead under action hold: the trap is there when the removal goes.
  trapped = true;
  r.installer->DelSa(*first);
  r.installer->FlushRemovals();
  REQUIRE(PollLinkUntil(r, [&] { return r.link->unacknowledged() == 0; }));
  auto all = r.dp.Batches();
  REQUIRE(all.size() == 3);
  CHECK(Count(all[2], MessageKind::kSa, Op::kDelete) == 2);
  CHECK(Count(all[2], MessageKind::kPolicy, Op::kDelete) == 0);
  REQUIRE(Count(all[2], MessageKind::kPolicy, Op::kUpdate) == 1);
  const Message* out =
      Find(all[2], MessageKind::kPolicy, Op::kUpdate, [](const Message&) { return true; });
  CHECK(out->body.policy.direction == dp::api::Direction::kOut);
  CHECK(out->body.policy.out_spi == 0);
  CHECK(out->body.policy.reqid == 1);  // the acquire names the tunnel by it
  // The policy update goes before the SAs' deletes: never a policy naming a deleted SA.
  CHECK(all[2][0].header.kind == MessageKind::kPolicy);
  CHECK(r.installer->trap_policies() == 2);
  SECTION("the acquire brings a new SA: it takes the policies over") {
    // IKE's order: the tunnel's trap ends (IkeManager::ChildUp) before vpnd adds its SA, and
    // AddSa flushes earlier removals: that must not release the trap's policies.
    trapped = false;
    auto second = MakeChild(0xc0000303, 0xc0000404);
    r.installer->AddSa(*second, 0);
    r.installer->AddPolicy(*second);
    r.installer->FlushRemovals();
    REQUIRE(PollLinkUntil(r, [&] { return r.dp.Batches().size() == 5; }));
    all = r.dp.Batches();
    CHECK(Count(all[4], MessageKind::kPolicy, Op::kAdd) == 0);
    CHECK(Count(all[4], MessageKind::kPolicy, Op::kDelete) == 0);
    REQUIRE(Count(all[4], MessageKind::kPolicy, Op::kUpdate) == 1);
    CHECK(all[4][0].body.policy.out_spi == 0xc0000404);
    CHECK(r.installer->trap_policies() == 0);
    for (const auto& b : all)
      CHECK(Count(b, MessageKind::kPolicy, Op::kDelete) == 0);  // never without a policy
    CHECK_FALSE(absl::StrContains(r.log.Recent(), "trap of peer-192.0.2.2-tunnel-1 removed"));
    // Later the SA goes without a trap: the policies go with it.
    r.installer->DelSa(*second);
    r.installer->FlushRemovals();
    REQUIRE(PollLinkUntil(r, [&] { return r.dp.Batches().size() == 6; }));
    CHECK(Count(r.dp.Batches()[5], MessageKind::kPolicy, Op::kDelete) == 2);
  }
  SECTION("the trap goes without an SA (a commit changed the peer): so do the policies") {
    trapped = false;
    r.installer->FlushRemovals();
    REQUIRE(PollLinkUntil(r, [&] { return r.dp.Batches().size() == 4; }));
    all = r.dp.Batches();
    CHECK(Count(all[3], MessageKind::kPolicy, Op::kDelete) == 2);
    CHECK(r.installer->trap_policies() == 0);
    CHECK(absl::StrContains(r.log.Recent(), "trap of peer-192.0.2.2-tunnel-1 removed"));
  }
  SECTION("the dataplane restarts: the trap's policies go into the new one") {
    r.installer->ForgetAll();
    r.installer->RestoreTraps();
    REQUIRE(PollLinkUntil(r, [&] { return r.dp.Batches().size() == 4; }));
    all = r.dp.Batches();
    REQUIRE(Count(all[3], MessageKind::kPolicy, Op::kAdd) == 2);
    for (const Message& m : all[3]) CHECK(m.body.policy.out_spi == 0);
  }
}

namespace {

ike::ChildConfig PolicyTunnel(const std::string& name, uint32_t reqid, const std::string& local,
                              const std::string& remote) {
  ike::ChildConfig c;
  c.name = name;
  c.reqid = reqid;
  c.local_ts = {ike::TsFromPrefix(*ike::Address::Parse(local), 24)};
  c.remote_ts = {ike::TsFromPrefix(*ike::Address::Parse(remote), 24)};
  return c;
}

}  // namespace

// Review-lead4 6: trap policies came only from the SAs going when the trap began, so a tunnel
// without an SA then (its CREATE_CHILD_SA refused, pending, or its policies refused) was routed
// in the clear and raised no acquire.
TEST_CASE("a trapped policy-based tunnel without an SA gets its trap from the configuration",
          "[vpnd][dataplane][sa][trap]") {
  Rig r;
  bool trapped = false;
  r.installer->SetTrapQuery([&](const std::string&) { return trapped; });
  r.installer->SetPolicyTunnels(
      {PolicyTunnel("peer-192.0.2.2-tunnel-1", 1, "10.1.0.0", "10.2.0.0"),
       PolicyTunnel("peer-192.0.2.2-tunnel-2", 2, "10.1.1.0", "10.2.1.0")});
  auto first = MakeChild(0xc0000101, 0xc0000202);  // tunnel 1; tunnel 2 never got one
  r.installer->AddSa(*first, 0);
  r.installer->AddPolicy(*first);
  REQUIRE(PollLinkUntil(r, [&] { return r.dp.Batches().size() == 2; }));
  trapped = true;  // DPD hold: every tunnel of the peer
  r.installer->DelSa(*first);
  r.installer->TrapsChanged();
  r.installer->FlushRemovals();
  REQUIRE(PollLinkUntil(r, [&] { return r.link->unacknowledged() == 0; }));
  INFO(r.log.Recent());
  auto all = r.dp.Batches();
  // Tunnel 2's policies, pointing at no SA, with its reqid (the acquire names it by that).
  std::vector<const Message*> adds;
  for (size_t i = 2; i < all.size(); ++i) {
    for (const Message& m : all[i]) {
      if (m.header.kind == MessageKind::kPolicy && m.header.op == Op::kAdd) adds.push_back(&m);
    }
  }
  REQUIRE(adds.size() == 2);
  for (const Message* m : adds) {
    CHECK(m->body.policy.reqid == 2);
    CHECK(m->body.policy.out_spi == 0);
  }
  CHECK(r.installer->trapped_tunnels() == 2);
  CHECK(r.installer->trap_policies() == 4);
  SECTION("the trap ends without an SA: tunnel 2's policies go too") {
    trapped = false;
    r.installer->FlushRemovals();
    REQUIRE(PollLinkUntil(r, [&] { return r.link->unacknowledged() == 0; }));
    all = r.dp.Batches();
    CHECK(Count(all.back(), MessageKind::kPolicy, Op::kDelete) == 4);
    CHECK(r.installer->trap_policies() == 0);
  }
}

// Review-lead4 4: RestoreTraps recorded its policies before the ack; refused, the SPD said
// they were there, so the tunnel's next SA sent an Update the dataplane refuses (NotFound) and
// its whole policy batch with it: up, with no policies, in the clear for good.
TEST_CASE("trap policies a restarted dataplane refused are not taken as there",
          "[vpnd][dataplane][sa][trap]") {
  Rig r;
  bool trapped = true;
  r.installer->SetTrapQuery([&](const std::string&) { return trapped; });
  auto first = MakeChild(0xc0000101, 0xc0000202);
  r.installer->AddSa(*first, 0);
  r.installer->AddPolicy(*first);
  REQUIRE(PollLinkUntil(r, [&] { return r.dp.Batches().size() == 2; }));
  r.installer->DelSa(*first);
  r.installer->FlushRemovals();
  REQUIRE(PollLinkUntil(r, [&] { return r.link->unacknowledged() == 0; }));
  REQUIRE(r.installer->trap_policies() == 2);
  // The dataplane restarted; the trap's policies are refused once.
  auto refuse = std::make_shared<std::atomic<bool>>(true);
  r.dp.SetVerdict([refuse](const std::vector<Message>&) {
    if (refuse->exchange(false)) {
      return dp::api::ApplyResult{absl::ResourceExhaustedError("no room"), 0};
    }
    return dp::api::ApplyResult{};
  });
  r.installer->ForgetAll();
  r.installer->RestoreTraps();
  REQUIRE(PollLinkUntil(r, [&] { return r.link->unacknowledged() == 0; }));
  const size_t before = r.dp.Batches().size();
  SECTION("the next flush sends them again") {
    r.installer->FlushRemovals();
    REQUIRE(PollLinkUntil(r, [&] { return r.dp.Batches().size() == before + 1; }));
    CHECK(Count(r.dp.Batches().back(), MessageKind::kPolicy, Op::kAdd) == 2);
  }
  SECTION("the tunnel's next SA adds its policies, it does not update ones that are not there") {
    trapped = false;
    auto second = MakeChild(0xc0000303, 0xc0000404);
    r.installer->AddSa(*second, 0);
    r.installer->AddPolicy(*second);
    REQUIRE(PollLinkUntil(r, [&] { return r.link->unacknowledged() == 0; }));
    INFO(r.log.Recent());
    const Message* out = nullptr;
    for (size_t i = before; i < r.dp.Batches().size(); ++i) {
      auto b = r.dp.Batches()[i];
      CHECK(Count(b, MessageKind::kPolicy, Op::kUpdate) == 0);
      if (Count(b, MessageKind::kPolicy, Op::kAdd) == 2) out = &b[0];
    }
    CHECK(out != nullptr);
  }
}

// Review-lead4 5: a removal's SPD changes were applied when its (late) ack came, over what
// later batches had done meanwhile.
TEST_CASE("a late removal ack leaves newer SPD state alone", "[vpnd][dataplane][sa][trap]") {
  Rig r(absl::Milliseconds(100));
  bool trapped = true;
  r.installer->SetTrapQuery([&](const std::string&) { return trapped; });
  auto first = MakeChild(0xc0000101, 0xc0000202);
  r.installer->AddSa(*first, 0);
  r.installer->AddPolicy(*first);
  REQUIRE(PollLinkUntil(r, [&] { return r.dp.Batches().size() == 2; }));
  AckFirstBatchLate(r);
  r.installer->DelSa(*first);
  r.installer->FlushRemovals();  // its last SA goes, the trap keeps {out: 0}; the ack is late
  trapped = false;               // a commit ended the trap: its policies are deleted
  r.installer->FlushRemovals();
  absl::Time end = absl::Now() + absl::Seconds(2);
  while (r.link->unacknowledged() != 0 && absl::Now() < end) {
    r.link->PollEvents(256, nullptr);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  REQUIRE(r.link->unacknowledged() == 0);
  const size_t before = r.dp.Batches().size();
  auto second = MakeChild(0xc0000303, 0xc0000404);
  r.installer->AddSa(*second, 0);
  r.installer->AddPolicy(*second);
  REQUIRE(PollLinkUntil(r, [&] { return r.dp.Batches().size() >= before + 2; }));
  INFO(r.log.Recent());
  auto all = r.dp.Batches();
  CHECK(Count(all.back(), MessageKind::kPolicy, Op::kUpdate) == 0);
  CHECK(Count(all.back(), MessageKind::kPolicy, Op::kAdd) == 2);
}

// Review-ike5 2: a batch of trap policies from the configuration that is not applied was never
// sent again (until some other SA went), leaving the tunnel routed in the clear.
TEST_CASE("trap policies from the configuration that were refused are sent again",
          "[vpnd][dataplane][sa][trap]") {
  Rig r;
  bool trapped = false;
  r.installer->SetTrapQuery([&](const std::string&) { return trapped; });
  r.installer->SetPolicyTunnels(
      {PolicyTunnel("peer-192.0.2.2-tunnel-2", 2, "10.1.1.0", "10.2.1.0")});
  auto refuse = std::make_shared<std::atomic<bool>>(true);
  r.dp.SetVerdict([refuse](const std::vector<Message>&) {
    if (refuse->exchange(false)) {
      return dp::api::ApplyResult{absl::ResourceExhaustedError("no room"), 0};
    }
    return dp::api::ApplyResult{};
  });
  trapped = true;
  r.installer->TrapsChanged();
  r.installer->FlushRemovals();
  REQUIRE(PollLinkUntil(r, [&] { return r.link->unacknowledged() == 0; }));
  REQUIRE(r.dp.Batches().size() == 1);
  CHECK(r.installer->trap_policies() == 0);
  r.installer->FlushRemovals();  // too soon: waits for its retry time
  REQUIRE(PollLinkUntil(r, [&] { return r.link->unacknowledged() == 0; }));
  CHECK(r.dp.Batches().size() == 1);
  r.now += absl::Seconds(2);
  r.installer->FlushRemovals();
  REQUIRE(PollLinkUntil(r, [&] { return r.dp.Batches().size() == 2; }));
  INFO(r.log.Recent());
  CHECK(Count(r.dp.Batches()[1], MessageKind::kPolicy, Op::kAdd) == 2);
  CHECK(r.installer->trap_policies() == 2);
}

// RFC 9611 groups: each worker's newest sending SA is its member in the VTI's binding, the
// newest sending SA of any worker the fallback; a member's install, rekey and removal change
// only its own worker's slot, and a removed member leaves the binding in the removal's batch,
// before its SAs go.
TEST_CASE("per-worker CHILD SAs: the VTI binding names each worker's member",
          "[vpnd][dataplane][sa][rfc9611]") {
  Rig r;
  constexpr uint32_t kVti = 9;
  auto member = [](uint32_t in, uint32_t out, uint8_t worker) {
    auto c = MakeChild(in, out, "vti0");
    c->worker = worker;
    return c;
  };
  auto last_binding = [&]() -> std::optional<dp::api::VtiBindingBody> {
    std::optional<dp::api::VtiBindingBody> b;
    for (const auto& batch : r.dp.Batches()) {
      for (const Message& m : batch) {
        if (m.header.kind == MessageKind::kVtiBinding) b = m.body.vti_binding;
      }
    }
    return b;
  };
  auto settle = [&] { REQUIRE(PollLinkUntil(r, [&] { return r.link->unacknowledged() == 0; })); };
  auto w0 = member(0xc0000101, 0xc0000201, 1);
  r.installer->AddSa(*w0, kVti);
  settle();
  INFO(r.log.Recent());
  auto b = last_binding();
  REQUIRE(b.has_value());
  CHECK(b->out_spi == 0xc0000201);
  CHECK(b->member_spi[0] == 0xc0000201);
  CHECK(b->member_spi[1] == 0);
  // The SAs name their worker.
  const auto installs = r.dp.Batches();
  const Message* sa = Find(installs.back(), MessageKind::kSa, Op::kAdd);
  REQUIRE(sa != nullptr);
  CHECK(sa->body.sa.worker == 1);

  auto w1 = member(0xc0000102, 0xc0000202, 2);
  r.installer->AddSa(*w1, kVti);
  settle();
  b = last_binding();
  // The fallback stays on worker 0's SA: the workers without a member hand off to its owner.
  CHECK(b->out_spi == 0xc0000201);
  CHECK(b->member_spi[0] == 0xc0000201);
  CHECK(b->member_spi[1] == 0xc0000202);

  // Worker 1's member rekeyed (we initiated: the new SA sends at once); the old one goes
  // without touching the binding again.
  auto w1b = member(0xc0000103, 0xc0000203, 2);
  r.installer->AddSa(*w1b, kVti);
  settle();
  b = last_binding();
  CHECK(b->out_spi == 0xc0000201);
  CHECK(b->member_spi[0] == 0xc0000201);
  CHECK(b->member_spi[1] == 0xc0000203);
  size_t bindings_before = 0;
  for (const auto& batch : r.dp.Batches())
    bindings_before += Count(batch, MessageKind::kVtiBinding, Op::kUpdate) +
                       Count(batch, MessageKind::kVtiBinding, Op::kAdd);
  r.installer->DelSa(*w1);
  r.installer->FlushRemovals();
  settle();
  size_t bindings_after = 0;
  for (const auto& batch : r.dp.Batches())
    bindings_after += Count(batch, MessageKind::kVtiBinding, Op::kUpdate) +
                      Count(batch, MessageKind::kVtiBinding, Op::kAdd);
  CHECK(bindings_after == bindings_before);

  // Worker 0's member rekeyed by the peer: its successor is held back (it sends once the peer
  // deleted the old one), then takes worker 0's slot and the fallback; worker 1's stays.
  auto w0b = member(0xc0000104, 0xc0000204, 1);
  w0b->outbound_active = false;
  r.installer->AddSa(*w0b, kVti);
  settle();
  b = last_binding();
  CHECK(b->member_spi[0] == 0xc0000201);
  w0b->outbound_active = true;
  r.installer->InstallOutbound(*w0b);
  settle();
  b = last_binding();
  CHECK(b->out_spi == 0xc0000204);
  CHECK(b->member_spi[0] == 0xc0000204);
  CHECK(b->member_spi[1] == 0xc0000203);

  // A member deleted (no successor): its worker leaves the binding in the removal batch,
  // before the SA delete.
  r.installer->DelSa(*w0);
  r.installer->DelSa(*w1b);
  r.installer->FlushRemovals();
  settle();
  const auto batches = r.dp.Batches();  // a copy: Batches() returns one
  const auto& removal = batches.back();
  REQUIRE(Count(removal, MessageKind::kSa, Op::kDelete) == 4);
  REQUIRE(removal[0].header.kind == MessageKind::kVtiBinding);
  CHECK(removal[0].header.op == Op::kUpdate);
  CHECK(removal[0].body.vti_binding.out_spi == 0xc0000204);
  CHECK(removal[0].body.vti_binding.member_spi[0] == 0xc0000204);
  CHECK(removal[0].body.vti_binding.member_spi[1] == 0);
  CHECK(r.installer->installed_children() == 1);
}
