// The operational views of the IKE state, as `vpnctl` prints them: each view's rows gathered
// once (show_gather.h), then rendered as the Vyatta text layouts (show_text.h) or as JSON
// (show_json.h), so the two cannot disagree.
#pragma once

#include <string>

#include "absl/time/time.h"
#include "control/vpnd/show_gather.h"

namespace portcullis::vpnd {

std::string ShowIkeSa(const ike::IkeManager& m, const ShowPeers& peers, const ShowFilter& f,
                      absl::Time now, bool json);
std::string ShowIpsecSa(const ike::IkeManager& m, const ShowPeers& peers, const ShowFilter& f,
                        absl::Time now, bool json);
std::string ShowIpsecSaDetail(const ike::IkeManager& m, const ShowPeers& peers, const ShowFilter& f,
                              absl::Time now, bool json);
std::string ShowIpsecSaStatistics(const ike::IkeManager& m, const ShowPeers& peers,
                                  const ShowFilter& f, absl::Time now, bool json);
std::string ShowDebugPeer(const ike::IkeManager& m, const ShowPeers& peers, const ShowFilter& f,
                          absl::Time now, bool json);

}  // namespace portcullis::vpnd
