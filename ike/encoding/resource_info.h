// RFC 9611 (per-resource CHILD SAs): the SA_RESOURCE_INFO status notify, which says that a
// CHILD SA belongs to a group of CHILD SAs with the same traffic selectors, each bound to one
// resource (for us: a dataplane worker), and the TS_MAX_QUEUE error, which refuses one more
// CHILD SA of such a group. Both have Protocol ID 0 and no SPI (RFC 9611 section 4);
// SA_RESOURCE_INFO may carry an opaque resource identifier, TS_MAX_QUEUE carries nothing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ike/encoding/payloads.h"

namespace portcullis::ike {

// The identifier we send: the worker's index as decimal text ("0", "1", ...), which a peer's
// log and tshark show as it is. Peers' identifiers are opaque to us (logged escaped, never
// interpreted).
Bytes WorkerResourceId(uint32_t worker);

// SA_RESOURCE_INFO with `resource_id` (may be empty: the field is optional).
Payload SaResourceInfoNotify(const Bytes& resource_id);
Payload TsMaxQueueNotify();

// The resource identifier of the first SA_RESOURCE_INFO in `in` (empty when it has none);
// nullopt without one. The Protocol ID and SPI are not looked at (a sender must set them to 0;
// they say nothing about the group).
std::optional<Bytes> FindSaResourceInfo(const std::vector<Payload>& in);
bool HasTsMaxQueue(const std::vector<Payload>& in);

// A peer's identifier for a log line: printable ASCII as it is, anything else as hex.
std::string ResourceIdForLog(const Bytes& id);

}  // namespace portcullis::ike
