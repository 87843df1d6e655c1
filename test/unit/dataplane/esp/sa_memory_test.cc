// SA memory: every SA in a mapping advised for huge pages and kept out of core dumps, slots
// aligned and distinct across chunks, a freed slot wiped before it is handed out again.
#include "dataplane/esp/sa_memory.h"

#include <netinet/in.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "dataplane/esp/sa.h"

#if defined(__SANITIZE_ADDRESS__)
#define SA_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SA_TEST_ASAN 1
#endif
#endif
#ifdef SA_TEST_ASAN
#include <sanitizer/asan_interface.h>
#endif

using namespace portcullis::dp::esp;

namespace {

// The mapping of /proc/self/smaps that holds `p`: its start, its VmFlags line (with a space
// after it) and its AnonHugePages in kB; start 0 when none does.
struct Mapping {
  uintptr_t start = 0;
  std::string flags;
  long anon_huge_kb = -1;
};
Mapping MappingOf(const void* p) {
  const auto a = reinterpret_cast<uintptr_t>(p);
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  Mapping m, cur;
  bool inside = false;
  while (std::getline(smaps, line)) {
    uintptr_t lo = 0, hi = 0;
    char dash = 0;
    std::istringstream head(line);
    if (head >> std::hex >> lo >> dash >> hi && dash == '-' && line.find(':') > line.find(' ')) {
      if (inside) return m;
      inside = lo <= a && a < hi;
      m.start = lo;
      continue;
    }
    if (!inside) continue;
    if (line.rfind("VmFlags:", 0) == 0) m.flags = line + " ";
    if (line.rfind("AnonHugePages:", 0) == 0) m.anon_huge_kb = std::stol(line.substr(14));
  }
  if (!inside) m.start = 0;
  return m;
}

// The kernel's THP setting (enabled or defrag): the bracketed word, "" without THP.
std::string Thp(const char* what) {
  std::ifstream f(std::string("/sys/kernel/mm/transparent_hugepage/") + what);
  std::string line;
  if (!std::getline(f, line)) return "";
  const auto open = line.find('['), close = line.find(']');
  return open == std::string::npos ? "" : line.substr(open + 1, close - open - 1);
}

SaPtr NewSa(uint32_t spi) {
  SaConfig c;
  c.spi = spi;
  c.direction = Direction::kOutbound;
  c.family = AF_INET;
  c.cipher = Cipher::kAesGcm128;
  c.enc_key_len = 16;
  auto sa = AllocateSa(c);
  REQUIRE(sa.ok());
  return std::move(*sa);
}

}  // namespace

TEST_CASE("an SA lies in a huge-page-aligned chunk advised for huge pages, out of core dumps",
          "[sa_memory]") {
  SaPtr sa = NewSa(0x100);
  const Mapping m = MappingOf(sa.get());
  INFO(m.flags);
  REQUIRE(m.start != 0);
  CHECK(reinterpret_cast<uintptr_t>(sa.get()) % 64 == 0);
  // Chunks start on a 2 MB boundary (adjacent ones merge into one mapping from the first).
  CHECK(m.start % kSaChunkBytes == 0);
  CHECK(m.flags.find(" dd ") != std::string::npos);  // MADV_DONTDUMP
  const std::string enabled = Thp("enabled");
  if (enabled.empty()) return;  // a kernel without THP: MADV_HUGEPAGE is refused
  CHECK(m.flags.find(" hg ") != std::string::npos);  // MADV_HUGEPAGE
  // Whether the kernel found a free 2 MB block for it depends on the machine's memory, not on
  // this code: `scripts/bench scale` reports the dataplane's AnonHugePages instead.
  INFO("AnonHugePages " << m.anon_huge_kb << " kB");
}

TEST_CASE("SA slots: aligned, distinct over several chunks, wiped when reused", "[sa_memory]") {
  const size_t n = 2 * kSaChunkBytes / sizeof(Sa) + 3;
  std::vector<void*> slots;
  std::set<uintptr_t> seen;
  for (size_t i = 0; i < n; ++i) {
    void* p = AllocateSaSlot(sizeof(Sa));
    REQUIRE(p != nullptr);
    const auto a = reinterpret_cast<uintptr_t>(p);
    CHECK(a % 64 == 0);
    // No two slots overlap.
    auto next = seen.lower_bound(a);
    if (next != seen.end()) CHECK(*next >= a + sizeof(Sa));
    if (next != seen.begin()) CHECK(*std::prev(next) + sizeof(Sa) <= a);
    seen.insert(a);
    slots.push_back(p);
  }
  // A slot written all over (keys), freed and handed out again holds zeros only.
  std::memset(slots[5], 0xa5, sizeof(Sa));
  FreeSaSlot(slots[5], sizeof(Sa));
#ifdef SA_TEST_ASAN
  // Freed memory is poisoned as the heap's is, and stays so for a while (not handed to the
  // next SA under ASan): a use after free is reported (a unit build with -Db_sanitize=address
  // runs this).
  void* other = AllocateSaSlot(sizeof(Sa));
  CHECK(other != slots[5]);
  CHECK(__asan_address_is_poisoned(static_cast<char*>(slots[5]) + 64));
  FreeSaSlot(other, sizeof(Sa));
  return;
#endif
  void* again = AllocateSaSlot(sizeof(Sa));
  REQUIRE(again == slots[5]);
  const auto* bytes = static_cast<const uint8_t*>(again);
  size_t nonzero = 0;
  for (size_t i = 0; i < sizeof(Sa); ++i) nonzero += bytes[i] != 0;
  CHECK(nonzero == 0);
  // Another size than the SA's is refused rather than handed a slot too small.
  CHECK(AllocateSaSlot(sizeof(Sa) + 64) == nullptr);
  for (void* p : slots) FreeSaSlot(p, sizeof(Sa));
}
