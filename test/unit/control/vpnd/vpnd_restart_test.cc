// The hitless restart at vpnd's level, on the fake dataplane: vpnd writes its IKE state file,
// a second vpnd (the first one gone as after kill -9) resumes from it: its first batch keeps the
// SAs and binds the VTI to the SA the dataplane still holds, the peer keeps its IKE SA, and the
// CHILD SA is then rekeyed. A bad file falls back to the flush and is counted.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <cstdio>

#include "control/vpnd/ike_state_file.h"
#include "control/vpnd/vpnd_test_rig.h"

namespace portcullis::vpnd {
namespace {

using testing::East;
using testing::FakeDataplane;

// One vpnd process on the fake dataplane: its own channel client, link and installer.
struct Process {
  std::optional<dp::api::ChannelClient> client;
  std::unique_ptr<DataplaneLink> link;
  std::unique_ptr<ChannelSaInstaller> installer;
  std::unique_ptr<Vpnd> vpnd;
  Process(FakeDataplane& dp, absl::Time& now, VpndLog& log, const std::string& state,
          const std::string& origin = "west", absl::Duration max_age = absl::Hours(1)) {
    auto c = dp::api::ChannelClient::Attach(dp.name, true, absl::Seconds(1));
    REQUIRE(c.ok());
    client.emplace(*std::move(c));
    auto clock = [&now] { return now; };
    link = std::make_unique<DataplaneLink>(
        &*client,
        [&dp] { return dp::api::ChannelClient::Attach(dp.name, true, absl::Milliseconds(100)); },
        absl::Seconds(2), clock, &log);
    installer = std::make_unique<ChannelSaInstaller>(*link, clock, &log);
    VpndDeps deps;
    deps.clock = clock;
    deps.log = &log;
    deps.link = link.get();
    deps.installer = installer.get();
    deps.ike_state_path = state;
    deps.ike_state_origin = origin;
    deps.ike_state_max_age = max_age;
    vpnd = std::make_unique<Vpnd>(deps);
  }
};

// What Pump does, for a Process.
void Exchange(Process& p, FakeDataplane& dp, East& e) {
  for (int quiet = 0, i = 0; quiet < 200 && i < 20000; ++i) {
    p.vpnd->Poll();
    bool moved = false;
    for (const auto& d : dp.TakeInjected()) {
      e.mgr->HandleDatagram(d);
      moved = true;
    }
    for (auto& d : e.out) {
      dp.Punt(d);
      moved = true;
    }
    e.out.clear();
    quiet = moved ? 0 : quiet + 1;
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
}

struct Setup {
  FakeDataplane dp;
  absl::Time now = absl::FromUnixSeconds(1767225600);
  VpndLog log{"", false};
  std::string state = absl::StrCat("/tmp/vpnd-restart-test-", getpid(), ".ike-state");
  ~Setup() { std::remove(state.c_str()); }
};

const dp::api::Message* FlushOf(const std::vector<dp::api::Message>& b) {
  return testing::Find(b, dp::api::MessageKind::kFlush, dp::api::Op::kDelete);
}

TEST_CASE("a restarted vpnd resumes the IKE SA and keeps the dataplane's SAs", "[vpnd][restart]") {
  Setup s;
  auto first = std::make_unique<Process>(s.dp, s.now, s.log, s.state);
  East east(s.now);
  REQUIRE(first->vpnd->LoadFile("configs/vyatta-west.conf").ok());
  Exchange(*first, s.dp, east);
  const ike::ChildSa* ec = testing::EastChild(east);
  INFO(s.log.Recent());
  REQUIRE(ec != nullptr);
  const uint32_t west_in = ec->spi_out, west_out = ec->spi_in;
  const ike::IkeSpi east_spi = east.Sa()->spi_i();
  CHECK(first->vpnd->resume_stats().state_writes >= 1);
  absl::StatusOr<std::string> text = ReadStateFile(s.state);
  REQUIRE(text.ok());
  CHECK(absl::StrContains(*text, "\nike "));
  CHECK(absl::StrContains(*text, "\nchild "));
  // The first vpnd started without a state: it flushed everything.
  auto batches = s.dp.Batches();
  REQUIRE(FlushOf(batches[0]) != nullptr);
  CHECK(FlushOf(batches[0])->body.flush.scope == dp::api::kFlushAll);

  // kill -9: nothing more from it (its handlers dropped), its client slot released.
  first.reset();
  const size_t before = s.dp.Batches().size();
  Process second(s.dp, s.now, s.log, s.state);
  REQUIRE(second.vpnd->LoadFile("configs/vyatta-west.conf").ok());
  batches = s.dp.Batches();
  REQUIRE(batches.size() > before);
  const auto& commit = batches[before];
  const dp::api::Message* flush = FlushOf(commit);
  REQUIRE(flush != nullptr);
  CHECK((flush->body.flush.scope & dp::api::kFlushSas) == 0);
  CHECK((flush->body.flush.scope & dp::api::kFlushInterfaces) != 0);
  // No SA sent again; the VTI bound again, in the same batch, to the SA the dataplane kept.
  CHECK(testing::Count(commit, dp::api::MessageKind::kSa, dp::api::Op::kAdd) == 0);
  const dp::api::Message* bind =
      testing::Find(commit, dp::api::MessageKind::kVtiBinding, dp::api::Op::kAdd);
  REQUIRE(bind != nullptr);
  CHECK(bind->body.vti_binding.out_spi == west_out);
  CHECK(bind->body.vti_binding.vti_ifindex ==
        testing::Interface(commit, "vti2")->body.interface.ifindex);
  Exchange(second, s.dp, east);
  CHECK(second.vpnd->resume_stats().ike_resumed == 1);
  CHECK(second.vpnd->resume_stats().children_adopted == 1);
  CHECK(second.vpnd->resume_stats().state_file_errors == 0);
  // The peer kept its IKE SA (no new one, no INITIAL_CONTACT), and the CHILD SA was rekeyed.
  REQUIRE(east.Sa() != nullptr);
  CHECK(east.mgr->Sas().size() == 1);
  CHECK(east.Sa()->spi_i() == east_spi);
  ec = testing::EastChild(east);
  REQUIRE(ec != nullptr);
  CHECK(ec->spi_out != west_in);
  // The old SAs were deleted after the new ones went in.
  batches = s.dp.Batches();
  bool deleted_old = false;
  for (size_t i = before + 1; i < batches.size(); ++i) {
    deleted_old |= testing::Find(batches[i], dp::api::MessageKind::kSa, dp::api::Op::kDelete,
                                 [&](const dp::api::Message& m) {
                                   return m.body.sa.spi == west_in;
                                 }) != nullptr;
  }
  CHECK(deleted_old);
  CHECK(absl::StrContains(s.log.Recent(), "resumed after the restart"));
}

TEST_CASE("an unusable IKE state file falls back to the flush and is counted", "[vpnd][restart]") {
  Setup s;
  REQUIRE(WriteFileAtomically(s.state, "portcullis-ike-state 1\nike name=zz\n").ok());
  Process p(s.dp, s.now, s.log, s.state);
  REQUIRE(p.vpnd->LoadFile("configs/vyatta-west.conf").ok());
  auto batches = s.dp.Batches();
  REQUIRE(!batches.empty());
  REQUIRE(FlushOf(batches[0]) != nullptr);
  CHECK(FlushOf(batches[0])->body.flush.scope == dp::api::kFlushAll);
  CHECK(p.vpnd->resume_stats().state_file_errors == 1);
  CHECK(p.vpnd->resume_stats().ike_resumed == 0);
  CHECK(absl::StrContains(s.log.Recent(), "unusable"));
}

// The state of an IKE SA up between west (vpnd) and east, written by a vpnd of `origin`.
void WriteState(Setup& s, const std::string& origin) {
  Process first(s.dp, s.now, s.log, s.state, origin);
  East east(s.now);
  REQUIRE(first.vpnd->LoadFile("configs/vyatta-west.conf").ok());
  Exchange(first, s.dp, east);
  REQUIRE(testing::EastChild(east) != nullptr);
  absl::StatusOr<std::string> text = ReadStateFile(s.state);
  REQUIRE(text.ok());
  REQUIRE(absl::StrContains(*text, "\nike "));
}

TEST_CASE("another vpnd's IKE state file is not resumed, with a log line", "[vpnd][restart]") {
  Setup s;
  WriteState(s, "east-appliance");
  Process p(s.dp, s.now, s.log, s.state, "west");
  const size_t before = s.dp.Batches().size();
  REQUIRE(p.vpnd->LoadFile("configs/vyatta-west.conf").ok());
  auto batches = s.dp.Batches();
  REQUIRE(batches.size() > before);
  REQUIRE(FlushOf(batches[before]) != nullptr);
  CHECK(FlushOf(batches[before])->body.flush.scope == dp::api::kFlushAll);
  CHECK(p.vpnd->resume_stats().state_file_refused == 1);
  CHECK(p.vpnd->resume_stats().ike_resumed == 0);
  CHECK(absl::StrContains(s.log.Recent(),
                          "not resumed (written by the vpnd of channel "
                          "'east-appliance', this is 'west')"));
}

TEST_CASE("an IKE state file of an older vpnd (no origin line) is resumed, once, with a line",
          "[vpnd][restart]") {
  Setup s;
  WriteState(s, "west");
  absl::StatusOr<std::string> text = ReadStateFile(s.state);
  REQUIRE(text.ok());
  const size_t at = text->find("\norigin ");
  REQUIRE(at != std::string::npos);
  text->erase(at, text->find('\n', at + 1) - at);
  REQUIRE(WriteFileAtomically(s.state, *text).ok());
  Process p(s.dp, s.now, s.log, s.state, "west");
  REQUIRE(p.vpnd->LoadFile("configs/vyatta-west.conf").ok());
  CHECK(p.vpnd->resume_stats().state_file_refused == 0);
  CHECK(p.vpnd->resume_stats().ike_resumed == 1);
  CHECK(absl::StrContains(s.log.Recent(), "has no origin line (an older vpnd's): resuming it"));
}

TEST_CASE("an IKE state file older than the maximum age is not resumed", "[vpnd][restart]") {
  Setup s;
  WriteState(s, "west");
  s.now += absl::Hours(1) + absl::Minutes(1);  // vpnd was down that long
  Process p(s.dp, s.now, s.log, s.state, "west");
  const size_t before = s.dp.Batches().size();
  REQUIRE(p.vpnd->LoadFile("configs/vyatta-west.conf").ok());
  auto batches = s.dp.Batches();
  REQUIRE(batches.size() > before);
  REQUIRE(FlushOf(batches[before]) != nullptr);
  CHECK(FlushOf(batches[before])->body.flush.scope == dp::api::kFlushAll);
  CHECK(p.vpnd->resume_stats().state_file_refused == 1);
  CHECK(absl::StrContains(s.log.Recent(),
                          "not resumed (saved 1h1m ago, more than the maximum "
                          "age of 1h)"));
}

TEST_CASE("an unchanged IKE state is rewritten now and then, so its age says vpnd was alive",
          "[vpnd][restart]") {
  Setup s;
  Process p(s.dp, s.now, s.log, s.state, "west", absl::Seconds(40));
  East east(s.now);
  REQUIRE(p.vpnd->LoadFile("configs/vyatta-west.conf").ok());
  Exchange(p, s.dp, east);
  p.vpnd->Poll();
  const uint64_t writes = p.vpnd->resume_stats().state_writes;
  s.now += absl::Seconds(5);
  p.vpnd->Poll();
  CHECK(p.vpnd->resume_stats().state_writes == writes);  // nothing changed: not written
  s.now += absl::Seconds(6);  // a quarter of the maximum age since the last write
  p.vpnd->Poll();
  CHECK(p.vpnd->resume_stats().state_writes == writes + 1);
}

TEST_CASE("an IKE state file others may read or write is not trusted", "[vpnd][restart]") {
  Setup s;
  REQUIRE(WriteFileAtomically(s.state, "portcullis-ike-state 1\nend 0\n").ok());
  struct stat st;
  REQUIRE(stat(s.state.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  REQUIRE(ReadStateFile(s.state).ok());
  REQUIRE(chmod(s.state.c_str(), 0644) == 0);
  CHECK(absl::IsPermissionDenied(ReadStateFile(s.state).status()));
  Process p(s.dp, s.now, s.log, s.state);
  REQUIRE(p.vpnd->LoadFile("configs/vyatta-west.conf").ok());
  auto batches = s.dp.Batches();
  REQUIRE(!batches.empty());
  REQUIRE(FlushOf(batches[0]) != nullptr);
  CHECK(FlushOf(batches[0])->body.flush.scope == dp::api::kFlushAll);
  CHECK(p.vpnd->resume_stats().state_file_errors == 1);
  CHECK(absl::StrContains(s.log.Recent(), "not trusted"));
}

}  // namespace
}  // namespace portcullis::vpnd

namespace portcullis::vpnd {
namespace {

// A policy-based tunnel held by a trap (close-action trap here; DPD hold alike) keeps its
// policies pointing at no SA, so its traffic is dropped and raises an acquire instead of being
// routed in the clear. The restart flushes policies: the trap must come back in the same batch.
TEST_CASE("the trap of a policy-based tunnel outlives a vpnd restart", "[vpnd][restart][trap]") {
  Setup s;
  const std::string text =
      std::string(testing::kOneTunnel) + "set security vpn ipsec ike-group IKE close-action trap\n";
  const std::string conf = testing::WriteFile(text);
  auto first = std::make_unique<Process>(s.dp, s.now, s.log, s.state);
  East east(s.now);
  east.mgr->SetPeers({testing::MirrorPeer(testing::kOneTunnel)});
  REQUIRE(first->vpnd->LoadFile(conf).ok());
  Exchange(*first, s.dp, east);
  INFO(s.log.Recent());
  REQUIRE(east.Sa() != nullptr);
  // The peer closes the IKE SA: the trap keeps the tunnel's policies without an SA.
  const_cast<ike::IkeSa*>(east.Sa())->Delete();
  Exchange(*first, s.dp, east);
  REQUIRE(first->installer->trap_policies() == 2);
  REQUIRE(first->vpnd->ike().trapped("peer-192.0.2.2"));
  absl::StatusOr<std::string> saved = ReadStateFile(s.state);
  REQUIRE(saved.ok());
  CHECK(absl::StrContains(*saved, "\ntrap "));

  first.reset();  // kill -9
  const size_t before = s.dp.Batches().size();
  Process second(s.dp, s.now, s.log, s.state);
  REQUIRE(second.vpnd->LoadFile(conf).ok());
  auto batches = s.dp.Batches();
  REQUIRE(batches.size() > before);
  const auto& commit = batches[before];
  const dp::api::Message* flush = FlushOf(commit);
  REQUIRE(flush != nullptr);
  CHECK((flush->body.flush.scope & dp::api::kFlushPolicies) != 0);
  // The batch that flushes the policies puts the trap's back, pointing at no SA.
  CHECK(testing::Count(commit, dp::api::MessageKind::kPolicy, dp::api::Op::kAdd) == 2);
  for (const dp::api::Message& m : commit) {
    if (m.header.kind != dp::api::MessageKind::kPolicy) continue;
    CHECK(m.body.policy.out_spi == 0);
    CHECK(m.body.policy.reqid != 0);
  }
  CHECK(second.vpnd->ike().trapped("peer-192.0.2.2"));
  CHECK(second.vpnd->resume_stats().traps_kept == 1);
  CHECK(second.vpnd->resume_stats().trap_policies == 2);
  CHECK(second.installer->trap_policies() == 2);
  std::remove(conf.c_str());
}

}  // namespace
}  // namespace portcullis::vpnd
