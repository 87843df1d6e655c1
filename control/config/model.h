// The typed configuration model, built from a validated tree with every default resolved. This
// is what vpnd, the dataplane programming and `check --pair` read; the tree stays the source of
// truth for display and line numbers.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "control/config/config_tree.h"
#include "control/config/ip_prefix.h"

namespace portcullis::config {

struct IkeProposal {
  uint32_t number = 0;
  std::string encryption;  // a Vyatta name of algorithm_names.h: "aes256"
  std::string hash;        // "sha2_256"
  int dh_group = 0;        // 0 = not set
  std::string prf;         // "prfsha256"; "" = derived from hash
};

struct DeadPeerDetection {
  bool enabled = false;  // the container is present
  std::string action = "hold";
  uint32_t interval = 30;
  uint32_t timeout = 120;
};

struct IkeGroup {
  std::string name;
  std::string ike_version = "1";
  bool ike_version_set = false;  // false: the Vyatta default (1) applies
  uint32_t lifetime = 28800;
  bool strict = true;
  std::vector<IkeProposal> proposals;
  DeadPeerDetection dpd;
  std::string close_action = "none";
};

struct EspProposal {
  uint32_t number = 0;
  std::string encryption;
  std::string hash;
};

struct EspGroup {
  std::string name;
  std::string mode = "tunnel";
  uint32_t lifetime = 3600;
  uint64_t life_bytes = 0;     // 0 = no limit
  uint64_t life_packets = 0;   // 0 = no limit
  std::string pfs = "enable";  // enable | disable | dh-groupN
  bool esn = false;            // esn enable: offer (and require) extended sequence numbers
  bool strict = true;
  std::vector<EspProposal> proposals;

  // The DH group PFS uses, given the IKE group's negotiated group: 0 = no PFS.
  int PfsGroup(int ike_dh_group) const;
};

struct TrafficSelector {
  std::optional<IpPrefix> local, remote;
  std::string protocol;  // "" = any
  std::string local_port, remote_port;
};

struct Tunnel {
  uint32_t id = 0;
  TrafficSelector selector;
  std::string esp_group;  // resolved: own or the peer's default
  bool disabled = false;
  std::string uses;  // vfpN
};

struct Peer {
  std::string key;                   // as configured: address, any, @id or a name
  std::optional<IpAddress> address;  // key or remote-address; none for any / @id
  std::string description;
  std::string local_address;  // address or "any"
  std::string connection_type = "initiate";
  std::string ike_group;
  std::string default_esp_group;
  bool force_udp_encapsulation = false;
  // Anti-replay window of the peer's inbound SAs in packets (0 = off); Vyatta's generator
  // defaults to 0, Portcullis keeps anti-replay on.
  uint32_t replay_window = 1024;
  std::string auth_mode = "pre-shared-secret";
  std::string psk;
  std::string id;             // as configured ("" = default: the local address)
  std::string remote_id;      // as configured ("" = default: the peer address)
  std::string vti_bind;       // "" = policy-based
  std::string vti_esp_group;  // resolved
  std::vector<Tunnel> tunnels;
  SourceLoc loc;

