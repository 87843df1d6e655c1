// ESP engine benchmark (not a test): ns/packet for encap and decap of bursts of 32, next to the
// raw IPsec-MB AES-GCM call on the same lengths in the same run, for 64, 512, 1420 bytes and
// IMIX. Prints a table and, last, the summary line scripts/bench reports.
// Packets go enc -> dec -> enc ... so each phase sees real data and leaves the next one valid.
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "dataplane/esp/esp_engine.h"
#include "drivers/crypto/ipsecmb_backend.h"
#include "drivers/ethdev/eal_runtime.h"

using namespace portcullis::dp::esp;
using Backend = portcullis::drivers::crypto::IpsecMbBackend;

namespace {

constexpr int kBurst = 32;
constexpr int kRounds = 4000;  // bursts per measurement
constexpr int kRepeats = 7;    // best of

struct Algo {
  Cipher cipher;
  Auth auth;
  const char* name;
};

SaConfig Config(Direction d, const Algo& a) {
  SaConfig c;
  c.spi = 0x1000;
  c.direction = d;
  c.family = AF_INET;
  c.local[0] = c.remote[0] = 192;
  c.local[3] = d == Direction::kOutbound ? 1 : 2;
  c.remote[3] = d == Direction::kOutbound ? 2 : 1;
  c.cipher = a.cipher;
  c.auth = a.auth;
  c.enc_key_len = static_cast<uint8_t>(CipherKeyLen(a.cipher));
  c.auth_key_len = static_cast<uint8_t>(AuthKeyLen(a.auth));
  for (int i = 0; i < 32; ++i) c.enc_key[i] = static_cast<uint8_t>(i);
  for (int i = 0; i < 64; ++i) c.auth_key[i] = static_cast<uint8_t>(3 * i);
  c.replay_window = 1024;
  return c;
}

void FillInner(rte_mbuf* m, uint32_t len) {
  rte_pktmbuf_reset(m);
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(rte_pktmbuf_append(m, static_cast<uint16_t>(len)));
  std::memset(ip, 0x5a, len);
  ip->version_ihl = 0x45;
  ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(len));
  ip->fragment_offset = 0;
  ip->next_proto_id = 17;
  ip->type_of_service = 0;
}

struct Result {
  double enc_ns, dec_ns, raw_enc_ns, raw_dec_ns;
};

double NsPerPacket(uint64_t cycles, uint64_t packets) {
  return static_cast<double>(cycles) * 1e9 / static_cast<double>(rte_get_tsc_hz()) /
         static_cast<double>(packets);
}

// The raw GCM call on the lengths the engine ciphers for these inner packets (payload, pad
// length and next header, 4-byte aligned), in place, AAD 8, tag 16. Best of `repeats`.
std::pair<double, double> RawGcm(Backend& be, const Algo& algo, const std::vector<uint32_t>& sizes,
                                 int repeats = kRepeats) {
  double best_enc = 1e9, best_dec = 1e9;
  SaConfig c = Config(Direction::kOutbound, algo);
  alignas(64) static uint8_t storage[kCryptoStateBytes];
  if (!Backend::InitKeys(storage, KeySpecOf(c)).ok()) std::exit(1);
  auto& keys = *reinterpret_cast<Backend::Keys*>(storage);
  std::vector<std::vector<uint8_t>> bufs(kBurst);
  std::vector<uint32_t> lens(kBurst);
  for (int i = 0; i < kBurst; ++i) {
    uint32_t len = sizes[i % sizes.size()];
    lens[i] = (len + 2 + 3) & ~3u;
    bufs[i].assign(lens[i] + 16, 0x33);
  }
  uint8_t iv[12] = {}, aad[8] = {}, tag[16];
  bool aes256 = algo.cipher == Cipher::kAesGcm256;
  for (int rep = 0; rep < repeats; ++rep) {
    uint64_t enc = 0, dec = 0, n = 0;
    for (int r = 0; r < kRounds; ++r) {
      uint64_t t0 = rte_rdtsc_precise();
      for (int i = 0; i < kBurst; ++i)
        be.GcmEncrypt(keys, aes256, bufs[i].data(), lens[i], iv, aad, 8, bufs[i].data() + lens[i]);
      uint64_t t1 = rte_rdtsc_precise();
      for (int i = 0; i < kBurst; ++i)
        (void)be.GcmDecrypt(keys, aes256, bufs[i].data(), lens[i], iv, aad, 8, tag);
      uint64_t t2 = rte_rdtsc_precise();
      enc += t1 - t0;
      dec += t2 - t1;
      n += kBurst;
    }
    best_enc = std::min(best_enc, NsPerPacket(enc, n));
    best_dec = std::min(best_dec, NsPerPacket(dec, n));
  }
  Backend::DestroyKeys(storage);
  return {best_enc, best_dec};
}

