// The summary views an operator reaches for first: `show vpn ipsec status` (Vyatta: the
// daemon's PID, how many tunnels are up, the interfaces IPsec uses), `show vpn ipsec
// connections` (VyOS: one row per connection and per tunnel) and `show vpn ipsec policy` (the
// SPD vpnd installed for policy-based tunnels, in `ip xfrm policy`'s layout, which is what VyOS
// prints). Each gathers its rows once and renders them as text or JSON, like show_gather.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "control/config/model.h"
#include "control/vpnd/resume_stats.h"
#include "control/vpnd/sa_installer.h"
#include "control/vpnd/show_gather.h"

namespace portcullis::vpnd {

// ---- show vpn ipsec status ----

struct IpsecInterface {
  std::string name;     // "dp0bond1"; "" when no configured interface holds the address
  std::string address;  // "169.50.194.197"
};

struct IpsecStatus {
  int64_t pid = 0;
  uint32_t active_tunnels = 0;  // installed CHILD SAs
  std::vector<IpsecInterface> interfaces;
  // With a dataplane: what this vpnd's start resumed (JSON only; the text is Vyatta's).
  std::optional<ResumeStats> restart;
};

IpsecStatus GatherIpsecStatus(const ike::IkeManager& m, const SaInstaller& installer,
                              const ShowPeers& peers, const config::Model* model, int64_t pid);
std::string IpsecStatusText(const IpsecStatus& s);
std::string IpsecStatusJson(const IpsecStatus& s);

// ---- show vpn ipsec connections ----

struct ConnectionRow {
  std::string connection;  // "peer-SITE-B" or "peer-SITE-B-tunnel-1"
  std::string state;       // up | down
  std::string type;        // IKEv2 (the IKE SA) | IPsec (a tunnel)
  std::string remote_address, local_ts, remote_ts, local_id, remote_id, proposal;
};

std::vector<ConnectionRow> GatherConnections(const ike::IkeManager& m, const SaInstaller& installer,
                                             const ShowPeers& peers);
std::string ConnectionsText(const std::vector<ConnectionRow>& rows);
std::string ConnectionsJson(const std::vector<ConnectionRow>& rows);

// ---- show vpn ipsec policy ----

struct PolicyRow {
  std::string connection;  // the tunnel's CHILD SA name
  std::string src, dst;    // selectors
  std::string dir;         // out | in
  std::string tmpl_src, tmpl_dst;
  uint32_t spi = 0, reqid = 0;
  bool udp_encap = false;
};

std::vector<PolicyRow> GatherPolicies(const ike::IkeManager& m, const SaInstaller& installer,
                                      const ShowPeers& peers);
std::string PoliciesText(const std::vector<PolicyRow>& rows);
std::string PoliciesJson(const std::vector<PolicyRow>& rows);

}  // namespace portcullis::vpnd
