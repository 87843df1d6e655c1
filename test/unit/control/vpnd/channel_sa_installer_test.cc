// The channel transport's SA installer against a real ChannelServer in this process: CHILD SAs
// installed and removed as IKE (over punt/inject, with a second IKE engine as the peer) brings
// them up and rekeys them, VTI bindings, policies answered Unimplemented, refusals and retries,
// removals of one IKE event in one batch, NAT rebinding, its get-SPI and its counters.
#include <catch2/catch.hpp>

#include <atomic>
#include <cstring>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "test/unit/control/vpnd/vpnd_test_rig.h"

using namespace portcullis;
using namespace portcullis::vpnd::testing;

TEST_CASE(
    "CHILD SAs negotiated over punt/inject are installed with their keys, bound to the "
    "VTI, replaced on rekey and rekeyed on soft expiry",
    "[vpnd][dataplane][sa]") {
  Rig r;
  East east(r);
  REQUIRE(r.vpnd->LoadFile("configs/vyatta-west.conf").ok());
  Pump(r, east);
  const ike::ChildSa* ec = EastChild(east);
  INFO(r.log.Recent());
  REQUIRE(ec != nullptr);
  auto batches = r.dp.Batches();
  REQUIRE(batches.size() == 2);  // the commit, then the CHILD SA
  const auto& b = batches[1];
  uint32_t vti = Interface(batches[0], "vti2")->body.interface.ifindex;
  const Message* in = Find(b, MessageKind::kSa, Op::kAdd, [](const Message& m) {
    return m.body.sa.direction == dp::api::Direction::kIn;
  });
  const Message* out = Find(b, MessageKind::kSa, Op::kAdd, [](const Message& m) {
    return m.body.sa.direction == dp::api::Direction::kOut;
  });
  REQUIRE(in != nullptr);
  REQUIRE(out != nullptr);
  CHECK(in->body.sa.spi == ec->spi_out);
  CHECK(out->body.sa.spi == ec->spi_in);
  CHECK(in->body.sa.cipher == dp::api::Cipher::kAesGcm128);
  CHECK(in->body.sa.auth == dp::api::Auth::kNone);
  CHECK(in->body.sa.enc_key_length == 16);
  // The dataplane's inbound key is what east encrypts with: key, then the 4-byte salt.
  CHECK(std::memcmp(in->body.sa.enc_key, ec->encr_out.data(), 16) == 0);
  CHECK(std::memcmp(in->body.sa.salt, ec->encr_out.data() + 16, 4) == 0);
  CHECK(std::memcmp(out->body.sa.enc_key, ec->encr_in.data(), 16) == 0);
  CHECK(in->body.sa.vti_ifindex == vti);
  CHECK(in->body.sa.replay_window == 1024);
  CHECK(in->body.sa.local.bytes[0] == 169);
  CHECK(in->body.sa.remote.bytes[0] == 159);
  CHECK(in->body.sa.udp_encap == 0);
  CHECK(in->body.sa.reqid == 1);
  const Message* bind = Find(b, MessageKind::kVtiBinding, Op::kAdd);
  REQUIRE(bind != nullptr);
  CHECK(bind->body.vti_binding.vti_ifindex == vti);
  CHECK(bind->body.vti_binding.out_spi == ec->spi_in);
  CHECK(r.log.Recent().find("installed ESP SAs") != std::string::npos);

  SECTION("the peer rekeys: new pair added, binding moved, old pair removed") {
    uint32_t old_in = ec->spi_out, old_out = ec->spi_in;
    REQUIRE(east.mgr->RekeyChild(ec->spi_in));
    Pump(r, east);
    ec = EastChild(east);
    REQUIRE(ec != nullptr);
    auto all = r.dp.Batches();
    REQUIRE(all.size() == 4);
    CHECK(Count(all[2], MessageKind::kSa, Op::kAdd) == 2);
    const Message* moved = Find(all[2], MessageKind::kVtiBinding, Op::kUpdate);
    REQUIRE(moved != nullptr);
    CHECK(moved->body.vti_binding.out_spi == ec->spi_in);
    CHECK(Count(all[3], MessageKind::kSa, Op::kDelete) == 2);
    CHECK(Find(all[3], MessageKind::kSa, Op::kDelete,
               [&](const Message& m) { return m.body.sa.spi == old_in; }) != nullptr);
    CHECK(Find(all[3], MessageKind::kSa, Op::kDelete,
               [&](const Message& m) { return m.body.sa.spi == old_out; }) != nullptr);
    CHECK(Find(all[3], MessageKind::kVtiBinding, Op::kDelete) == nullptr);
  }
  SECTION("a soft expiry event from the dataplane makes vpnd rekey") {
    dp::api::Event e = dp::api::NewEvent(dp::api::EventKind::kSaExpired);
    e.body.sa_expired.spi = ec->spi_in;  // vpnd's outbound SA
    e.body.sa_expired.direction = dp::api::Direction::kOut;
    e.body.sa_expired.kind = dp::api::ExpiryKind::kSoft;
    e.body.sa_expired.cause = dp::api::ExpiryCause::kBytes;
    r.dp.Post(e);
    Pump(r, east);
    CHECK(r.log.Recent().find("soft expiry of outbound SA") != std::string::npos);
    CHECK(r.log.Recent().find("rekeying CHILD_SA peer-159.8.98.213-tunnel-vti{1}") !=
          std::string::npos);
    const ike::ChildSa* now = EastChild(east);
    REQUIRE(now != nullptr);
    CHECK(now->spi_in != bind->body.vti_binding.out_spi);
    CHECK(now->suite.pfs == ike::DhGroup::kEcp384);  // KE in the CREATE_CHILD_SA
  }
  SECTION("sequence number exhaustion makes vpnd rekey") {
    dp::api::Event e = dp::api::NewEvent(dp::api::EventKind::kSeqExhausted);
    e.body.seq_exhausted.spi = ec->spi_in;
    e.body.seq_exhausted.direction = dp::api::Direction::kOut;
    r.dp.Post(e);
    Pump(r, east);
    CHECK(r.log.Recent().find("sequence numbers of SA") != std::string::npos);
    const ike::ChildSa* now = EastChild(east);
    REQUIRE(now != nullptr);
    CHECK(now->spi_in != bind->body.vti_binding.out_spi);
  }
  SECTION("counters from the dataplane show up in show vpn ipsec sa") {
    dp::api::Event e = dp::api::NewEvent(dp::api::EventKind::kSaCounters);
    e.body.sa_counters.spi = ec->spi_out;  // vpnd's inbound SA
    e.body.sa_counters.direction = dp::api::Direction::kIn;
    e.body.sa_counters.bytes = 29205000000ull;
    e.body.sa_counters.packets = 1000;
    r.dp.Post(e);
    Pump(r, east);
    auto shown = r.vpnd->Command({"show", "vpn", "ipsec", "sa", "peer", "159.8.98.213"});
    REQUIRE(shown.ok());
    CHECK(absl::StrContains(*shown,
                            "    vti     1           up     0/27.2G        aes128gcm128  "
                            "null      n/a 0       3600"));
    // Counters in one direction only: the statistics view shows it per direction.
    auto stats =
        r.vpnd->Command({"show", "vpn", "ipsec", "sa", "statistics", "peer", "159.8.98.213"});
    REQUIRE(stats.ok());
    INFO(*stats);
    CHECK(absl::StrContains(*stats, "    Tunnel  Id          Dir  Source Network"));
    CHECK(absl::StrContains(*stats,
                            "    vti     1           in   0.0.0.0/0                    0.0.0.0/0"
                            "                    27.2G\n"));
    CHECK(absl::StrContains(*stats,
                            "    vti     1           out  0.0.0.0/0                    0.0.0.0/0"
                            "                    0\n"));
    auto detail = r.vpnd->Command({"show", "vpn", "ipsec", "sa", "detail"});
    REQUIRE(detail.ok());
    INFO(*detail);
    for (const char* line :
         {"Peer IP:                159.8.98.213\n", "Local IP:               169.50.194.197\n",
          "NAT Traversal:          no\n", "    Tunnel vti:\n",
          "        State:                  up\n", "        Encryption:             aes128gcm128\n",
          "        Hash:                   null\n", "        Local Net:              0.0.0.0/0\n",
          "        Remote Protocol:        all\n", "        Inbound Bytes:          27.2G\n",
          "        Inbound Packets:        1000\n", "        Lifetime (s):           3600\n"}) {
      CHECK(absl::StrContains(*detail, line));
    }
    CHECK(absl::StrContains(
        *detail, absl::StrFormat("        Inbound SPI:            %08x\n", ec->spi_out)));
    auto js = r.vpnd->Command({"show", "vpn", "ipsec", "sa", "detail", "--json"});
    REQUIRE(js.ok());
    CHECK(absl::StrContains(*js, "\"bytes_in\":29205000000"));
    CHECK_FALSE(r.vpnd->Command({"show", "vpn", "ipsec", "sa", "detail", "peer", "10.9.9.9"}).ok());
    auto ike_sa = r.vpnd->Command({"show", "vpn", "ike", "sa"});
    REQUIRE(ike_sa.ok());
    CHECK(absl::StrContains(*ike_sa, "159.8.98.213                            169.50.194.197"));
    CHECK(absl::StrContains(*ike_sa,
                            "    up     aes256        sha2_256  20       0       28800"
                            "   2"));
  }
  SECTION("the dataplane restarts: vpnd re-attaches and sends config and SAs again") {
    r.dp.Restart();
    r.now += absl::Seconds(2);
    Pump(r, east);
    INFO(r.log.Recent());
    CHECK(r.log.Recent().find("the dataplane is gone") != std::string::npos);
    CHECK(r.log.Recent().find("re-attached to the dataplane") != std::string::npos);
    auto again = r.dp.Batches();
    REQUIRE(again.size() == 2);
    // The whole configuration; no flush: the new dataplane starts empty.
    CHECK(again[0].size() + 1 == batches[0].size());
    CHECK(Count(again[0], MessageKind::kFlush, Op::kDelete) == 0);
    CHECK(Count(again[1], MessageKind::kSa, Op::kAdd) == 2);
    CHECK(Count(again[1], MessageKind::kVtiBinding, Op::kAdd) == 1);
    CHECK(EastChild(east) == ec);  // IKE was not disturbed
  }
  SECTION("reset vpn ipsec-peer removes the SAs and brings them back") {
    auto reply = r.vpnd->Command({"reset", "vpn", "ipsec-peer", "159.8.98.213"});
    REQUIRE(reply.ok());
    Pump(r, east);
    r.now += absl::Seconds(1);
    Pump(r, east);
    auto all = r.dp.Batches();
    bool removed = false;
    for (const auto& batch : all) removed |= Count(batch, MessageKind::kSa, Op::kDelete) == 2;
    CHECK(removed);
    CHECK(Count(all.back(), MessageKind::kSa, Op::kAdd) == 2);
    CHECK(EastChild(east) != nullptr);
  }
}

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
  // The dataplane holds the first SA install until the test lets it go. Declared before the
  // rig, so they outlive its dataplane thread even when a REQUIRE ends the test early.
  std::atomic<bool> held{true}, release{false};
  struct Release {
    std::atomic<bool>& r;
    ~Release() { r = true; }
  } release_on_exit{release};
  Rig r(absl::Milliseconds(100));
  East east(r);
  r.dp.SetVerdict([&](const std::vector<Message>& b) {
    if (Count(b, MessageKind::kSa, Op::kAdd) > 0 && held.exchange(false)) {
      for (int i = 0; i < 30000 && !release; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    }
    return dp::api::ApplyResult{};
  });
  REQUIRE(r.vpnd->LoadFile("configs/vyatta-west.conf").ok());
  Pump(r, east);
  INFO(r.log.Recent());
  REQUIRE(r.link->unacknowledged() == 1);  // the install, still unanswered
  REQUIRE(r.vpnd->Command({"reset", "vpn", "ipsec-peer", "159.8.98.213"}).ok());
  release = true;
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
  auto counters = [](uint32_t spi, dp::api::Direction dir, uint64_t bytes, uint64_t packets) {
    dp::api::Event e = dp::api::NewEvent(dp::api::EventKind::kSaCounters);
    e.body.sa_counters.spi = spi;
    e.body.sa_counters.direction = dir;
    e.body.sa_counters.bytes = bytes;
    e.body.sa_counters.packets = packets;
    return e;
  };
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
