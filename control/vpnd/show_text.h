// The `show vpn` views as text: the Vyatta column layouts of `show vpn ike sa` and
// `show vpn ipsec sa` (plain, detail, statistics), and the strongSwan-statusall-like lines of
// `show vpn debug`. Each renders the rows its view gathered (show_rows.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "control/vpnd/show_rows.h"

namespace portcullis::vpnd {

std::string IkeSaText(const std::vector<IkeSaPeer>& peers);
std::string IpsecSaText(const std::vector<TunnelPeer>& peers);
// Per peer its addresses, IDs and NAT state, per tunnel every field of the CHILD SA (Vyatta's
// display_ipsec_sa_detail layout).
std::string IpsecSaDetailText(const std::vector<DetailBlock>& blocks);
// Bytes per tunnel and direction with the selectors, so traffic flowing one way only
// (asymmetric routing) shows at a glance.
std::string IpsecSaStatisticsText(const std::vector<TunnelPeer>& peers);
std::string DebugText(const std::vector<DebugPeer>& peers);

// "284.3M", "27.2G", "512" (Vyatta's conv_bytes).
std::string HumanBytes(uint64_t bytes);

}  // namespace portcullis::vpnd
