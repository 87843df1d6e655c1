// The configuration schema. Ranges, defaults, enums and names follow the Vyatta 5600 YANG
// (danos/vyatta-security-vpn, vyatta-interfaces-*, vplane-config-npf); nodes marked
// "Portcullis:" are extensions, most of them the VyOS equivalents that have no Vyatta node.
#include "control/config/schema.h"

#include <algorithm>

#include "control/config/algorithm_names.h"
#include "control/config/icmp_names.h"

namespace portcullis::config {

const SchemaNode* SchemaNode::Child(absl::string_view child) const {
  for (const auto& c : children)
    if (c.name == child) return &c;
  return nullptr;
}

std::vector<std::string> SchemaNode::ChildNames() const {
  std::vector<std::string> out;
  for (const auto& c : children) out.push_back(c.name);
  return out;
}

SchemaNode Container(std::string name, std::vector<SchemaNode> children) {
  SchemaNode n;
  n.name = std::move(name);
  n.kind = NodeKind::kContainer;
  n.children = std::move(children);
  return n;
}

SchemaNode Tag(std::string name, ValueSpec key, std::vector<SchemaNode> children) {
  SchemaNode n;
  n.name = std::move(name);
  n.kind = NodeKind::kTag;
  n.value = std::move(key);
  n.children = std::move(children);
  return n;
}

SchemaNode Leaf(std::string name, ValueSpec value, std::string default_value) {
  SchemaNode n;
  n.name = std::move(name);
  n.kind = NodeKind::kLeaf;
  n.value = std::move(value);
  n.default_value = std::move(default_value);
  return n;
}

SchemaNode LeafList(std::string name, ValueSpec value) {
  SchemaNode n;
  n.name = std::move(name);
  n.kind = NodeKind::kLeafList;
  n.value = std::move(value);
  return n;
}

SchemaNode Empty(std::string name) {
  SchemaNode n;
  n.name = std::move(name);
  n.kind = NodeKind::kEmpty;
  return n;
}

namespace {

SchemaNode Description() {
  return Leaf("description", Kind(ValueKind::kText)).Help("Description");
}

SchemaNode InterfaceFirewall() {
  auto ruleset = Pattern(kRulesetNamePattern, "<ruleset name>", "only alpha-numeric name allowed");
  return Container("firewall",
                   {
                       LeafList("in", ruleset).Help("Ruleset for forwarded packets received"),
                       LeafList("out", ruleset).Help("Ruleset for forwarded packets sent"),
                       LeafList("local", ruleset).Help("Ruleset for packets to this router"),
                   })
      .Help("Firewall rulesets applied to this interface");
}

SchemaNode Vrrp() {
  return Container(
             "vrrp",
             {
                 Tag("vrrp-group", Range(1, 255),
                     {
                         LeafList("virtual-address", Kind(ValueKind::kIpAddrOrPrefix))
                             .Help("Virtual address (address[/len])"),
                         // Vyatta's range: 255 belongs to the addresses' owner, which a
                         // group is when its virtual address is the interface's own.
                         Leaf("priority", Range(1, 254), "100").Help("Priority"),
                         Leaf("preempt", Enum({"true", "false"}), "true").Help("Preempt"),
                         Leaf("advertise-interval", Range(1, 255), "1")
                             .Help("Advertise interval in seconds"),
                         Leaf("fast-advertise-interval", Range(10, 40950))
                             .Help("Advertise interval in milliseconds (version 3; a multiple "
                                   "of 10)"),
                         Leaf("version", Range(2, 3), "2")
                             .Help("Version 2 is for RFC3768 and version 3 is for RFC5798"),
                         Leaf("preempt-delay", Range(0, 1000))
                             .Help("Seconds after start-up before this group preempts"),
                         Leaf("accept", Enum({"true", "false"}), "false")
                             .Help("Accept mode for VRRPv3"),
                         Leaf("hello-source-address", Kind(ValueKind::kIpAddr)),
                         Empty("rfc-compatibility"),
                         Leaf("sync-group", Kind(ValueKind::kName)),
                         Container("authentication",
                                   {
                                       Leaf("type", Enum({"plaintext-password", "ah"})),
                                       Leaf("password", Kind(ValueKind::kText)).Secret(),
                                   }),
                         LeafList("notify", Enum({"ipsec", "bgp"}))
                             .Help("Services told of VRRP state changes (ipsec: restart VPN on "
                                   "master, stop it on backup)"),
                         Description(),
                         Empty("disable"),
                     })
                     .Help("VRRP group"),
                 Leaf("start-delay", Range(0, 600), "0")
                     .Help("Delay start up of VRRP groups on this interface by a number of "
                           "seconds"),
             })
      .Help("Virtual Router Redundancy Protocol");
}

SchemaNode InterfaceAddress() {
  return LeafList("address", Kind(ValueKind::kIfAddress))
      .Help("IP address with prefix length, or dhcp");
}

SchemaNode Vif() {
  return Tag("vif", Range(1, 4094),
             {
                 InterfaceAddress(),
                 Description(),
                 Empty("disable"),
                 Leaf("mtu", Range(68, 9000)).Help("Maximum transmission unit"),
                 InterfaceFirewall(),
                 Vrrp(),
             })
      .Help("Virtual interface (802.1Q VLAN)");
}

SchemaNode Interfaces() {
  auto dataplane_name = Pattern(kDataplaneIfPattern, "<dpFpNsS>|<dpFsN>|<dpFpN>",
                                "dataplane interface name must be of the form dpFpNsS");
  auto bond_name = Pattern(kBondingIfPattern, "<dpFbondN>",
                           "bonding interface name must be of the form dpFbondN");
  auto physical = [&](std::string kind, ValueSpec name, std::string help) {
    return Tag(std::move(kind), std::move(name),
               {
                   InterfaceAddress(),
                   Description(),
                   Empty("disable"),
                   Leaf("mtu", Range(68, 9000), "1500").Help("Maximum transmission unit"),
                   Leaf("mac", Kind(ValueKind::kMac)).Help("MAC address"),
                   Leaf("bond-group", bond_name).Help("Make this port a member of a bonding group"),
                   InterfaceFirewall(),
                   Vrrp(),
                   Vif(),
               })
        .Help(std::move(help));
  };
  return Container(
      "interfaces",
      {
          physical("dataplane", dataplane_name, "Dataplane (DPDK) port"),
          physical("ethernet",
                   Pattern(kEthernetIfPattern, "<ethN>", "ethernet interface name must be ethN"),
                   "Portcullis: VyOS name for a dataplane port"),
          Tag("bonding", bond_name,
              {
                  Leaf("mode", Enum({"lacp", "active-backup", "balanced"}), "lacp")
                      .Help("Bonding mode"),
                  Container("lacp-options",
                            {
                                Leaf("activity", Enum({"active", "passive"}), "active"),
                                Leaf("key", Range(0, 65535), "0"),
                                Leaf("periodic-rate", Enum({"fast", "slow"}), "slow"),
                            })
                      .Help("LACP options"),
                  Leaf("minimum-links", Range(1, 255), "1"),
                  Leaf("hash-policy",
                       Enum({"layer2", "layer2+3", "layer3+4", "encap2+3", "encap3+4"}), "layer2")
                      .Help("Transmit hash of lacp and balanced bonds"),
                  Leaf("primary",
                       Pattern(kDataplaneIfPattern + std::string("|") + kEthernetIfPattern,
                               "<dpFpNsS>"))
                      .Help("Primary member (active-backup)"),
                  Leaf("mac", Kind(ValueKind::kMac)),
                  InterfaceAddress(),
                  Leaf("mtu", Range(68, 9000), "1500"),
                  Description(),
                  Empty("disable"),
                  InterfaceFirewall(),
                  Vrrp(),
                  Vif(),
              })
              .Help("Bonding (link aggregation) interface"),
          Tag("vti", Pattern(kVtiIfPattern, "<vtiN>", "vti must be (vti0-vti999..)"),
              {
                  InterfaceAddress(),
                  Description(),
                  Empty("disable"),
                  Leaf("mtu", Range(68, 9000)).Help("Maximum transmission unit (1428 when unset)"),
                  Leaf("multicast", Enum({"enable", "disable"}), "enable"),
                  InterfaceFirewall(),
              })
              .Help("Virtual tunnel interface (route-based IPsec)"),
          Tag("virtual-feature-point", Pattern(kVfpIfPattern, "<vfpN>"),
              {
                  InterfaceAddress(),
                  Description(),
                  Empty("disable"),
                  Leaf("mtu", Range(68, 16384), "16384"),
                  InterfaceFirewall(),
              })
              .Help("Virtual feature point (routable interface for policy-based IPsec)"),
          Tag("loopback", Pattern(kLoopbackIfPattern, "<lo>"),
              {
                  InterfaceAddress(),
                  Description(),
                  InterfaceFirewall(),
              })
              .Help("Loopback interface"),
      });
}

SchemaNode Protocols() {
  auto any_if = Pattern("[A-Za-z][-_.0-9A-Za-z]*", "<interface>",
                        "Only alpha-numeric name, with non-leading . - or _ allowed");
  auto route_opts = [&](ValueKind nh) {
    return std::vector<SchemaNode>{
        Tag("next-hop", Kind(nh),
            {
                Leaf("distance", Range(1, 255), "1").Help("Administrative distance"),
                Empty("disable"),
                Leaf("interface", any_if).Help("Interface to reach the next hop"),
            })
            .Help("Next-hop router"),
        Empty("blackhole"),
    };
  };
  auto if_route = [&]() {
    return std::vector<SchemaNode>{
        Tag("next-hop-interface", any_if,
            {
                Leaf("distance", Range(1, 255), "1"),
                Empty("disable"),
            })
            .Help("Next-hop interface"),
    };
  };
  return Container(
      "protocols",
      {
          Container("static",
                    {
                        Tag("route", Kind(ValueKind::kIpv4Prefix), route_opts(ValueKind::kIpv4Addr))
                            .Help("Static IPv4 route"),
                        Tag("route6", Kind(ValueKind::kIpPrefix), route_opts(ValueKind::kIpAddr))
                            .Help("Static IPv6 route"),
                        Tag("interface-route", Kind(ValueKind::kIpv4Prefix), if_route())
                            .Help("Static IPv4 route through an interface"),
                        Tag("interface-route6", Kind(ValueKind::kIpPrefix), if_route())
                            .Help("Static IPv6 route through an interface"),
                    })
              .Help("Static routes"),
      });
}

SchemaNode Firewall() {
  auto ruleset = Pattern(kRulesetNamePattern, "<ruleset name>", "only alpha-numeric name allowed");
  auto match = [](std::string side) {
    return Container(std::move(side),
                     {
                         Leaf("address", Kind(ValueKind::kFwAddress))
                             .Help("Address, prefix, range a-b or address-group; '!' negates"),
                         Leaf("port", Kind(ValueKind::kFwPort))
                             .Help("Ports, ranges, service names or a port-group; '!' negates"),
                         Leaf("mac-address", Kind(ValueKind::kMac)),
                     });
  };
  return Container(
      "firewall",
      {
          Tag("name", ruleset,
              {
                  Description(),
                  Leaf("default-action", Enum({"drop", "accept", "reject"}))
                      .Help("Action when no rule matches (drop when unset)"),
                  Empty("default-log").Help("Log packets that meet the default action"),
                  Leaf("family", Enum({"ipv4", "ipv6"}))
                      .Help("Portcullis: filter only this family's packets (VyOS 'firewall "
                            "ipv4|ipv6 name'); unset: both, as Vyatta"),
                  Tag("rule", Range(1, 9999),
                      {
                          Leaf("action", Enum({"accept", "drop", "reject"}))
                              .Help("Rule action (required)"),
                          Leaf("protocol", Kind(ValueKind::kFwProtocol))
                              .Help("Protocol name or number; '!' negates"),
                          match("source"),
                          match("destination"),
                          LeafList("state", Enum({"enable", "disable", "established", "related",
                                                  "new", "invalid"}))
                              .Help("enable: keep state for sessions this rule accepts; "
                                    "established|related|new|invalid: match the session state"),
                          LeafList("match-state",
                                   Enum({"established", "related", "new", "invalid"}))
                              .Help("Portcullis: match connection state (VyOS 'state')"),
                          Container("icmp",
                                    {
                                        Leaf("type", Range(0, 255)),
                                        Leaf("code", Range(0, 255)),
                                        Leaf("name", Enum(IcmpTypeNames()))
                                            .Help("ICMP type by name (echo-request, ...)"),
                                    }),
                          Container("icmpv6",
                                    {
                                        Leaf("type", Range(0, 255)),
                                        Leaf("code", Range(0, 255)),
                                        Leaf("name", Enum(Icmp6TypeNames()))
                                            .Help("ICMPv6 type by name (echo-request, ...)"),
                                    }),
                          Empty("log").Help("Log packets matching this rule"),
                          Empty("disable"),
                          Description(),
                      })
                      .Help("Rule number"),
              })
              .Help("Firewall ruleset"),
          Container("global-state-policy",
                    {
                        Empty("icmp"),
                        Empty("tcp"),
                        Empty("udp"),
                    })
              .Help("Keep state for all sessions of these protocols"),
      });
}

// Vyatta's `resources group`: named address and port lists a firewall rule names in its
// `address` or `port`.
SchemaNode Resources() {
  auto group = Pattern("[A-Za-z][-_A-Za-z0-9.]{0,31}", "<group name>",
                       "a group name starts with a letter, 32 characters at most");
  return Container("resources",
                   {
                       Container("group",
                                 {
                                     Tag("address-group", group,
                                         {
                                             Description(),
                                             LeafList("address", Kind(ValueKind::kFwAddress))
                                                 .Help("Address, prefix or range a-b"),
                                         })
                                         .Help("Named list of addresses"),
                                     Tag("port-group", group,
                                         {
                                             Description(),
                                             LeafList("port", Kind(ValueKind::kPort))
                                                 .Help("Port, range a-b or service name"),
                                         })
                                         .Help("Named list of ports"),
                                 })
                           .Help("Groups firewall rules refer to"),
                   });
}

SchemaNode ZonePolicy() {
  auto ruleset = Pattern(kRulesetNamePattern, "<ruleset name>", "only alpha-numeric name allowed");
  return Container(
      "zone-policy",
      {
          Tag("zone", ruleset,
              {
                  Description(),
                  Empty("local-zone"),
                  LeafList("interface", Pattern("[A-Za-z][-_.0-9A-Za-z]*", "<interface>")),
                  Leaf("default-action", Enum({"accept", "drop", "reject"}), "drop"),
                  Tag("to", ruleset,
                      {
                          LeafList("firewall", ruleset),
                      }),
              }),
      });
}

SchemaNode Vpn() {
  auto group_name = [](std::string what) {
    return Pattern(kGroupNamePattern, "<name>", "invalid " + what + " group name");
  };
  auto any_if = Pattern("[A-Za-z][-_.0-9A-Za-z]*", "<interface>",
                        "Only alpha-numeric name, with non-leading . - or _ allowed");
  auto ike = Container(
      "ike", {
                 Leaf("block-threshold", Range(0, 4294967295u), "5")
                     .Help("Half-open IKE SAs per peer address before new ones are dropped"),
                 Leaf("cookie-threshold", Range(0, 4294967295u), "10")
                     .Help("Half-open IKE SAs before cookies are demanded"),
                 Leaf("half-open-timeout", Range(15, 60), "30")
                     .Help("Seconds a half-open IKE SA may live"),
                 Leaf("ikesa-limit", Range(10, 4294967295u))
                     .Help("IKE SAs beyond which new IKE_SA_INITs are dropped"),
                 Leaf("ikesa-table-size", Range(1, 4096), "1"),
                 Leaf("ikesa-table-segments", Range(1, 4096), "1"),
                 Leaf("init-limit-half-open", Range(10, 4294967295u))
                     .Help("Half-open IKE SAs beyond which new IKE_SA_INITs are dropped"),
                 LeafList("interface", any_if).Help("Restrict IKE to these interfaces"),
                 Empty("make-before-break")
                     .Help("IKEv2 reauthentication creates the new SAs before deleting the old"),
                 Container("retransmit",
                           {
                               Leaf("tries", Range(1, 32), "5"),
                               Leaf("timeout", Decimal(1.0, 32.0), "4.0"),
                               Leaf("base", Decimal(1.0, 4.0), "1.8"),
                           })
                     .Help("IKE retransmission: tries at timeout*base^(n-1) seconds"),
                 Leaf("worker-threads", Range(10, 32), "16"),
                 Container("v1", {Leaf("max_ikev1_exchanges", Range(3, 1000), "32")}),
             });

  auto ike_group =
      Tag("ike-group", group_name("IKE"),
          {
              Leaf("ike-version", Enum({"1", "2", "2+1"}), "1")
                  .Help("IKE version (Portcullis supports 2 only; the Vyatta default is 1)"),
              Leaf("lifetime", Range(30, 86400), "28800").Help("IKE SA lifetime in seconds"),
              Empty("disable-strict-mode"),
              Tag("proposal", Range(1, 65535),
                  {
                      Leaf("encryption", Enum(EncryptionValues()), "aes128"),
                      Leaf("hash", Enum(HashValues()), "sha1"),
                      Leaf("dh-group", Enum(DhGroupValues())).Help("Diffie-Hellman group"),
                      Leaf("prf", Enum(PrfValues()))
                          .Help("Portcullis: PRF (default: derived from hash)"),
                  }),
              Container("dead-peer-detection",
                        {
                            Leaf("action", Enum({"hold", "clear", "restart"}), "hold"),
                            Leaf("interval", Range(0, 86400), "30"),
                            Leaf("timeout", Range(30, 86400), "120"),
                        })
                  .Help("Dead peer detection (on when this node is present)"),
              Leaf("close-action", Enum({"none", "trap", "start"}), "none")
                  .Help("Portcullis: what to do when the peer closes the SA (VyOS)"),
          });

  auto esp_group =
      Tag("esp-group", group_name("ESP"),
          {
              Leaf("compression", Enum({"enable", "disable"}), "disable")
                  .Help("Deprecated: IPsec header compression is not supported"),
              Leaf("mode", Enum({"tunnel", "transport"}), "tunnel"),
              Leaf("lifetime", Range(30, 86400), "3600").Help("CHILD SA lifetime in seconds"),
              Leaf("life-bytes", Range(1024, 26843545600000ull))
                  .Help("Portcullis: CHILD SA lifetime in bytes (VyOS)"),
              Leaf("life-packets", Range(1000, 26843545600000ull))
                  .Help("Portcullis: CHILD SA lifetime in packets (VyOS)"),
              Leaf("pfs", Enum(PfsValues()), "enable"),
              Leaf("esn", Enum({"enable", "disable"}), "disable")
                  .Help("Portcullis: extended (64-bit) sequence numbers, RFC 4304: offered and "
                        "required (strongSwan's -esn)"),
              Empty("disable-strict-mode"),
              Tag("proposal", Range(1, 65535),
                  {
                      Leaf("encryption", Enum(EncryptionValues()), "aes128"),
                      Leaf("hash", Enum(HashValues()), "sha1"),
                  }),
          });

  auto prefix = Kind(ValueKind::kIpPrefix);
  auto peer = Tag(
      "peer", Kind(ValueKind::kPeerKey),
      {
          Description(),
          Leaf("local-address", Kind(ValueKind::kIpAddrOrAny)),
          Leaf("remote-address", Kind(ValueKind::kIpAddrOrAny))
              .Help("Portcullis: peer address when the peer is named (VyOS)"),
          Leaf("dhcp-interface", any_if)
              .Unsupported("dhcp-interface is not supported yet: set local-address"),
          Leaf("connection-type", Enum({"initiate", "respond"}), "initiate"),
          Leaf("ike-group", group_name("IKE")),
          Leaf("default-esp-group", group_name("ESP")),
          Empty("force-udp-encapsulation")
              .Help("Portcullis: always encapsulate ESP in UDP 4500 (VyOS)"),
          Leaf("replay-window", Range(0, 4096))
              .Help("Anti-replay window in packets, 0 = off (default 1024; Vyatta's hidden "
                    "peer option; VyOS's name, whose range 0-2040 and default 32 this covers)"),
          Container(
              "authentication",
              {
                  Leaf("mode", Enum({"pre-shared-secret", "x509", "rsa"}), "pre-shared-secret"),
                  Leaf("pre-shared-secret",
                       Pattern(kPskPattern, "<secret>",
                               "Only these characters are allowed to be used for setting "
                               "pre-shared secret key: a-z A-Z 0-9 - + & ! @ # $ % ^ * ( ) , . : "
                               "_"))
                      .Secret(),
                  Leaf("id", Pattern(kPrintablePattern, "<id>", "invalid ID")),
                  Leaf("remote-id", Pattern(kPrintablePattern, "<id>", "invalid ID")),
                  Leaf("rsa-key-name", Kind(ValueKind::kName))
                      .Unsupported(
                          "RSA authentication is not supported yet: use pre-shared-secret"),
                  Container(
                      "x509",
                      {
                          Leaf("cert-file", Kind(ValueKind::kText)),
                          Leaf("ca-cert-file", Kind(ValueKind::kText)),
                          Leaf("crl-file", Kind(ValueKind::kText)),
                          Container("key", {Leaf("file", Kind(ValueKind::kText)),
                                            Leaf("password", Kind(ValueKind::kText)).Secret()}),
                      })
                      .Unsupported(
                          "x509 authentication is not supported yet: use pre-shared-secret"),
              }),
          Container(
              "vti",
              {
                  Leaf("bind", Pattern(kVtiIfPattern, "<vtiN>", "vti must be (vti0-vti999..)")),
                  Leaf("esp-group", group_name("ESP")),
              })
              .Help("Route-based: bind this peer to a VTI"),
          Tag("tunnel", Range(0, 4294967295u),
              {
                  Container("local",
                            {Leaf("prefix", prefix), Leaf("port", Kind(ValueKind::kPort))}),
                  Container("remote",
                            {Leaf("prefix", prefix), Leaf("port", Kind(ValueKind::kPort))}),
                  Leaf("protocol", Kind(ValueKind::kProtocol)),
                  Leaf("esp-group", group_name("ESP")),
                  Empty("disable"),
                  Leaf("uses", Pattern(kVfpIfPattern, "<vfpN>"))
                      .Help("VFP interface for this tunnel"),
                  Leaf("allow-nat-networks", Enum({"enable", "disable"}), "disable")
                      .Deprecated("allow-nat-networks is deprecated and has no effect"),
                  Leaf("allow-public-networks", Enum({"enable", "disable"}), "disable")
                      .Deprecated("allow-public-networks is deprecated and has no effect"),
              })
              .Help("Policy-based: traffic selectors"),
      });

  auto ipsec = Container(
      "ipsec",
      {
          Container(
              "logging",
              {
                  LeafList("log-modes", Enum({"raw", "crypt", "parsing", "emitting", "control",
                                              "all", "private", "minimal", "none"})),
                  Leaf("log-level", Range(0, 2), "0")
                      .Help("Portcullis: 0 = normal, 1 = detailed, 2 = debug (VyOS)"),
              }),
          Leaf("nat-traversal", Enum({"enable", "disable"}))
              .Deprecated("nat-traversal is deprecated: NAT-T is always enabled"),
          Container("nat-networks", {Tag("allowed-network", Kind(ValueKind::kIpv4Prefix),
                                         {LeafList("exclude", Kind(ValueKind::kIpv4Prefix))})})
              .Deprecated("nat-networks is deprecated and has no effect"),
          Leaf("auto-update", Range(30, 65535))
              .Deprecated("auto-update is deprecated and has no effect"),
          Empty("disable-uniqreqids")
              .Deprecated("disable-uniqreqids is deprecated and has no effect"),
          ike_group,
          esp_group,
          Container("site-to-site", {peer}),
          Container("profile", {}).Unsupported("DMVPN profiles are not supported"),
          Container("remote-access-client", {}).Unsupported("remote access is not supported"),
          Container("remote-access-server", {}).Unsupported("remote access is not supported"),
      });

  return Container("vpn",
                   {
                       ike,
                       ipsec,
                       Container("rsa-keys", {})
                           .Unsupported("RSA keys are not supported yet: use pre-shared-secret"),
                       Container("x509", {}).Unsupported("x509 certificates are not supported yet"),
                   });
}

SchemaNode BuildRoot() {
  return Container("", {
                           Interfaces(),
                           Protocols(),
                           Resources(),
                           Container("security", {Vpn(), Firewall(), ZonePolicy()}),
                       });
}

}  // namespace

const SchemaNode& RootSchema() {
  static const SchemaNode* root = new SchemaNode(BuildRoot());
  return *root;
}

}  // namespace portcullis::config
