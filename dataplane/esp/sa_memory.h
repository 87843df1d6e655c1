// Memory for SAs: fixed-size slots carved from 2 MB chunks that the kernel may back with
// transparent huge pages (docs/DESIGN.md, "Many tunnels in one burst"). A burst spread over
// 10,000 tunnels touches another SA with every packet: with each SA on 4 KiB pages of the heap
// every one of them is also another TLB entry, more than the TLB holds.
#pragma once

#include <cstddef>

namespace portcullis::dp::esp {

// A zeroed, 64-byte aligned slot of `bytes` (at most kSaChunkBytes; all callers of one process
// ask for the same size, sizeof(Sa)); nullptr when no memory is left. The chunks are aligned to
// their size, advised MADV_HUGEPAGE and MADV_DONTDUMP (keys never reach a core dump) and locked
// whole, best effort (keys never reach swap). Thread-safe; not for the packet path.
void* AllocateSaSlot(size_t bytes);
// Wipes the slot and keeps it for a later AllocateSaSlot (oldest first; under
// AddressSanitizer poisoned, and reused only after 4,096 more are freed). Chunks stay mapped:
// what the SA memory holds is its peak use.
void FreeSaSlot(void* slot, size_t bytes);

constexpr size_t kSaChunkBytes = size_t{2} << 20;

}  // namespace portcullis::dp::esp
