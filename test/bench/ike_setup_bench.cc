// vpnd's IKE work per IKE_SA + CHILD_SA setup, without sockets, dataplane or other processes:
// two IkeManagers in this process, one initiating `--setups` peers (one address pair each, as
// `scripts/bench ike` sets them up) to the other, datagrams handed over in memory, a fake clock.
// What it measures is what the bench's vpnd does per setup on its loop (proposals, DH, HMACs,
// the SK payload, the log lines formatted, the manager's lookups and Tick), both roles together.
// Prints CPU per setup; run under callgrind for instructions per setup, which this shared
// machine does not disturb:
//
//   valgrind --tool=callgrind --toggle-collect='portcullis::ike::bench::RunSetups*'
//       build/test/bench/ike_setup_bench --group=x25519 --ike=cbc --setups=200
//
// then instructions / setups (at most 65,536: each peer has its own /24 pair of selectors).
// --group=x25519|modp (DH 31 or 14), --ike=cbc|gcm (aes128-sha256 as vpnd answers strongSwan in
// `scripts/bench ike`, or aes128gcm16-prfsha256 as vpnd to vpnd), ESP aes128gcm16 without PFS, PSK
// authentication. --batch=N: at most N datagrams per loop round (default: all on the wire), as
// vpnd's loop reads what arrived since its last round and Ticks once per round: a smaller batch
// weighs the per-round work (Tick's walk of every SA) more. The fake clock moves 1 ms per round;
// --sweep-ms=N: Tick visits the SAs due (the timer heap) and those touched, and walks every SA
// at most every N ms (ManagerOptions::sweep_interval; vpnd's default is 1000), 0 = every round
// walks every SA. --teardown: then the initiator's peers are all removed and
// every SA deleted (callgrind: --toggle-collect='portcullis::ike::bench::RunTeardown*').
// --rekeys: then every CHILD SA is rekeyed at once by the initiator, as soft expiries from the
// dataplane (or vpnd's rekeys after a dataplane restart) ask for them, by SPI, until both ends
// have the new CHILD SAs and removed the old ones (callgrind:
// --toggle-collect='portcullis::ike::bench::RunRekeys*'; divide by the setups: instructions per
// CHILD rekey, which must not grow with the number of SAs).
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "ike/sa/ike_config.h"
#include "ike/sa/ike_log.h"
#include "ike/sa/ike_manager.h"
#include "ike/sa/traffic_selectors.h"

namespace portcullis::ike::bench {

namespace {

// Formats every line as vpnd's log does, then drops it.
struct FormatLog : LogSink {
  size_t bytes = 0;
  void Write(const LogRecord& r) override { bytes += FormatLogLine(r).size(); }
};

struct CountChildren : IkeListener {
  size_t up = 0, down = 0;
  void ChildUp(const IkeSa&, const ChildSa&) override { ++up; }
  void ChildDown(const IkeSa&, const ChildSa&) override { ++down; }
};

struct Options {
  DhGroup group = DhGroup::kCurve25519;
  bool gcm = false;
  size_t setups = 200;
  size_t batch = 0;  // datagrams handled per loop round; 0 = all on the wire
  int sweep_ms = 0;  // ManagerOptions::sweep_interval (vpnd: 1000 ms)
  bool teardown = false;
  bool rekeys = false;
};

Address Nth(int base, size_t i) {
  return *Address::Parse(absl::StrFormat("10.%d.%d.%d", base + static_cast<int>(i >> 16),
                                         static_cast<int>((i >> 8) & 0xff),
                                         static_cast<int>(i & 0xff)));
}

// Peer i's /24: (first + (i >> 16)).((i >> 8) & 255).(i & 255).0 (65,536 peers).
TrafficSelector Net24(int first, size_t i) {
  return TsFromPrefix(*Address::Parse(absl::StrFormat("%d.%d.%d.0", first + (i >> 16),
                                                      static_cast<int>((i >> 8) & 0xff),
                                                      static_cast<int>(i & 0xff))),
                      24);
}

std::shared_ptr<IkeSaConfig> PeerConfig(const Options& o, size_t i, bool initiator) {
  auto c = std::make_shared<IkeSaConfig>();
  Address ours = Nth(initiator ? 64 : 96, i), theirs = Nth(initiator ? 96 : 64, i);
  c->name = "peer-" + theirs.ToString();
  c->peer_key = theirs.ToString();
  c->local = ours;
  c->remote = theirs;
  c->local_id_text = ours.ToString();
  c->remote_id_text = theirs.ToString();
  c->local_id = IdFromText(c->local_id_text);
  c->remote_id = IdFromText(c->remote_id_text);
  c->psk = SharedSecret("ike-bench-psk-0123456789");
  Proposal ike;
  ike.protocol = ProtocolId::kIke;
  if (o.gcm) {
    ike.transforms.push_back(Transform::Encr(EncrId::kAesGcm16, 128));
  } else {
    ike.transforms.push_back(Transform::Encr(EncrId::kAesCbc, 128));
    ike.transforms.push_back(Transform::Integ(IntegId::kHmacSha2_256_128));
  }
  ike.transforms.push_back(Transform::Prf(PrfId::kHmacSha2_256));
  ike.transforms.push_back(Transform::Dh(o.group));
  c->ike_proposals = {ike};
  c->initiate = initiator;
  ChildConfig ch;
  ch.name = c->name + "-tunnel-1";
  ch.tunnel_id = 1;
  ch.local_ts = {Net24(initiator ? 100 : 110, i)};
  ch.remote_ts = {Net24(initiator ? 110 : 100, i)};
  Proposal esp;
  esp.protocol = ProtocolId::kEsp;
  esp.transforms.push_back(Transform::Encr(EncrId::kAesGcm16, 128));
  esp.transforms.push_back(Transform::Esn(EsnId::kNoEsn));
  ch.esp_proposals = {esp};
  ch.reqid = static_cast<uint32_t>(i + 1);
  c->children.push_back(ch);
  return c;
}

struct Lab {
  absl::Time now = absl::FromUnixSeconds(1767225600);
  std::deque<Datagram> wire;
  FormatLog log_i, log_r;
  CountChildren up_i, up_r;
  std::unique_ptr<IkeManager> init, resp;
  size_t datagrams = 0;

