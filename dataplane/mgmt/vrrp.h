// VRRP on the main lcore (RFC 5798; version 2 as RFC 3768 without authentication, Vyatta's
// default): one VrrpMachine per configured group (api::VrrpGroupBody), advertisements heard
// from the workers (local delivery punts IP protocol 112) and sent as finished frames from the
// virtual MAC, the virtual addresses added to the interface's tables while master (ARP then
// answers for them with the virtual MAC; gratuitous ARP on becoming master), and every state
// change sent to vpnd as a critical VrrpStateEvent (vpnd's `notify ipsec` starts and stops IKE
// on them).
#pragma once

#include <rte_mbuf.h>

#include <cstdint>
#include <map>
#include <utility>

#include "dataplane/api/channel_server.h"
#include "dataplane/mgmt/command_applier.h"
#include "dataplane/mgmt/vrrp_machine.h"
#include "dataplane/runtime/dataplane.h"

namespace portcullis::dp {

// Advertisements discarded, by reason (RFC 5798 section 7.1's checks and ours).
struct VrrpDiscards {
  uint64_t ttl = 0;           // IP TTL not 255 (it was routed: not from this link)
  uint64_t version = 0;       // not the group's version, or not an advertisement (type 1)
  uint64_t checksum = 0;      // VRRP checksum wrong
  uint64_t length = 0;        // shorter than its address count says, or truncated
  uint64_t destination = 0;   // not to 224.0.0.18
  uint64_t unknown_vrid = 0;  // no group with this VRID on the interface
  uint64_t interval = 0;      // version 2: another advertisement interval than ours
  uint64_t auth = 0;          // version 2: authentication asked (not supported)
  uint64_t own = 0;           // from an address configured on the interface (a looped copy)
  uint64_t owner = 0;         // heard by the addresses' owner (priority 255), which stays master
};

class VrrpService {
 public:
  VrrpService(Dataplane& dp, api::ChannelServer* server, CommandApplier& applier)
      : dp_(dp), server_(server), applier_(applier) {}

  // After every main-loop round's commands: when the applier's groups changed, adds, updates
  // (the state kept) and removes groups and reports every group's state to vpnd.
  void Sync(uint64_t now_ns);
  // An advertisement from a worker (IP header at data start); consumes it.
  void Receive(rte_mbuf* m, uint64_t now_ns);
  // Timers, and the groups' interfaces going down and up.
  void Tick(uint64_t now_ns);

  struct Group {
    api::VrrpGroupBody cfg;
    VrrpMachine machine;
    uint64_t adverts_in = 0, adverts_out = 0, garps_out = 0;
    uint64_t address_mismatches = 0;  // advertisements listing other addresses (accepted)
    uint64_t changed_ns = 0;          // the last change of state (`show vrrp`)
    uint16_t mac_port = kNoPort;      // the port whose filter has the virtual MAC (master)
  };
  const std::map<std::pair<uint32_t, uint8_t>, Group>& groups() const { return groups_; }
  // The VRID whose virtual address `addr` (network order) is on `ifindex` (the group is
  // master), 0 if none: ARP answers for it with that virtual MAC.
  uint8_t VirtualRouterFor(uint32_t ifindex, uint32_t addr) const {
    return applier_.VrrpOwner(ifindex, addr);
  }
  const VrrpDiscards& discards() const { return discards_; }
  uint64_t send_failures() const { return send_failures_; }
  // Masters whose port took neither the virtual MAC nor promiscuous mode.
  uint64_t mac_filter_failures() const { return mac_filter_failures_; }

 private:
  void Apply(Group& g, const VrrpActions& a);
  void SendAdvert(Group& g, uint8_t priority);
  void SendGarp(Group& g);
  void Report(const Group& g, api::VrrpState old, api::VrrpReason why);
  // A frame out of the group's interface: Ethernet header from the virtual MAC (tagged on a
  // VIF), `payload` bytes after it left for the caller. Null when there is no room.
  rte_mbuf* Frame(const Group& g, const uint8_t* dst_mac, uint16_t ethertype, uint16_t payload,
                  uint8_t** body);
  bool Send(const Group& g, rte_mbuf* m);

  Dataplane& dp_;
  api::ChannelServer* server_;
  CommandApplier& applier_;
  std::map<std::pair<uint32_t, uint8_t>, Group> groups_;
  uint64_t generation_ = 0;
  VrrpDiscards discards_;
  uint64_t send_failures_ = 0;
  uint64_t mac_filter_failures_ = 0;
};

// The VRRP checksum (RFC 1071) over `len` bytes of the message; version 3 adds the IPv4
// pseudo-header (RFC 5798 section 5.2.8). Addresses in network order. Exposed for the tests.
uint16_t VrrpChecksum(const uint8_t* msg, uint16_t len, int version, uint32_t src, uint32_t dst);

}  // namespace portcullis::dp
