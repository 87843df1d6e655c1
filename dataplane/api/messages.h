// The command contract between vpnd/dpctl and vpn-dataplane: every message a client can put on
// the command ring. The layout is the wire format between two separately built processes, so
// every field has a fixed width, every gap is an explicit reserved field that must be zero, and
// sizes are checked at compile time. Changing anything here means bumping kLayoutVersion in
// channel_layout.h.
//
// Enumerations never use 0 for a real value: a field the sender forgot to set is rejected
// instead of silently meaning "null cipher" or "IPv4".
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace portcullis::dp::api {

inline constexpr size_t kMessageSize = 256;
inline constexpr size_t kMessageHeaderSize = 32;
inline constexpr size_t kMessageBodySize = kMessageSize - kMessageHeaderSize;

enum class MessageKind : uint8_t {
  kInterface = 1,
  kAddress = 2,
  kRoute = 3,
  kSa = 4,
  kPolicy = 5,
  kVtiBinding = 6,
  kFlush = 7,
  kNeighbor = 8,
  // Firewall (#16): rulesets and their rules, where they are bound, zones, global state policy.
  kFwRuleset = 9,
  kFwRule = 10,
  kFwBinding = 11,
  kFwZone = 12,
  kFwZoneInterface = 13,
  kFwZonePolicy = 14,
  kFwGlobal = 15,
  // VRRP (#17): a virtual router the dataplane's main lcore runs on a port, bond or VIF.
  kVrrpGroup = 16,
};

// Which operations a kind accepts is part of the contract (message_validation.cc): addresses
// have no update (delete + add), a flush is always kDelete ("delete everything in scope").
enum class Op : uint8_t {
  kAdd = 1,
  kUpdate = 2,
  kDelete = 3,
};

// Header flag bits; every other bit is reserved.
inline constexpr uint8_t kLastInBatch = 0x01;

struct MessageHeader {
  MessageKind kind;
  Op op;
  uint8_t flags;
  uint8_t slot;         // client slot of the sender (filled in by the client library)
  uint32_t slot_epoch;  // attachment of that slot; messages from an earlier one are dropped
  uint64_t batch_seq;   // per-slot batch number, starts at 1 at every attach
  uint32_t index;       // position in the batch, 0-based
  uint32_t batch_size;  // messages in the batch; the same in every message of it
  uint8_t reserved[8];
};

enum class Family : uint8_t {
  kIpv4 = 4,
  kIpv6 = 6,
};

// An IPv4 address uses bytes[0..3]; the rest must be zero so that equal addresses are equal
// bytes (the dataplane hashes them).
struct IpAddr {
  uint8_t bytes[16];
};

enum class InterfaceKind : uint8_t {
  kPort = 1,  // a DPDK ethdev
  kBond = 2,  // a DPDK bonding port
  kVif = 3,   // VLAN sub-interface of a port or bond
  kVti = 4,   // route-based tunnel endpoint
  kVfp = 5,   // virtual feature point (route-based, no tunnel endpoint)
  kLoopback = 6,
};

// How a bond shares its members (#17), Vyatta's `interfaces bonding dp0bondN mode`.
enum class BondMode : uint8_t {
  kLacp = 1,          // IEEE 802.3ad (DPDK bonding mode 4)
  kActiveBackup = 2,  // one member carries everything, the primary when it is up (mode 1)
  kBalanced = 3,      // transmit spread by hash over every member (mode 2, balance-xor)
};

// The transmit hash of lacp and balanced bonds (VyOS `hash-policy`).
enum class BondHash : uint8_t {
  kLayer2 = 1,
  kLayer23 = 2,
  kLayer34 = 3,
};

// Key: ifindex. A delete only needs the ifindex.
struct InterfaceBody {
  uint32_t ifindex;
  uint32_t parent_ifindex;  // kVif: the port or bond it sits on; 0 otherwise
  char name[16];            // NUL-terminated, NUL-padded
  InterfaceKind kind;
  uint8_t admin_up;    // 0 or 1
  uint16_t dpdk_port;  // kPort/kBond: DPDK port id; 0 otherwise
  uint16_t vlan;       // kVif: 1-4094; 0 otherwise
  uint8_t mac[6];
  uint32_t mtu;  // 68-65535
  // Bonds (#17): the dataplane builds a DPDK bonding port for every kBond from the kPorts
  // that name it, and rebuilds it when this changes.
  uint32_t bond_ifindex;     // kPort: the bond it is a member of; 0 otherwise
  uint32_t primary_ifindex;  // kBond, kActiveBackup: the preferred member; 0 = none
  BondMode bond_mode;        // kBond: required; 0 otherwise
  BondHash bond_hash;        // kBond kLacp/kBalanced: required; 0 otherwise
  uint8_t lacp_fast;         // kBond kLacp: 0 or 1 (LACPDUs every second, 3 s timeout)
  uint8_t min_links;         // kBond kLacp: the bond is down below this many links; 0 = 1
  uint8_t reserved[4];
};

// Key: the whole body. No update: change = delete + add.
struct AddressBody {
  uint32_t ifindex;
  Family family;
  uint8_t prefix_length;  // 1-32 / 1-128
  uint8_t reserved[2];
  IpAddr address;  // host bits allowed ("172.16.0.5/30")
};

enum class RouteType : uint8_t {
  kGateway = 1,    // via next_hop (out_ifindex optional)
  kInterface = 2,  // out of out_ifindex (vtiN/vfpN interface routes)
  kBlackhole = 3,
};

// Key: the whole body (a prefix can have several routes with different distances).
struct RouteBody {
  IpAddr prefix;  // no host bits
  IpAddr next_hop;
  uint32_t out_ifindex;
  Family family;
  uint8_t prefix_length;
  RouteType type;
  uint8_t distance;  // 1-255
};

enum class Direction : uint8_t {
  kIn = 1,
  kOut = 2,
};

enum class SaMode : uint8_t {
  kTunnel = 1,
  kTransport = 2,
};

enum class Cipher : uint8_t {
  kNull = 1,
  kAesGcm128 = 2,
  kAesGcm256 = 3,
  kAesCbc128 = 4,
  kAesCbc256 = 5,
};

enum class Auth : uint8_t {
  kNone = 1,  // only with AES-GCM, which authenticates by itself
  kHmacSha1_96 = 2,
  kHmacSha256_128 = 3,
  kHmacSha384_192 = 4,
  kHmacSha512_256 = 5,
};

enum class DfMode : uint8_t {
  kCopy = 1,
  kSet = 2,
  kClear = 3,
};

enum class DscpMode : uint8_t {
  kCopy = 1,
  kSet = 2,
};

inline constexpr uint32_t kMaxReplayWindow = 4096;
inline constexpr size_t kMaxEncKeyLength = 32;
inline constexpr size_t kMaxAuthKeyLength = 64;

// Key: (spi, direction); a delete only needs those. Key bytes past the algorithm's key length
// must be zero. Lifetimes of 0 mean unlimited.
struct SaBody {
  uint32_t spi;          // >= 256 (1-255 are reserved by IANA)
  uint32_t reqid;        // ties the SA to its policies
  uint32_t vti_ifindex;  // route-based: the VTI the SA belongs to; 0 = policy-based
  Direction direction;
  SaMode mode;
  Family outer_family;
  uint8_t udp_encap;        // 0 or 1 (RFC 3948)
  uint16_t encap_src_port;  // host order; both zero unless udp_encap
  uint16_t encap_dst_port;  // the peer's (possibly NAT-mapped) port
  Cipher cipher;
  Auth auth;
  uint8_t enc_key_length;
  uint8_t auth_key_length;
  uint8_t esn;  // 0 or 1
  DfMode df_mode;
  DscpMode dscp_mode;
  uint8_t dscp;       // 0-63 with kSet, 0 with kCopy
  uint8_t outer_ttl;  // 0 = the dataplane's default
  // The worker that runs the SA: 0 = any (the dataplane's choice: a rekey's tunnel owner, else
  // the least loaded), w + 1 = worker w (RFC 9611 per-worker CHILD SAs: a member of a tunnel's
  // group runs on its own worker). An update keeps the SA's worker (naming another is refused).
  uint8_t worker;
  uint16_t replay_window;  // packets; 0 = anti-replay off; at most kMaxReplayWindow
  uint64_t soft_bytes;
  uint64_t hard_bytes;
  uint64_t soft_packets;
  uint64_t hard_packets;
  IpAddr local;  // outer addresses
  IpAddr remote;
  uint8_t enc_key[kMaxEncKeyLength];
  uint8_t salt[4];  // AES-GCM nonce salt (RFC 4106); zero otherwise
  uint8_t auth_key[kMaxAuthKeyLength];
  uint8_t reserved1[4];
};

enum class PolicyAction : uint8_t {
  kProtect = 1,
  kBypass = 2,
  kDiscard = 3,
};

// Key: (direction, family, selectors, priority); a delete carries the same body as the add.
struct PolicyBody {
  uint32_t reqid;     // which SAs protect it; non-zero with kProtect
  uint32_t priority;  // lower wins
  uint32_t out_spi;   // kOut + kProtect: the SA to use, 0 = none yet (send an acquire)
  Direction direction;
  Family family;
  PolicyAction action;
  uint8_t protocol;  // IP protocol number; 0 = any
  uint8_t src_prefix_length;
  uint8_t dst_prefix_length;
  uint8_t reserved[2];
  uint16_t src_port_low;  // inclusive ranges; 0-65535 = any
  uint16_t src_port_high;
  uint16_t dst_port_low;
  uint16_t dst_port_high;
  IpAddr src;  // no host bits
  IpAddr dst;
};

// Route-based VPN: traffic routed into vti_ifindex is encrypted with out_spi. Key: vti_ifindex.
// A tunnel with per-worker CHILD SAs (RFC 9611) is a group: member_spi[w] is the outbound SA
// worker w encrypts with itself (installed with `worker` w + 1), 0 = none: that worker hands
// its packets to out_spi's owner, the group's fallback (what a tunnel without members does).
// out_spi's own worker encrypts with out_spi. Ignored by a delete.
inline constexpr size_t kMaxSaGroupMembers = 16;
struct VtiBindingBody {
  uint32_t vti_ifindex;
  uint32_t out_spi;                         // >= 256; ignored by a delete
  uint32_t member_spi[kMaxSaGroupMembers];  // by worker; each 0 or >= 256
};

// A static neighbor (Vyatta `protocols static arp`): the dataplane never ages or re-asks it.
// Key: (ifindex, family, address). No update: delete + add.
struct NeighborBody {
  uint32_t ifindex;
  Family family;
  uint8_t reserved0[3];
  IpAddr address;
  uint8_t mac[6];
  uint8_t reserved1[2];
};

// ---- Firewall ------------------------------------------------------------------------------
// The dataplane sees a ruleset as an ordered list of entries, each a conjunction of positive
// ranges: vpnd expands Vyatta's lists, negations (`!`), groups and names into as many entries
// as a rule needs (a rule matches when any of its entries does), so the dataplane compiles
// ranges only. The rule number orders them and names the rule's counters and log lines; every
// entry of one rule has the same action, log flag and state mask. A batch that changes any
// firewall object is applied, and the affected ACLs rebuilt, at the batch's end: all or nothing.

inline constexpr size_t kFwNameSize = 32;  // NUL-terminated, NUL-padded: 31 characters at most
inline constexpr uint32_t kFwMaxRuleNumber = 9999;

enum class FwAction : uint8_t {
  kAccept = 1,
  kDrop = 2,
  kReject = 3,  // TCP: RST; anything else: ICMP destination unreachable, port unreachable
};

// Session states a rule with `state` matches; 0 = any state (no `state` in the rule).
enum FwStateBits : uint8_t {
  kFwStateNew = 1u << 0,
  kFwStateEstablished = 1u << 1,
  kFwStateRelated = 1u << 2,
  kFwStateInvalid = 1u << 3,
};

// Key: ruleset_id. kUpdate changes the name, the default action or its log flag and keeps the
// rules; kDelete removes the ruleset with all its rules and is refused while it is bound.
struct FwRulesetBody {
  uint32_t ruleset_id;  // >= 1
  char name[kFwNameSize];
  FwAction default_action;
  uint8_t default_log;  // 0 or 1: log packets that meet the default action
  // 0 or 1: no `default-action` in the configuration (default_action is then kDrop). As in
  // Vyatta, a configured default-action is an explicit last rule that decides everything the
  // rules did not; without one, a zone policy's undecided packets meet the to-zone's default.
  uint8_t default_implicit;
  // 0: the ruleset filters both families (Vyatta: a rule without an address or ICMP match
  // applies to IPv4 and IPv6 alike); 4 or 6 (Family): only that family's packets, the other
  // family passes it as if it were not bound (VyOS's `firewall ipv4|ipv6 name`).
  uint8_t family;
};

// Key: (ruleset_id, rule_number, entry). No update: delete + add. The ruleset must exist.
struct FwRuleBody {
  uint32_t ruleset_id;
  uint32_t rule_number;  // 1..kFwMaxRuleNumber
  uint32_t entry;        // 0.. within the rule
  FwAction action;
  uint8_t log;        // 0 or 1
  uint8_t state;      // FwStateBits, 0 = any
  Family family;      // of the addresses below and of the packets the entry matches
  uint8_t proto_low;  // inclusive; 0-255 = any protocol
  uint8_t proto_high;
  // ICMP (protocol 1 in an IPv4 entry, 58 in an IPv6 one, proto_low == proto_high): type and
  // code ranges; 0-255 = any. Zero and ignored for other protocols (a validator checks).
  uint8_t icmp_type_low;
  uint8_t icmp_type_high;
  uint8_t icmp_code_low;
  uint8_t icmp_code_high;
  uint8_t reserved[2];
  // TCP/UDP/SCTP ports, inclusive, host order; 0-65535 = any. Only with a single protocol that
  // has ports.
  uint16_t src_port_low;
  uint16_t src_port_high;
  uint16_t dst_port_low;
  uint16_t dst_port_high;
  IpAddr src_low;  // inclusive address ranges; 0.0.0.0-255.255.255.255 = any
  IpAddr src_high;
  IpAddr dst_low;
  IpAddr dst_high;
};

enum class FwHook : uint8_t {
  kIn = 1,     // on the receiving interface (the VTI/VFP for decrypted traffic)
  kOut = 2,    // on the sending interface (the VTI before encryption, the port after)
  kLocal = 3,  // traffic to the appliance's own addresses, after `in`
};

// `interfaces ... firewall in|out|local NAME`. Key: (ifindex, hook, position); rulesets of one
// (ifindex, hook) are evaluated in position order, the first decisive match wins; a packet no
// rule of any of them matched meets the last ruleset's default action. No update.
struct FwBindingBody {
  uint32_t ifindex;
  uint32_t ruleset_id;
  FwHook hook;
  uint8_t position;  // 0..7
  uint8_t reserved[2];
};

// `security zone-policy zone Z`. Key: zone_id. kUpdate changes default action and name.
struct FwZoneBody {
  uint32_t zone_id;  // >= 1
  char name[kFwNameSize];
  // Traffic into this zone that the rulesets of the from-zone's policy did not decide. Traffic
  // from a zone without a policy towards this one is dropped; traffic within a zone passes.
  FwAction default_action;
  uint8_t local;  // 0 or 1: the appliance itself (local-zone)
  uint8_t reserved[2];
};

// An interface's zone. Key: ifindex. An interface in a zone has no bindings (vpnd's commit
// check; the dataplane refuses the batch otherwise). No update.
struct FwZoneInterfaceBody {
  uint32_t ifindex;
  uint32_t zone_id;
};

// `zone FROM to TO firewall NAME`. Key: (from_zone, to_zone, position). Traffic between two
// zones with no policy is dropped. No update.
struct FwZonePolicyBody {
  uint32_t from_zone;
  uint32_t to_zone;
  uint32_t ruleset_id;
  uint8_t position;  // 0..7
  uint8_t reserved[3];
};

// Global state policy and the session table's timeouts. Only kUpdate; the dataplane starts
// with no global state policy and the defaults below.
struct FwGlobalBody {
  uint8_t state_tcp;  // 0 or 1: `global-state-policy tcp` (all TCP is tracked and return
  uint8_t state_udp;  // traffic of an accepted session passes without rule evaluation)
  uint8_t state_icmp;
  uint8_t reserved;
  uint32_t tcp_established_timeout_s;  // 0 = default (7440 s)
  uint32_t tcp_transitory_timeout_s;   // 0 = default (120 s); SYN-SENT, FIN-WAIT, ...
  uint32_t udp_timeout_s;              // 0 = default (30 s, 180 s once both ways seen)
  uint32_t icmp_timeout_s;             // 0 = default (30 s)
  uint32_t other_timeout_s;            // 0 = default (600 s)
};

// ---- VRRP ----------------------------------------------------------------------------------
// A virtual router (RFC 5798; version 2 is RFC 3768 without authentication) on an Ethernet
// interface: the main lcore sends and hears its advertisements, and while it is master the
// virtual addresses are the interface's (answered for with the virtual MAC). State changes
// reach vpnd as VrrpStateEvents. Key: (ifindex, vrid); kUpdate changes the rest and keeps the
// state (a master stays master).
inline constexpr size_t kMaxVrrpAddresses = 20;  // Vyatta's max-elements

struct VrrpGroupBody {
  uint32_t ifindex;             // a kPort, kBond or kVif
  uint8_t vrid;                 // 1-255
  uint8_t priority;             // 1-254; 255 = owner of the addresses (they are the interface's)
  uint8_t version;              // 2 or 3
  uint8_t preempt;              // 0 or 1
  uint16_t advert_interval_cs;  // centiseconds, 1-4095; version 2: a multiple of 100
  uint16_t preempt_delay_s;     // 0-1000: no preemption this long after the group starts
  uint16_t start_delay_s;       // 0-600: Initialize this long before the group starts
  uint8_t naddrs;               // 1..kMaxVrrpAddresses
  uint8_t reserved;
  uint8_t addrs[kMaxVrrpAddresses][4];  // IPv4, network order; past naddrs zero
};

enum FlushScope : uint32_t {
  kFlushSas = 1u << 0,
  kFlushPolicies = 1u << 1,
  kFlushRoutes = 1u << 2,
  kFlushAddresses = 1u << 3,
  kFlushInterfaces = 1u << 4,
  kFlushNeighbors = 1u << 5,
  kFlushFirewall = 1u << 6,  // rulesets, rules, bindings, zones; global policy to defaults
};
inline constexpr uint32_t kFlushAll = kFlushSas | kFlushPolicies | kFlushRoutes | kFlushAddresses |
                                      kFlushInterfaces | kFlushNeighbors | kFlushFirewall;

struct FlushBody {
  uint32_t scope;  // FlushScope bits, at least one
};

// One ring element. The body is a union (GCC and Clang define reading another member as
// reinterpreting the bytes); bytes past the active member's size are reserved and must be zero.
struct Message {
  MessageHeader header;
  union Body {
    InterfaceBody interface;
    AddressBody address;
    RouteBody route;
    SaBody sa;
    PolicyBody policy;
    VtiBindingBody vti_binding;
    FlushBody flush;
    NeighborBody neighbor;
    FwRulesetBody fw_ruleset;
    FwRuleBody fw_rule;
    FwBindingBody fw_binding;
    FwZoneBody fw_zone;
    FwZoneInterfaceBody fw_zone_interface;
    FwZonePolicyBody fw_zone_policy;
    FwGlobalBody fw_global;
    VrrpGroupBody vrrp_group;
    uint8_t raw[kMessageBodySize];
  } body;
};

// A zeroed message of the given kind and operation; the header's framing fields are the
// client library's to fill.
inline Message NewMessage(MessageKind kind, Op op) {
  // Every byte, not just the union's first member: reserved bytes are checked.
  Message m;
  std::memset(&m, 0, sizeof m);
  m.header.kind = kind;
  m.header.op = op;
  return m;
}

// The wire format must not depend on the compiler's padding choices.
template <typename T>
inline constexpr bool kWireSafe = std::is_trivially_copyable_v<T>&& std::is_standard_layout_v<T>&&
    std::has_unique_object_representations_v<T>;

static_assert(sizeof(MessageHeader) == kMessageHeaderSize && kWireSafe<MessageHeader>);
static_assert(sizeof(InterfaceBody) == 56 && kWireSafe<InterfaceBody>);
static_assert(sizeof(AddressBody) == 24 && kWireSafe<AddressBody>);
static_assert(sizeof(RouteBody) == 40 && kWireSafe<RouteBody>);
static_assert(sizeof(SaBody) == 200 && kWireSafe<SaBody>);
static_assert(sizeof(PolicyBody) == 60 && kWireSafe<PolicyBody>);
static_assert(sizeof(VtiBindingBody) == 72 && kWireSafe<VtiBindingBody>);
static_assert(sizeof(FlushBody) == 4 && kWireSafe<FlushBody>);
static_assert(sizeof(NeighborBody) == 32 && kWireSafe<NeighborBody>);
static_assert(sizeof(FwRulesetBody) == 40 && kWireSafe<FwRulesetBody>);
static_assert(sizeof(FwRuleBody) == 96 && kWireSafe<FwRuleBody>);
static_assert(sizeof(FwBindingBody) == 12 && kWireSafe<FwBindingBody>);
static_assert(sizeof(FwZoneBody) == 40 && kWireSafe<FwZoneBody>);
static_assert(sizeof(FwZoneInterfaceBody) == 8 && kWireSafe<FwZoneInterfaceBody>);
static_assert(sizeof(FwZonePolicyBody) == 16 && kWireSafe<FwZonePolicyBody>);
static_assert(sizeof(FwGlobalBody) == 24 && kWireSafe<FwGlobalBody>);
static_assert(sizeof(VrrpGroupBody) == 96 && kWireSafe<VrrpGroupBody>);
static_assert(sizeof(Message::Body) == kMessageBodySize);
static_assert(sizeof(Message) == kMessageSize && std::is_trivially_copyable_v<Message>);
static_assert(offsetof(Message, body) == kMessageHeaderSize);
// rte_ring element sizes must be multiples of 4.
static_assert(kMessageSize % 4 == 0);

}  // namespace portcullis::dp::api