  explicit Lab(const Options& o) {
    ManagerOptions m;
    m.cookie_threshold = 0;  // as `scripts/bench ike` configures both responders
    m.block_threshold = 0;
    m.sweep_interval = absl::Milliseconds(o.sweep_ms);
    auto clock = [this] { return now; };
    auto send = [this](const Datagram& d) { wire.push_back(d); };
    init = std::make_unique<IkeManager>(clock, send, &log_i, nullptr, &up_i, m);
    resp = std::make_unique<IkeManager>(clock, send, &log_r, nullptr, &up_r, m);
    std::vector<std::shared_ptr<const IkeSaConfig>> pi, pr;
    for (size_t i = 0; i < o.setups; ++i) {
      pi.push_back(PeerConfig(o, i, true));
      pr.push_back(PeerConfig(o, i, false));
    }
    init->SetPeers(pi);
    resp->SetPeers(pr);
  }

  // The initiator's addresses are 10.64.0.0 and up, the responder's 10.96.0.0 and up.
  Address responder_base = *Address::Parse("10.96.0.0");
  IkeManager& To(const Datagram& d) { return d.dst.address < responder_base ? *init : *resp; }
};

}  // namespace

// One loop round: the clock moves 1 ms, both managers Tick, then what is on the wire now is
// read, as a loop reads its sockets; answers go out for the next round.
static void Round(Lab& lab, size_t batch) {
  lab.now += absl::Milliseconds(1);
  lab.init->Tick();
  lab.resp->Tick();
  size_t n = lab.wire.size();
  if (batch > 0) n = std::min(n, batch);
  for (; n > 0; --n) {
    Datagram d = std::move(lab.wire.front());
    lab.wire.pop_front();
    ++lab.datagrams;
    lab.To(d).HandleDatagram(d);
  }
}

// Everything from the first initiation until every CHILD SA is up on both ends, as vpnd's loop
// runs it: datagrams as they come, a Tick per round. Not inlined: callgrind collects from here.
__attribute__((noinline)) bool RunSetups(Lab& lab, size_t setups, size_t batch) {
  for (int round = 0; round < 1000000; ++round) {
    Round(lab, batch);
    if (lab.up_i.up >= setups && lab.up_r.up >= setups) return true;
  }
  return false;
}

// --rekeys: IkeManager::RekeyChild for each of the initiator's CHILD SAs by its inbound SPI,
// then rounds until both ends have a new CHILD SA per tunnel and the old ones are gone.
__attribute__((noinline)) bool RunRekeys(Lab& lab, const std::vector<uint32_t>& spis,
                                         size_t batch) {
  const size_t up_i = lab.up_i.up, up_r = lab.up_r.up;
  const size_t down_i = lab.up_i.down, down_r = lab.up_r.down;
  for (uint32_t spi : spis) {
    if (!lab.init->RekeyChild(spi)) return false;
  }
  const size_t n = spis.size();
  for (int round = 0; round < 1000000; ++round) {
    Round(lab, batch);
    if (lab.up_i.up >= up_i + n && lab.up_r.up >= up_r + n && lab.up_i.down >= down_i + n &&
        lab.up_r.down >= down_r + n) {
      return true;
    }
  }
  return false;
}

// --teardown: the initiator's peers all removed from its configuration at once (a commit, or
// as a shutdown deletes them): every IKE SA deleted with its CHILD SA, until both ends saw every
// CHILD SA go. What grows faster than the SAs here is per SA going (IkeManager::ChildDown).
__attribute__((noinline)) bool RunTeardown(Lab& lab, size_t setups, size_t batch) {
  const size_t down_i = lab.up_i.down, down_r = lab.up_r.down;  // --rekeys' removals before
  lab.init->SetPeers({});
  for (int round = 0; round < 1000000; ++round) {
    Round(lab, batch);
    if (lab.up_i.down >= down_i + setups && lab.up_r.down >= down_r + setups) return true;
  }
  return false;
}

}  // namespace portcullis::ike::bench

