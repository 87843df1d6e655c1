// SA memory: every SA in a mapping advised for huge pages and kept out of core dumps, slots
// aligned and distinct across chunks, a freed slot wiped before it is handed out again.
#include "dataplane/esp/sa_memory.h"

#include <netinet/in.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "dataplane/esp/sa.h"

using namespace portcullis::dp::esp;

namespace {

// The VmFlags line of the mapping that holds `p` (/proc/self/smaps), "" when none does.
std::string VmFlagsOf(const void* p) {
  const auto a = reinterpret_cast<uintptr_t>(p);
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool inside = false;
  while (std::getline(smaps, line)) {
    uintptr_t lo = 0, hi = 0;
    char dash = 0;
    std::istringstream head(line);
    if (head >> std::hex >> lo >> dash >> hi && dash == '-' && line.find(':') > line.find(' ')) {
      inside = lo <= a && a < hi;
      continue;
    }
    if (inside && line.rfind("VmFlags:", 0) == 0) return line + " ";
  }
  return "";
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

TEST_CASE("an SA lies in memory advised for huge pages, out of core dumps", "[sa_memory]") {
  SaPtr sa = NewSa(0x100);
  const std::string flags = VmFlagsOf(sa.get());
  INFO(flags);
  REQUIRE(!flags.empty());
  CHECK(flags.find(" hg ") != std::string::npos);  // MADV_HUGEPAGE
  CHECK(flags.find(" dd ") != std::string::npos);  // MADV_DONTDUMP
  CHECK(reinterpret_cast<uintptr_t>(sa.get()) % 64 == 0);
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
