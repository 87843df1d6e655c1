// Wiping memory that held key material (ring slots, staged batches) so the compiler cannot
// drop the stores as dead, and finding an rte_ring's element storage to wipe.
#pragma once

#include <rte_ring.h>
#include <string.h>

#include <cstddef>
#include <cstdint>

#include "absl/types/span.h"

namespace portcullis::dp::api {

inline void SecureWipe(void* p, size_t n) {
  explicit_bzero(p, n);
}

// rte_ring keeps its elements right after the struct rte_ring header; element i of the ring
// lives at index (i & mask). This is the whole array, for wiping and for tests that scan it.
inline absl::Span<uint8_t> RingElementStorage(rte_ring* r, size_t elem_size) {
  return absl::Span<uint8_t>(reinterpret_cast<uint8_t*>(r + 1), size_t{r->size} * elem_size);
}

// Wipes `count` elements starting at ring position `pos` (a head/tail value), wrapping.
inline void WipeRingElements(rte_ring* r, size_t elem_size, uint32_t pos, uint32_t count) {
  absl::Span<uint8_t> storage = RingElementStorage(r, elem_size);
  uint32_t first = pos & r->mask;
  uint32_t until_wrap = r->size - first;
  uint32_t n1 = count < until_wrap ? count : until_wrap;
  SecureWipe(storage.data() + size_t{first} * elem_size, size_t{n1} * elem_size);
  SecureWipe(storage.data(), size_t{count - n1} * elem_size);
}

}  // namespace portcullis::dp::api
