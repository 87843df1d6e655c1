// The interfaces, their addresses and the port/VLAN -> interface map, as one immutable snapshot.
// The main lcore builds a new snapshot for every change and publishes it with one atomic
// pointer store; workers read the current one once per burst and never lock. The old snapshot
// is freed after an RCU grace period.
#pragma once

#include <rte_ether.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "dataplane/core/limits.h"
#include "dataplane/tables/spd.h"

namespace portcullis::dp {

struct SaEntry;
struct FwTables;
namespace esp {
struct Sa;
}

enum class IfKind : uint8_t {
  kNone = 0,
  kPort = 1,
  kBond = 2,
  kVif = 3,
  kVti = 4,
  kVfp = 5,
  kLoopback = 6
};

struct IfAddress {
  uint32_t addr;  // IPv4, network order
  uint8_t len;
};

struct IfAddress6 {
  uint8_t addr[16];
  uint8_t len;
  // Another node has it (duplicate address detection, RFC 4862 §5.4.5): not assigned, so
  // neither delivered to us nor used as a source; kept here so ND still knows it.
  bool duplicate;
};

// A tunnel's per-worker outbound SAs (RFC 9611 groups; docs/DESIGN.md, Per-worker CHILD SAs):
// member w is owned by worker w, which encrypts the tunnel's packets it receives with it
// instead of handing them to the fallback's (Interface::out_sa's) owner. A worker reads only
// its own entry: one line.
struct SaGroup {
  struct Member {
    SaEntry* sa = nullptr;  // null: this worker uses the fallback, through its owner
    esp::Sa* esa = nullptr;
  };
  Member m[kMaxWorkers];
};

// 64-byte aligned (so is the array of them): kind, mtu and the outbound SA are in one cache line.
struct alignas(64) Interface {
  IfKind kind;
  bool up;
  uint16_t port;       // kPort/kBond: DPDK port; kVif: the parent's port
  uint16_t vlan;       // kVif
  uint16_t out_owner;  // out_sa->owner
  uint32_t parent;     // kVif
  uint32_t mtu;
  // kVti: the SA traffic routed into it is encrypted with (or null), set with SetOutSa. In the
  // first cache line with kind and mtu: a burst spread over many tunnels reads these of each
  // VTI, and with the SA's owner and engine state here it does not read the SaEntry at all.
  SaEntry* out_sa;
  esp::Sa* out_esa;  // out_sa->sa
  // kVti/kVfp with per-worker members, else null: read only by a worker that does not own
  // out_sa (which would otherwise hand the packets off), so a tunnel without a group pays
  // nothing for it.
  const SaGroup* out_group;
  // out_esa's packets read its line 1 too (not esp::kSaFastOut: NAT-T, IPv6 outer, CBC), which
  // a burst spread over many tunnels then asks for with line 0 (BatchTunnels).
  bool out_line1;
  rte_ether_addr mac;
  char name[16];
  uint8_t naddr;
  IfAddress addr[kMaxAddressesPerInterface];
  uint8_t naddr6;
  IfAddress6 addr6[kMaxAddressesPerInterface];
  // VRRP groups that are master here: frames to their virtual MACs (00:00:5e:00:01:VRID) are
  // the interface's too (checked only where the interface's own MAC did not match).
  uint8_t nvmac;
  uint8_t vmac_vrid[4];
  bool has_vrrp;  // VRRP groups are configured here: their advertisements go to the main lcore

  void SetOutSa(SaEntry* e);  // out_sa, out_esa, out_owner, out_line1 (all null/0 for none)

  bool VirtualMac(uint64_t dst_word) const {  // the first 6 bytes of a frame, little-endian
    if ((dst_word & 0xffffffffffull) != 0x01005e0000ull) return false;
    const uint8_t vrid = static_cast<uint8_t>(dst_word >> 40);
    for (uint8_t k = 0; k < nvmac; ++k)
      if (vmac_vrid[k] == vrid) return true;
    return false;
  }
};
static_assert(alignof(Interface) == 64 &&
              offsetof(Interface, out_group) + sizeof(const SaGroup*) <= 64 &&
              offsetof(Interface, out_line1) < 64);

struct PortVlan {
  uint16_t vlan;
  uint16_t ifindex;
};

struct PortEntry {
  uint16_t ifindex;  // untagged traffic; 0 = none
  uint8_t nvlans;
  PortVlan vlans[32];
};

struct LocalAddress {
  uint32_t addr;  // network order
  uint16_t ifindex;
};

struct Tables {
  // Every snapshot of a dataplane has the same number of interface slots (--max-interfaces),
  // so an ifindex that staging let through indexes any of them.
  explicit Tables(uint32_t max_interfaces)
      : nifs(max_interfaces), ifs(new Interface[max_interfaces]()) {}

  uint64_t version = 0;
  uint32_t nifs;                     // ifindex < nifs
  std::unique_ptr<Interface[]> ifs;  // by ifindex
  PortEntry ports[kMaxPorts] = {};
  // The ports an interface is configured on, in order: the only ones workers poll.
  uint16_t npolled = 0;
  uint16_t polled[kMaxPorts] = {};
  uint32_t nlocal = 0;
  std::vector<LocalAddress> local;  // sorted by addr; nlocal of them
  Spd spd;                          // policy-based tunnels
  // The groups ifs[].out_group point at (sized once per snapshot: the pointers stay valid).
  std::vector<SaGroup> groups;
  // The firewall (owned by the command applier, freed after a grace period like the tables);
  // nullptr when no ruleset is bound and no interface is in a zone.
  const FwTables* fw = nullptr;

  // The interface a frame arrived on: (port, VLAN or 0) -> ifindex, 0 when unknown.
  uint16_t RxInterface(uint16_t port, uint16_t vlan) const {
    if (port >= kMaxPorts) return 0;
    const PortEntry& p = ports[port];
    if (vlan == 0) return p.ifindex;
    for (uint8_t i = 0; i < p.nvlans; ++i)
      if (p.vlans[i].vlan == vlan) return p.vlans[i].ifindex;
    return 0;
  }

  // The interface owning local address `addr` (network order), 0 if it is not ours.
  uint16_t LocalInterface(uint32_t addr) const {
    uint32_t lo = 0, hi = nlocal;
    while (lo < hi) {
      uint32_t mid = (lo + hi) / 2;
      if (local[mid].addr < addr) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo < nlocal && local[lo].addr == addr ? local[lo].ifindex : 0;
  }

  // A source address to use on interface `ifindex` (its first address), 0 if none.
  uint32_t PrimaryAddress(uint32_t ifindex) const {
    if (ifindex >= nifs || ifs[ifindex].naddr == 0) return 0;
    return ifs[ifindex].addr[0].addr;
  }

  void Reindex();  // rebuilds ports[] and local[] from ifs[]
};

}  // namespace portcullis::dp
