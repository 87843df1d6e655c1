// The operational commands (`show vpn ...`, `reset ...`, `load ...`, `show system commit`), in one
// table: each one's words with its argument slots, and its help. vpnctl takes its usage, its
// validation and its decision to send a command to vpnd from here (op_parser.h, op_usage.h); vpnd
// parses what it receives with the same table and runs the handler it binds to the command's id
// (control/vpnd/op_handlers.cc, which a static_assert keeps complete).
//
// Adding a command: an id below, an entry in kOpCommands, and its handler in vpnd.
//
// Syntax of an entry's words:
//   word              a keyword, typed as is
//   <peer>            a peer: its address, its key in the configuration, or its connection name
//   <N|vti>           a tunnel: its number, or vti
//   <file>            a file on vpnctl's machine (vpnctl sends it as an absolute path)
//   <name>            a configured name (a firewall ruleset)
//   <rule>            a rule number
//   [ a | b ]         optional, one of the alternatives; groups nest
// Every command also takes `json` (or vpnctl's --json) anywhere, for JSON output.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace portcullis::ops {

enum class OpId : uint8_t {
  kShowIkeSa,
  kShowIpsecSa,
  kShowIpsecSaDetail,
  kShowIpsecSaStatistics,
  kShowDebug,
  kShowLogIpsec,
  kResetIpsecPeer,
  kLoad,
  kShowSystemCommit,
  kShowIpsecStatus,
  kShowIpsecConnections,
  kShowIpsecPolicy,
  kResetSiteToSitePeer,
  kRestartVpn,
  kShowInterfaces,
  kShowDataplaneDrops,
  kDiagnosePeer,
  kGeneratePeerConfig,
  kShowFirewall,
  kShowLogFirewall,
  kClearFirewall,
  kShowVrrp,
};
inline constexpr size_t kOpIdCount = static_cast<size_t>(OpId::kShowVrrp) + 1;

struct OpCommand {
  OpId id;
  absl::string_view syntax;  // "show vpn ike sa [peer <peer>]"
  absl::string_view help;    // one line, for vpnctl's usage
};

inline constexpr OpCommand kOpCommands[] = {
    {OpId::kShowIkeSa, "show vpn ike sa [peer <peer>] [nat-traversal]",
     "IKE SAs: state, algorithms, lifetimes (nat-traversal: only those behind NAT)"},
    {OpId::kShowIpsecSa,
     "show vpn ipsec sa [peer <peer> [tunnel <N|vti>]] [detail | statistics | nat-traversal]",
     "CHILD SAs per tunnel: state, bytes, algorithms"},
    {OpId::kShowIpsecSaDetail, "show vpn ipsec sa detail [peer <peer> [tunnel <N|vti>]]",
     "every field of each tunnel and its CHILD SA"},
    {OpId::kShowIpsecSaStatistics, "show vpn ipsec sa statistics [peer <peer> [tunnel <N|vti>]]",
     "bytes per tunnel and direction"},
    {OpId::kShowDebug, "show vpn debug [peer <peer> [tunnel <N|vti>]]",
     "connections and SAs, strongSwan statusall style"},
    {OpId::kShowLogIpsec,
     "show log vpn ipsec [peer <peer> | subsystem [ike-sa | child-sa | config | network | kernel "
     "| encoding | manager] [site-to-site peer <peer>]]",
     "the recent IPsec log, of one peer and/or one subsystem"},
    {OpId::kResetIpsecPeer, "reset vpn ipsec-peer <peer> [tunnel <N|vti> | vti]",
     "renegotiate a peer's SAs (or one tunnel's CHILD SA)"},
    {OpId::kLoad, "load <file>", "re-read and commit, all or nothing"},
    {OpId::kShowSystemCommit, "show system commit",
     "the configuration archive: one revision per commit, 0 = running"},
    {OpId::kShowIpsecStatus, "show vpn ipsec status", "vpnd's PID, active tunnels, interfaces"},
    {OpId::kShowIpsecConnections, "show vpn ipsec connections",
     "every connection and tunnel: state, selectors, IDs, proposal (VyOS)"},
    {OpId::kShowIpsecPolicy, "show vpn ipsec policy",
     "the security policies (SPD) vpnd installed for policy-based tunnels"},
    {OpId::kResetSiteToSitePeer, "reset vpn ipsec site-to-site peer <peer> [tunnel <N|vti>]",
     "renegotiate a peer's SAs, VyOS spelling"},
    {OpId::kRestartVpn, "restart vpn", "tear down every IKE SA and bring the peers up again"},
    {OpId::kShowInterfaces, "show interfaces [dataplane | bonding | vti | vfp]",
     "the dataplane's interfaces: addresses, state, description"},
    {OpId::kShowDataplaneDrops, "show dataplane drops",
     "packets the dataplane dropped, by reason and interface"},
    {OpId::kDiagnosePeer, "diagnose vpn peer <peer>",
     "walk the troubleshooting checklist for a peer; exit 0 when every step passes"},
    {OpId::kGeneratePeerConfig,
     "generate vpn peer-config <peer> [format [vyatta | vyos | swanctl]]",
     "the other end's configuration, mirrored (offline with --file)"},
    {OpId::kShowFirewall, "show firewall [name <name>] [statistics]",
     "firewall rulesets where they are applied: rules, packets and bytes (statistics: with "
     "sessions and log counters)"},
    {OpId::kShowLogFirewall, "show log firewall [name <name>]",
     "the recent per-packet firewall log lines (rules with log)"},
    {OpId::kClearFirewall, "clear firewall [name <name> [rule <rule>]]",
     "set firewall rule counters back to zero (all, one ruleset, or one rule)"},
    {OpId::kShowVrrp, "show vrrp", "VRRP groups: state, owner, last transition (Vyatta layout)"},
};

// What the slots of a command held.
struct OpArgs {
  std::string peer;                // <peer>; "" when not given
  std::optional<uint32_t> tunnel;  // <N|vti> with a number
  bool vti = false;                // <N|vti> with vti, or the keyword vti
  std::string file;                // <file>
  std::string name;                // <name>
  std::optional<uint32_t> rule;    // <rule>
  bool json = false;               // `json` / `--json`
  // The keywords given, in order: the words that choose among a command's variants
  // ("nat-traversal", "detail", "ike-sa", "vyos").
  std::vector<std::string> keywords;

  bool Has(absl::string_view keyword) const {
    for (const std::string& k : keywords) {
      if (k == keyword) return true;
    }
    return false;
  }
};

// True when `table` has exactly one entry for every OpId: for static_asserts on this table and
// on the handler tables bound to it.
template <class Entry, size_t N>
constexpr bool CoversEveryOpOnce(const Entry (&table)[N]) {
  for (size_t id = 0; id < kOpIdCount; ++id) {
    size_t n = 0;
    for (const Entry& e : table) n += static_cast<size_t>(e.id) == id;
    if (n != 1) return false;
  }
  return N == kOpIdCount;
}
static_assert(CoversEveryOpOnce(kOpCommands), "every OpId needs exactly one kOpCommands entry");

constexpr const OpCommand& CommandOf(OpId id) {
  for (const OpCommand& c : kOpCommands) {
    if (c.id == id) return c;
  }
  return kOpCommands[0];  // unreachable: the static_assert above
}

}  // namespace portcullis::ops
