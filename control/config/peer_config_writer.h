// `vpnctl generate vpn peer-config X [format vyatta|vyos|swanctl]`: the configuration of the
// other end of peer X, mirrored from ours: its local-address and ID are our peer's, its peer is
// our local-address with our ID, the selectors swapped, the same IKE and ESP groups (proposals,
// lifetimes, PFS, DPD), and for a route-based peer its VTI with the other address of our /30
// and interface-routes to our LANs. `vpnctl check --pair` of ours against the result passes by
// construction, and strongSwan loads the swanctl form.
//
// The pre-shared secret is written out: the other end cannot come up without it. Treat the
// output as the secret it contains.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "control/config/model.h"

namespace portcullis::config {

enum class PeerConfigFormat { kVyatta, kVyos, kSwanctl };

// `peer`: the peer's key, its address, or its connection name ("peer-192.0.2.2").
absl::StatusOr<std::string> GeneratePeerConfig(const Model& ours, absl::string_view peer,
                                               PeerConfigFormat format);

}  // namespace portcullis::config
