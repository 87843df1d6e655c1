// From the configuration model to the IKE engine: ike-group and esp-group proposals as IKEv2
// transforms, peers as IkeSaConfig (identities, PSK, DPD, lifetimes, connection type), and one
// ChildConfig per VTI or per enabled tunnel with its traffic selectors. Route-based peers
// negotiate 0.0.0.0/0 === 0.0.0.0/0 and accept the peer's narrowing; policy-based tunnels offer
// their local/remote prefix with protocol and ports.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "control/config/model.h"
#include "ike/sa/ike_config.h"
#include "ike/sa/ike_manager.h"

namespace portcullis::vpnd {

// One IKEv2 proposal per configured proposal, in proposal-number order. Errors name the
// group, the proposal and the value Portcullis cannot negotiate (3des, md5, ...).
absl::StatusOr<std::vector<ike::Proposal>> IkeProposals(const config::IkeGroup& group);
// Without DH transforms (the PFS group is added per exchange).
absl::StatusOr<std::vector<ike::Proposal>> EspProposals(const config::EspGroup& group);
// The PFS DH group of `esp` for an IKE group whose first proposal uses `ike_group`.
ike::DhGroup PfsGroup(const config::EspGroup& esp, const config::IkeGroup& ike);

// "peer-192.0.2.2" (the peer address, or its configured key for named peers).
std::string PeerConnectionName(const config::Peer& peer);

// Stable reqids per CHILD config name for the life of the process.
class ReqidAllocator {
 public:
  uint32_t Get(const std::string& child_name);

 private:
  std::map<std::string, uint32_t> ids_;
  uint32_t next_ = 1;
};

struct IkeSetup {
  std::vector<std::shared_ptr<const ike::IkeSaConfig>> peers;
  ike::ManagerOptions options;
  // `security vpn ike interface`: IKE is received only on these (vpnd drops the rest); empty =
  // on every interface.
  std::vector<std::string> ike_interfaces;
};

// Everything or an error listing every problem found.
absl::StatusOr<IkeSetup> MapConfig(const config::Model& model, ReqidAllocator& reqids);

}  // namespace portcullis::vpnd
