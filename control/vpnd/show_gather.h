// Gathers the rows of each `show vpn` view (show_rows.h) from the IKE state and the SA
// installer's (where each CHILD SA is installed, its counters), once per command: the peers the
// filter lets through, in configuration order, their SAs and tunnels.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "control/vpnd/sa_installer.h"
#include "control/vpnd/show_rows.h"
#include "ike/sa/ike_manager.h"

namespace portcullis::vpnd {

struct ShowFilter {
  std::string peer;                // "" = all; a peer address, key or connection name
  std::optional<uint32_t> tunnel;  // `tunnel N`
  bool vti_only = false;           // `tunnel vti`
};

using ShowPeers = std::vector<const ike::IkeSaConfig*>;

// `show vpn ike sa`.
std::vector<IkeSaPeer> GatherIkeSas(const ike::IkeManager& m, const SaInstaller& installer,
                                    const ShowPeers& peers, const ShowFilter& f, absl::Time now);
// `show vpn ipsec sa` and `show vpn ipsec sa statistics`.
std::vector<TunnelPeer> GatherTunnels(const ike::IkeManager& m, const SaInstaller& installer,
                                      const ShowPeers& peers, const ShowFilter& f, absl::Time now);
// `show vpn ipsec sa detail`.
std::vector<DetailBlock> GatherIpsecSaDetail(const ike::IkeManager& m, const SaInstaller& installer,
                                             const ShowPeers& peers, const ShowFilter& f,
                                             absl::Time now);
// `show vpn debug`.
std::vector<DebugPeer> GatherDebug(const ike::IkeManager& m, const SaInstaller& installer,
                                   const ShowPeers& peers, const ShowFilter& f, absl::Time now);

}  // namespace portcullis::vpnd
