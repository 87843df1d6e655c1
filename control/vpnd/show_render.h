// The operational views of the IKE state, as `vpnctl` prints them: the Vyatta column layouts of
// `show vpn ike sa` and `show vpn ipsec sa`, the strongSwan-statusall-like lines of
// `show vpn debug peer`, and the same data as JSON.
#pragma once

#include <optional>
#include <string>

#include "absl/time/time.h"
#include "ike/sa/ike_manager.h"

namespace portcullis::vpnd {

struct ShowFilter {
  std::string peer;                // "" = all; a peer address, key or connection name
  std::optional<uint32_t> tunnel;  // `tunnel N`
  bool vti_only = false;           // `tunnel vti`
  bool json = false;
};

std::string ShowIkeSa(const ike::IkeManager& m, const std::vector<const ike::IkeSaConfig*>& peers,
                      const ShowFilter& f, absl::Time now);
std::string ShowIpsecSa(const ike::IkeManager& m, const std::vector<const ike::IkeSaConfig*>& peers,
                        const ShowFilter& f, absl::Time now);
// `show vpn ipsec sa detail`: per peer its addresses, IDs and NAT state, per tunnel every field
// of the CHILD SA (Vyatta's display_ipsec_sa_detail layout).
std::string ShowIpsecSaDetail(const ike::IkeManager& m,
                              const std::vector<const ike::IkeSaConfig*>& peers,
                              const ShowFilter& f, absl::Time now);
// `show vpn ipsec sa statistics`: bytes per tunnel and direction with the selectors, so traffic
// flowing one way only (asymmetric routing) shows at a glance.
std::string ShowIpsecSaStatistics(const ike::IkeManager& m,
                                  const std::vector<const ike::IkeSaConfig*>& peers,
                                  const ShowFilter& f);
std::string ShowDebugPeer(const ike::IkeManager& m,
                          const std::vector<const ike::IkeSaConfig*>& peers, const ShowFilter& f,
                          absl::Time now);

// "284.3M", "27.2G", "512" (Vyatta's conv_bytes).
std::string HumanBytes(uint64_t bytes);

}  // namespace portcullis::vpnd
