// Whether the process behind a pid stored in the segment still exists. The channel's whole
// recovery story (reclaiming client slots, releasing the command producer, replacing a stale
// segment) rests on this answer.
#pragma once

#include <cstdint>

namespace portcullis::dp::api {

// False for pid <= 0, for a pid that does not exist (kill(pid, 0) == ESRCH) and for a zombie:
// a killed client whose parent has not reaped it yet will never run again either.
// A pid reused by an unrelated process after the owner died reads as alive; pids wrap slowly
// enough that the channel accepts this.
bool IsProcessAlive(int32_t pid);

}  // namespace portcullis::dp::api