  bool route_based() const { return !vti_bind.empty(); }
  std::string EffectiveId() const { return id.empty() ? local_address : id; }
  std::string EffectiveRemoteId() const;
};

struct IkeGlobals {
  bool make_before_break = false;
  uint32_t retransmit_tries = 5;
  double retransmit_timeout = 4.0;
  double retransmit_base = 1.8;
  uint32_t cookie_threshold = 10;
  uint32_t block_threshold = 5;
  uint32_t half_open_timeout = 30;
  uint32_t ikesa_limit = 0;             // 0 = not set: no limit
  uint32_t init_limit_half_open = 0;    // 0 = not set: no limit
  std::vector<std::string> interfaces;  // IKE only on these; empty = on all
};

struct VrrpGroup {
  uint32_t id = 0;
  std::vector<std::string> virtual_addresses;  // as configured: "10.0.0.1" or "10.0.0.1/24"
  uint32_t priority = 100;
  bool notify_ipsec = false;
  uint32_t version = 2;
  bool preempt = true;
  uint32_t advertise_interval_cs = 100;  // advertise-interval (s), or fast-advertise-interval
  uint32_t preempt_delay = 0;            // seconds
  uint32_t start_delay = 0;              // seconds (the interface's `vrrp start-delay`)
  bool disabled = false;
};

struct Interface {
  std::string name;    // "dp0p1s1", "dp0bond0.1750", "vti2"
  std::string type;    // dataplane | ethernet | bonding | vti | virtual-feature-point | loopback
  std::string parent;  // for vifs: the base interface
  uint32_t vlan = 0;
  std::vector<IpPrefix> addresses;
  uint32_t mtu = 1500;
  bool disabled = false;
  std::string description;
  std::string bond_group;        // ports: the bond they belong to
  std::string bond_mode;         // bonds: lacp | active-backup | balanced
  std::string bond_primary;      // bonds: the active-backup member preferred while up
  bool lacp_fast = false;        // bonds: lacp-options periodic-rate fast
  uint32_t bond_min_links = 1;   // bonds (lacp): down below this many links
  std::string bond_hash_policy;  // bonds: layer2 | layer2+3 | layer3+4 (lacp, balanced)
  std::vector<std::string> firewall_in, firewall_out, firewall_local;
  std::vector<VrrpGroup> vrrp;
};

struct StaticRoute {
  IpPrefix prefix;
  std::optional<IpAddress> next_hop;  // gateway route
  std::string interface;              // interface-route (or next-hop's interface)
  uint32_t distance = 1;
  bool blackhole = false;
};

struct FirewallRule {
  uint32_t number = 0;
  std::string action;    // accept | drop | reject
  std::string protocol;  // as configured: "tcp", "!udp", "50"; "" = any
  // As configured: "10.0.0.0/8", "!192.0.2.1-192.0.2.9", a group name; "" = any.
  std::string source_address, source_port, destination_address, destination_port;
  bool state = false;                    // `state enable`: keep state for what it accepts
  std::vector<std::string> match_state;  // established | related | new | invalid
  int icmp_type = -1, icmp_code = -1;    // -1 = any (an `icmp name` is resolved to these)
  std::string icmp_name;
  int icmpv6_type = -1, icmpv6_code = -1;  // `icmpv6 type|code|name`, likewise
  std::string icmpv6_name;
  int family = 0;  // the ruleset's (FirewallRuleset::family): 0 both, 4, 6
  bool log = false;
  bool disabled = false;
  std::string description;
  SourceLoc loc;
};

struct FirewallRuleset {
  std::string name;
  std::string description;
  std::string default_action = "drop";
  bool default_action_set = false;  // configured (an explicit last rule, as in Vyatta)
  bool default_log = false;
  int family = 0;                   // `family ipv4|ipv6`: 4 or 6; 0 (unset): both
  std::vector<FirewallRule> rules;  // by number
  SourceLoc loc;
};

struct Zone {
  std::string name;
  bool local = false;
  std::vector<std::string> interfaces;
  std::string default_action = "drop";
  std::map<std::string, std::vector<std::string>> to;  // zone -> rulesets
};

struct Model {
  IkeGlobals ike;
  std::map<std::string, IkeGroup> ike_groups;
  std::map<std::string, EspGroup> esp_groups;
  std::vector<Peer> peers;
  std::map<std::string, Interface> interfaces;
  std::vector<StaticRoute> routes;
  std::map<std::string, FirewallRuleset> firewalls;
  // `resources group address-group|port-group NAME`: their items as configured.
  std::map<std::string, std::vector<std::string>> address_groups, port_groups;
  bool global_state_tcp = false, global_state_udp = false, global_state_icmp = false;
  std::vector<Zone> zones;

  const Peer* FindPeer(absl::string_view key_or_address) const;
};

// Tolerant of invalid trees (missing references stay empty), so `check --pair` can compare two
// configurations that also have errors of their own.
Model BuildModel(const ConfigTree& tree);
// One `security firewall name X rule N` node (the commit checks expand it as vpnd will).
FirewallRule ReadFirewallRule(const ConfigNode& rule);
// The address families (4, 6, in that order) a route-based peer's CHILD SA carries: those of
// its VTI's addresses and of the static routes into the VTI, else the family of the peer's
// outer addresses (#21).
std::vector<int> VtiFamilies(const Model& m, const Peer& p);

}  // namespace portcullis::config
