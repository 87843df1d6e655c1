// A CHILD SA as dataplane messages: the inbound and outbound SA (keys split into key and
// AES-GCM salt, UDP encapsulation with the peer's observed port), the VTI binding of a
// route-based peer, and the inbound/outbound protect policies of a policy-based tunnel.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "dataplane/api/messages.h"
#include "ike/sa/child_sa.h"

namespace portcullis::vpnd {

// SA add (kAdd) or delete (kDelete) for both directions. vti_ifindex: the VTI, or a policy-based
// tunnel's VFP (0 = none).
absl::StatusOr<std::vector<dp::api::Message>> SaMessages(const ike::ChildSa& child,
                                                         uint32_t vti_ifindex, dp::api::Op op);

// One pair of policies (out: local -> remote protected by out_spi; in: remote -> local) per
// selector pair. Only selectors that are prefixes can be expressed.
absl::StatusOr<std::vector<dp::api::Message>> PolicyMessages(const ike::ChildSa& child,
                                                             dp::api::Op op);

// RFC 9611 groups: each worker's own outbound SPI (0 = none: the worker hands its packets to
// the fallback out_spi's owner).
using VtiMembers = std::array<uint32_t, dp::api::kMaxSaGroupMembers>;

dp::api::Message VtiBindingMessage(uint32_t vti_ifindex, uint32_t out_spi, dp::api::Op op,
                                   const VtiMembers& members = {});

}  // namespace portcullis::vpnd
