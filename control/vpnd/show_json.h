// The `show vpn` views as JSON (`--json`): one array per view, of the same rows the text
// layouts print (show_rows.h), with numbers as numbers and absent values as 0 / false.
#pragma once

#include <string>
#include <vector>

#include "control/vpnd/show_rows.h"

namespace portcullis::vpnd {

// One object per IKE SA (or per peer without one).
std::string IkeSaJson(const std::vector<IkeSaPeer>& peers);
// One object per tunnel.
std::string IpsecSaJson(const std::vector<TunnelPeer>& peers);
// One object per block, its tunnels nested.
std::string IpsecSaDetailJson(const std::vector<DetailBlock>& blocks);
// One object per tunnel and direction.
std::string IpsecSaStatisticsJson(const std::vector<TunnelPeer>& peers);
// One object per IKE SA, its CHILD SAs nested.
std::string DebugJson(const std::vector<DebugPeer>& peers);

}  // namespace portcullis::vpnd