int main(int argc, char** argv) {
  using portcullis::ike::DhGroup;
  namespace b = portcullis::ike::bench;
  b::Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    size_t n = 0;
    if (a == "--group=x25519") {
      o.group = DhGroup::kCurve25519;
    } else if (a == "--group=modp") {
      o.group = DhGroup::kModp2048;
    } else if (a == "--ike=cbc" || a == "--ike=gcm") {
      o.gcm = a == "--ike=gcm";
    } else if (absl::StartsWith(a, "--batch=") && absl::SimpleAtoi(a.substr(8), &n)) {
      o.batch = n;
    } else if (a == "--teardown") {
      o.teardown = true;
    } else if (a == "--rekeys") {
      o.rekeys = true;
    } else if (absl::StartsWith(a, "--sweep-ms=") && absl::SimpleAtoi(a.substr(11), &n)) {
      o.sweep_ms = static_cast<int>(n);
    } else if (absl::StartsWith(a, "--setups=") && absl::SimpleAtoi(a.substr(9), &n) && n > 0 &&
               n <= 65536) {
      o.setups = n;
    } else {
      std::fprintf(stderr,
                   "usage: %s [--group=x25519|modp] [--ike=cbc|gcm] [--setups=N (1..65536)] "
                   "[--batch=N] [--sweep-ms=N] [--rekeys] [--teardown]\n",
                   argv[0]);
      return 2;
    }
  }
  b::Lab lab(o);
  timespec t0{}, t1{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
  bool done = b::RunSetups(lab, o.setups, o.batch);
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
  double cpu = static_cast<double>(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
  std::printf("ike_setup_bench group=%s ike=%s setups=%zu up=%zu/%zu datagrams=%zu\n",
              o.group == DhGroup::kCurve25519 ? "x25519" : "modp", o.gcm ? "gcm" : "cbc", o.setups,
              lab.up_i.up, lab.up_r.up, lab.datagrams);
  std::printf("cpu per setup (both roles): %.1f us\n", cpu * 1e6 / static_cast<double>(o.setups));
  if (done && o.rekeys) {
    std::vector<uint32_t> spis;
    for (const portcullis::ike::IkeSa* sa : lab.init->Sas()) {
      for (const auto& c : sa->children()) spis.push_back(c->spi_in);
    }
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
    done = b::RunRekeys(lab, spis, o.batch);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
    cpu = static_cast<double>(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    std::printf(
        "rekeys: %zu CHILD SAs, up=%zu/%zu down=%zu/%zu cpu per CHILD rekey (both roles): "
        "%.1f us\n",
        spis.size(), lab.up_i.up, lab.up_r.up, lab.up_i.down, lab.up_r.down,
        cpu * 1e6 / static_cast<double>(spis.size()));
  }
  if (done && o.teardown) {
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
    done = b::RunTeardown(lab, o.setups, o.batch);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
    cpu = static_cast<double>(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    std::printf("teardown: down=%zu/%zu cpu per SA (both roles): %.1f us\n", lab.up_i.down,
                lab.up_r.down, cpu * 1e6 / static_cast<double>(o.setups));
  }
  return done ? 0 : 1;
}
