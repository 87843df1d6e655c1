// Helpers for packets that span several mbuf segments, or lack head/tail room. The ESP fast
// path never calls them: they serve the rare chained (jumbo) or cramped packet.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

namespace portcullis::dp::esp {

// Copies [off, off+len) of the packet out to / in from a flat buffer. False if out of range.
bool CopyOut(const rte_mbuf* m, uint32_t off, uint32_t len, uint8_t* dst);
bool CopyIn(rte_mbuf* m, uint32_t off, uint32_t len, const uint8_t* src);

// Makes the packet exactly `len` bytes long, freeing segments that fall off the end.
bool TrimTo(rte_mbuf* m, uint32_t len);

// Grows the packet to `len` bytes (contents of the new bytes undefined), taking tailroom and
// then new segments from m's pool. False if the pool is empty.
bool GrowTo(rte_mbuf* m, uint32_t len);

// Prepends `len` bytes; returns the (possibly new) head segment, or nullptr if no mbuf.
rte_mbuf* PrependSpace(rte_mbuf* m, uint16_t len);

}  // namespace portcullis::dp::esp
