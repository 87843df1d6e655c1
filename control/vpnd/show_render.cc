#include "control/vpnd/show_render.h"

#include "control/vpnd/show_json.h"
#include "control/vpnd/show_text.h"

namespace portcullis::vpnd {

std::string ShowIkeSa(const ike::IkeManager& m, const ShowPeers& peers, const ShowFilter& f,
                      absl::Time now, bool json) {
  std::vector<IkeSaPeer> rows = GatherIkeSas(m, peers, f, now);
  return json ? IkeSaJson(rows) : IkeSaText(rows);
}

std::string ShowIpsecSa(const ike::IkeManager& m, const ShowPeers& peers, const ShowFilter& f,
                        absl::Time now, bool json) {
  std::vector<TunnelPeer> rows = GatherTunnels(m, peers, f, now);
  return json ? IpsecSaJson(rows) : IpsecSaText(rows);
}

std::string ShowIpsecSaDetail(const ike::IkeManager& m, const ShowPeers& peers, const ShowFilter& f,
                              absl::Time now, bool json) {
  std::vector<DetailBlock> rows = GatherIpsecSaDetail(m, peers, f, now);
  return json ? IpsecSaDetailJson(rows) : IpsecSaDetailText(rows);
}

std::string ShowIpsecSaStatistics(const ike::IkeManager& m, const ShowPeers& peers,
                                  const ShowFilter& f, absl::Time now, bool json) {
  std::vector<TunnelPeer> rows = GatherTunnels(m, peers, f, now);
  return json ? IpsecSaStatisticsJson(rows) : IpsecSaStatisticsText(rows);
}

std::string ShowDebugPeer(const ike::IkeManager& m, const ShowPeers& peers, const ShowFilter& f,
                          absl::Time now, bool json) {
  std::vector<DebugPeer> rows = GatherDebug(m, peers, f, now);
  return json ? DebugJson(rows) : DebugText(rows);
}

}  // namespace portcullis::vpnd