Result Measure(Backend& be, EspEngine<Backend>& engine, rte_mempool* pool, const Algo& algo,
               const std::vector<uint32_t>& sizes) {
  Result best{1e9, 1e9, 1e9, 1e9};
  rte_mbuf* pkts[kBurst];
  for (int i = 0; i < kBurst; ++i) {
    pkts[i] = rte_pktmbuf_alloc(pool);
    FillInner(pkts[i], sizes[i % sizes.size()]);
  }
  for (int rep = 0; rep < kRepeats; ++rep) {
    auto out = CreateSa<Backend>(Config(Direction::kOutbound, algo));
    auto in = CreateSa<Backend>(Config(Direction::kInbound, algo));
    uint64_t enc = 0, dec = 0, n = 0;
    for (int r = 0; r < kRounds; ++r) {
      DropList drops;
      uint64_t t0 = rte_rdtsc_precise();
      uint16_t a = engine.Encrypt(**out, pkts, kBurst, drops);
      uint64_t t1 = rte_rdtsc_precise();
      uint16_t b = engine.Decrypt(**in, pkts, kBurst, drops);
      uint64_t t2 = rte_rdtsc_precise();
      if (a != kBurst || b != kBurst || drops.n) {
        std::fprintf(stderr, "bench: %s lost packets (%u/%u, %u drops: %s)\n", algo.name, a, b,
                     drops.n, drops.n ? DropReasonName(drops.reasons[0]) : "");
        std::exit(1);
      }
      enc += t1 - t0;
      dec += t2 - t1;
      n += kBurst;
    }
    best.enc_ns = std::min(best.enc_ns, NsPerPacket(enc, n));
    best.dec_ns = std::min(best.dec_ns, NsPerPacket(dec, n));
    // The raw call is measured between the engine's repetitions, not after all of them: on a
    // shared machine both then see the same conditions, and their difference means something.
    if (IsAead(algo.cipher)) {
      auto [e, d] = RawGcm(be, algo, sizes, 1);
      best.raw_enc_ns = std::min(best.raw_enc_ns, e);
      best.raw_dec_ns = std::min(best.raw_dec_ns, d);
    }
  }
  rte_pktmbuf_free_bulk(pkts, kBurst);
  return best;
}

}  // namespace

