// What vpn-dataplane tells its clients: batch acknowledgements (to the sender's slot) and the
// unsolicited SA events vpnd acts on (to the primary slot only). Same wire rules as
// messages.h: fixed widths, explicit reserved fields, compile-time size checks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "dataplane/api/messages.h"

namespace portcullis::dp::api {

inline constexpr size_t kEventSize = 128;
inline constexpr size_t kEventBodySize = kEventSize - 8;
inline constexpr size_t kAckTextSize = 96;

enum class EventKind : uint8_t {
  kAck = 1,
  kSaExpired = 2,
  kSeqExhausted = 3,
  kAcquire = 4,
  kSaCounters = 5,
  kFwLog = 6,
  kVrrpState = 7,
};

// Why the dataplane refused (or dropped) a batch. Acks carry it next to the status code so a
// client can tell a contract violation from a table that said no; the segment header counts
// every reason.
enum class RejectReason : uint16_t {
  kNone = 0,
  kUnknownKind = 1,
  kUnknownOp = 2,
  kBadLength = 3,         // a name, batch size or length field out of range
  kBadPrefixLength = 4,   // > 32 / > 128 (or 0 where a host prefix is needed)
  kBadKeyLength = 5,      // key length does not match the algorithm
  kBadReplayWindow = 6,   // > kMaxReplayWindow
  kNonZeroReserved = 7,   // reserved bytes, bytes past a length, unknown flag bits
  kBadFraming = 8,        // index / last-flag / batch-size inconsistencies
  kBatchInterrupted = 9,  // a new batch from the same slot before this one ended
  kBadValue = 10,         // an enum out of range or an impossible combination
  kApplyFailed = 11,      // valid, but the dataplane's tables refused it
  kStaleSender = 12,      // from a slot that is not attached (any more): dropped, no ack
  kAbandoned = 13,        // an unfinished batch of a client that died or detached: no ack
  kBatchTooLarge = 14,    // more messages than the dataplane's --max-batch-messages
  kStagingBusy = 15,      // other clients' batches hold the staging (or no memory): try again
};
inline constexpr size_t kRejectReasonCount = 16;

struct EventHeader {
  EventKind kind;
  uint8_t reserved[7];
};

// status is an absl::StatusCode value (0 = OK); failed_index is the message the dataplane
// blames (the batch size when it blames the batch as a whole).
struct AckEvent {
  uint64_t batch_seq;
  uint16_t status;
  RejectReason reason;
  uint32_t failed_index;
  char text[kAckTextSize];  // NUL-terminated
};

enum class ExpiryKind : uint8_t {
  kSoft = 1,  // rekey now
  kHard = 2,  // the SA is gone
};

enum class ExpiryCause : uint8_t {
  kBytes = 1,
  kPackets = 2,
  kTime = 3,
};

struct SaExpiredEvent {
  uint32_t spi;
  Direction direction;
  ExpiryKind kind;
  ExpiryCause cause;
  uint8_t reserved;
  uint64_t bytes;  // counters when it fired
  uint64_t packets;
};

// The outbound sequence number is about to wrap (no ESN, or ESN at 2^64): rekey before it does.
struct SeqExhaustedEvent {
  uint32_t spi;
  Direction direction;
  uint8_t reserved[3];
};

// A packet needs an SA the dataplane does not have: a kProtect policy without one (reqid), or
// a VTI without a bound SA (vti_ifindex): start the tunnel's CHILD_SA. At most one a second per
// worker and tunnel.
struct AcquireEvent {
  uint32_t reqid;  // 0 for a VTI
  Family family;
  uint8_t protocol;
  uint16_t src_port;  // host order; 0 when the packet has none
  uint16_t dst_port;
  uint8_t reserved[2];
  IpAddr src;  // the packet that triggered it
  IpAddr dst;
  uint32_t vti_ifindex;  // 0 for a policy
};

struct SaCountersEvent {
  uint32_t spi;
  Direction direction;
  uint8_t reserved[3];
  uint64_t packets;
  uint64_t bytes;
  uint64_t drops_replay;
  uint64_t drops_auth;
  uint64_t drops_other;
};

// A packet met a firewall rule with `log` (or a ruleset default with log). Sent by the worker,
// rate-limited per rule (suppressed ones are counted in the rule's counters, not sent); vpnd
// formats the seed's line ("dataplane[PID]:  In:dp0bond1 PASS fw rule PubIn:1 proto=...") from
// it. Best effort: when vpnd's event ring is full the record is counted as lost, never waited for.
struct FwLogEvent {
  uint32_t ruleset_id;
  uint32_t rule_number;  // 0: the ruleset's default action
  uint32_t ifindex;      // the interface of the hook
  uint32_t zone_from;    // zone policy: the zones (0 otherwise)
  uint32_t zone_to;
  FwHook hook;
  FwAction action;
  Family family;
  uint8_t has_macs;  // 0 or 1: the frame's MACs (In hooks on an Ethernet interface)
  uint8_t src_mac[6];
  uint8_t dst_mac[6];
  // bytes of l3 copied: the IPv4 header with options (up to 60); IPv6: the 40-byte header and
  // at l3[40] the upper layer's protocol past the extension headers (41)
  uint16_t l3_length;
  // bytes of l4 copied after it: up to 20: the TCP header without options, ports, ICMP
  // type/code (vpnd prints Vyatta's tcp=(...) part only when all 20 are there)
  uint16_t l4_length;
  uint8_t l3[60];
  uint8_t l4[20];
};

enum class VrrpState : uint8_t {
  kInitialize = 1,
  kBackup = 2,
  kMaster = 3,
};

// Why a VRRP group is in its state (RFC 5798 section 6.4's transitions, and ours).
enum class VrrpReason : uint8_t {
  kStarted = 1,         // configured (or its start-delay ended), or its interface came up
  kMasterDown = 2,      // no advertisement for Master_Down_Interval
  kHigherPriority = 3,  // a master with a higher priority (or equal and a higher address)
  kPreempted = 4,       // took over from a master with a lower priority
  kInterfaceDown = 5,   // its interface went down (or is disabled)
  kRemoved = 6,         // its configuration was removed
  kReport = 7,          // no change: the state as it is, after a batch that configured VRRP
  kOwner = 8,           // priority 255: the addresses are the interface's
};

// A VRRP group changed state (or kReport: is in it). Critical: never dropped (vpnd starts and
// stops IKE on them, `notify ipsec`).
struct VrrpStateEvent {
  uint32_t ifindex;
  uint8_t vrid;
  VrrpState state;
  VrrpState old_state;
  VrrpReason reason;
  uint8_t master_addr[4];   // the master's address as last heard (ours while master); IPv4
  uint8_t master_priority;  // as last heard (ours while master)
  uint8_t reserved[3];
};

struct Event {
  EventHeader header;
  union Body {
    AckEvent ack;
    SaExpiredEvent sa_expired;
    SeqExhaustedEvent seq_exhausted;
    AcquireEvent acquire;
    SaCountersEvent sa_counters;
    FwLogEvent fw_log;
    VrrpStateEvent vrrp_state;
    uint8_t raw[kEventBodySize];
  } body;
};

inline Event NewEvent(EventKind kind) {
  Event e;
  std::memset(&e, 0, sizeof e);
  e.header.kind = kind;
  return e;
}

static_assert(sizeof(EventHeader) == 8 && kWireSafe<EventHeader>);
static_assert(sizeof(AckEvent) == 112 && kWireSafe<AckEvent>);
static_assert(sizeof(SaExpiredEvent) == 24 && kWireSafe<SaExpiredEvent>);
static_assert(sizeof(SeqExhaustedEvent) == 8 && kWireSafe<SeqExhaustedEvent>);
static_assert(sizeof(AcquireEvent) == 48 && kWireSafe<AcquireEvent>);
static_assert(sizeof(SaCountersEvent) == 48 && kWireSafe<SaCountersEvent>);
static_assert(sizeof(FwLogEvent) == 120 && sizeof(FwLogEvent) == kEventBodySize &&
              kWireSafe<FwLogEvent>);
static_assert(sizeof(VrrpStateEvent) == 16 && kWireSafe<VrrpStateEvent>);
static_assert(sizeof(Event::Body) == kEventBodySize);
static_assert(sizeof(Event) == kEventSize && std::is_trivially_copyable_v<Event>);

}  // namespace portcullis::dp::api
