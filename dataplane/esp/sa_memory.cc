#include "dataplane/esp/sa_memory.h"

#include <sys/mman.h>

#include <cstdint>
#include <cstring>
#include <mutex>

#if defined(__SANITIZE_ADDRESS__)
#define PC_SA_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PC_SA_ASAN 1
#endif
#endif
#ifdef PC_SA_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/lsan_interface.h>
#endif

namespace portcullis::dp::esp {

namespace {

struct FreeSlot {
  FreeSlot* next;
};

#ifdef PC_SA_ASAN
constexpr bool kAsan = true;
#else
constexpr bool kAsan = false;
#endif

// Under AddressSanitizer a free slot is poisoned past its link, as the heap's freed memory is:
// an SA used after SaTable::Reclaim (a pointer kept past the grace period) is reported instead
// of reading the wiped slot, or the next SA's keys once the slot is reused.
void Poison(void* slot, size_t size) {
#ifdef PC_SA_ASAN
  ASAN_POISON_MEMORY_REGION(static_cast<uint8_t*>(slot) + sizeof(FreeSlot),
                            size - sizeof(FreeSlot));
#else
  (void)slot;
  (void)size;
#endif
}
void Unpoison(void* slot, size_t size) {
#ifdef PC_SA_ASAN
  ASAN_UNPOISON_MEMORY_REGION(slot, size);
#else
  (void)slot;
  (void)size;
#endif
}

// Freed slots kept back before reuse: under AddressSanitizer the last 4,096 (11 MB) stay
// poisoned, as its own heap quarantines freed memory, so a stale SA pointer is reported rather
// than given the next tunnel's keys; bounded, so that a fuzzer adding and removing SAs for
// minutes stays within its memory limit.
constexpr size_t kQuarantine = kAsan ? 4096 : 0;

std::mutex g_mu;
FreeSlot* g_oldest = nullptr;  // wiped slots, in the order they were freed
FreeSlot* g_newest = nullptr;
size_t g_nfree = 0;
uint8_t* g_chunk = nullptr;  // the chunk slots are carved from
size_t g_used = kSaChunkBytes;
size_t g_slot = 0;  // slot size (the first caller's, rounded up to 64 bytes)

// A chunk aligned to its size, so that it is one huge page when the kernel has one.
uint8_t* MapChunk() {
  const size_t len = 2 * kSaChunkBytes;
  void* p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  const auto start = reinterpret_cast<uintptr_t>(p);
  const uintptr_t aligned = (start + kSaChunkBytes - 1) & ~(uintptr_t{kSaChunkBytes} - 1);
  if (aligned != start) munmap(p, aligned - start);
  const uintptr_t end = aligned + kSaChunkBytes;
  if (end != start + len) munmap(reinterpret_cast<void*>(end), start + len - end);
  auto* chunk = reinterpret_cast<uint8_t*>(aligned);
  // Best effort, each: a kernel without THP, or without CAP_IPC_LOCK (or with a low
  // RLIMIT_MEMLOCK), still gives memory. Locked whole: locking a slot at a time would split the
  // mapping and lose the huge page (sa_memory_test: AnonHugePages 0), so the first SA of a
  // chunk locks and populates all 2 MB of it.
  madvise(chunk, kSaChunkBytes, MADV_HUGEPAGE);
  madvise(chunk, kSaChunkBytes, MADV_DONTDUMP);
  mlock(chunk, kSaChunkBytes);
#ifdef PC_SA_ASAN
  // LeakSanitizer scans the heap, stacks and globals, not private mappings: what only a live SA
  // points to (OpenSSL's cipher contexts) would be reported as leaked.
  __lsan_register_root_region(chunk, kSaChunkBytes);
#endif
  return chunk;
}

}  // namespace

void* AllocateSaSlot(size_t bytes) {
  const size_t size = (bytes + 63) & ~size_t{63};
  std::lock_guard<std::mutex> lock(g_mu);
  if (g_slot == 0) g_slot = size;
  if (size != g_slot || size > kSaChunkBytes) return nullptr;
  if (g_nfree > kQuarantine) {
    FreeSlot* s = g_oldest;
    Unpoison(s, size);
    g_oldest = s->next;
    if (g_oldest == nullptr) g_newest = nullptr;
    --g_nfree;
    s->next = nullptr;  // the rest of the slot was wiped when it was freed (and stays locked)
    return s;
  }
  if (g_used + size > kSaChunkBytes) {
    uint8_t* chunk = MapChunk();
    if (chunk == nullptr) return nullptr;
    g_chunk = chunk;
    g_used = 0;
  }
  void* slot = g_chunk + g_used;  // fresh anonymous memory: zero
  g_used += size;
  return slot;
}

void FreeSaSlot(void* slot, size_t bytes) {
  if (slot == nullptr) return;
  explicit_bzero(slot, (bytes + 63) & ~size_t{63});
  std::lock_guard<std::mutex> lock(g_mu);
  auto* s = static_cast<FreeSlot*>(slot);
  s->next = nullptr;
  if (g_newest != nullptr) {
    g_newest->next = s;  // the link is never poisoned
  } else {
    g_oldest = s;
  }
  g_newest = s;
  ++g_nfree;
  Poison(s, (bytes + 63) & ~size_t{63});
}

}  // namespace portcullis::dp::esp