int main(int argc, char** argv_in) {
  // Optional filters: esp_bench [algorithm] [size], e.g. esp_bench aes-gcm-128 64
  // Or the raw GCM cost alone (scripts/bench dataplane's crypto bound):
  //   esp_bench raw aes-gcm-128|aes-gcm-256 LEN[,LEN...]  -> "raw_gcm enc_ns=E dec_ns=D"
  // where the LENs are inner IP packet lengths, cycled over a burst.
  const bool raw_mode = argc == 4 && std::string(argv_in[1]) == "raw";
  std::string only_algo = argc > 1 ? argv_in[1] : "", only_size = argc > 2 ? argv_in[2] : "";
  std::string prefix = "--file-prefix=espbench" + std::to_string(getpid());
  // scripts/bench reserves hugepages (--in-memory needs no hugetlbfs mount) or says there are none.
  bool huge = getenv("ESP_BENCH_NO_HUGE") == nullptr;
  std::vector<const char*> argv = {"esp_bench",           "--no-pci",    "-l", "0",
                                   "--log-level=*:error", prefix.c_str()};
  if (huge) {
    argv.push_back("--in-memory");
  } else {
    argv.insert(argv.end(), {"--no-huge", "-m", "256"});
  }
  if (rte_eal_init(static_cast<int>(argv.size()), const_cast<char**>(argv.data())) < 0) {
    // No hugepages reserved after all: fall back.
    std::fprintf(stderr, "bench: EAL with hugepages failed, run with ESP_BENCH_NO_HUGE=1\n");
    return 1;
  }
  // scripts/bench dataplane runs this once per frame size and round: leave no
  // /var/run/dpdk/espbench<pid> behind.
  portcullis::drivers::ethdev::CleanEalRuntimeDirAtExit();
  if (raw_mode) {
    Backend be;
    std::vector<uint32_t> lens;
    for (const char* p = argv_in[3]; *p;) {
      char* end;
      lens.push_back(static_cast<uint32_t>(std::strtoul(p, &end, 10)));
      if (end == p || lens.back() < 20 || lens.back() > 9000) {
        std::fprintf(stderr, "bench: bad length list '%s'\n", argv_in[3]);
        return 2;
      }
      p = *end == ',' ? end + 1 : end;
    }
    const std::string a = argv_in[2];
    if (a != "aes-gcm-128" && a != "aes-gcm-256") {
      std::fprintf(stderr, "bench: raw mode takes aes-gcm-128 or aes-gcm-256\n");
      return 2;
    }
    Algo algo{a == "aes-gcm-128" ? Cipher::kAesGcm128 : Cipher::kAesGcm256, Auth::kNone,
              argv_in[2]};
    auto [e, d] = RawGcm(be, algo, lens);
    std::printf("raw_gcm enc_ns=%.2f dec_ns=%.2f\n", e, d);
    return 0;
  }
  rte_mempool* pool =
      rte_pktmbuf_pool_create("bench", 1023, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
  Backend be;
  auto* engine = new EspEngine<Backend>(be);

  const Algo algos[] = {
      {Cipher::kAesGcm128, Auth::kNone, "aes-gcm-128"},
      {Cipher::kAesGcm256, Auth::kNone, "aes-gcm-256"},
      {Cipher::kAesCbc128, Auth::kHmacSha1_96, "aes-cbc-128/sha1"},
      {Cipher::kAesCbc256, Auth::kHmacSha256_128, "aes-cbc-256/sha256"},
  };
  struct Size {
    const char* name;
    std::vector<uint32_t> sizes;
  };
  // IMIX: 7:4:1 of 64, 576 and 1500-byte IP packets.
  std::vector<uint32_t> imix;
  for (int i = 0; i < 32; ++i) {
    int k = i % 12;
    imix.push_back(k < 7 ? 64 : k < 11 ? 576 : 1500);
  }
  const Size sizes[] = {{"64", {64}}, {"512", {512}}, {"1420", {1420}}, {"IMIX", imix}};

  std::printf("ESP engine, one core, burst %d, IPsec-MB %s, %s, TSC %.2f GHz, best of %d\n", kBurst,
              IMB_VERSION_STR, huge ? "hugepages" : "no hugepages",
              static_cast<double>(rte_get_tsc_hz()) / 1e9, kRepeats);
  std::printf("%-20s %5s | %8s %8s %8s | %8s %8s %8s | %7s %7s\n", "algorithm", "size", "enc ns",
              "raw ns", "extra", "dec ns", "raw ns", "extra", "raw/enc", "raw/dec");
  double overhead_max = 0, enc1420 = 0, dec1420 = 0;
  for (const Algo& a : algos) {
    if (!only_algo.empty() && only_algo != a.name) continue;
    for (const Size& s : sizes) {
      if (!only_size.empty() && only_size != s.name) continue;
      Result r = Measure(be, *engine, pool, a, s.sizes);
      if (IsAead(a.cipher)) {
        double eo = r.enc_ns - r.raw_enc_ns, dof = r.dec_ns - r.raw_dec_ns;
        overhead_max = std::max({overhead_max, eo, dof});
        std::printf("%-20s %5s | %8.1f %8.1f %8.1f | %8.1f %8.1f %8.1f | %7.2f %7.2f\n", a.name,
                    s.name, r.enc_ns, r.raw_enc_ns, eo, r.dec_ns, r.raw_dec_ns, dof,
                    r.raw_enc_ns / r.enc_ns, r.raw_dec_ns / r.dec_ns);
        if (a.cipher == Cipher::kAesGcm128 && std::string(s.name) == "1420") {
          enc1420 = r.raw_enc_ns / r.enc_ns;
          dec1420 = r.raw_dec_ns / r.dec_ns;
        }
      } else {
        std::printf("%-20s %5s | %8.1f %8s %8s | %8.1f %8s %8s | %7s %7s\n", a.name, s.name,
                    r.enc_ns, "-", "-", r.dec_ns, "-", "-", "-", "-");
      }
    }
  }
  std::printf("extra = engine ns - raw GCM ns on the same lengths (target <= 10 ns)\n");
  std::printf("summary: overhead_ns_max=%.1f enc1420_vs_raw=%.2f dec1420_vs_raw=%.2f\n",
              overhead_max, enc1420, dec1420);
  return 0;
}
