// dpctl's configuration commands, parsed into channel messages. Interfaces are named; their
// ifindexes come from the running dataplane (or are allocated for new ones).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "dataplane/api/messages.h"

namespace portcullis::dp::dpctl {

// Interface name <-> ifindex, from the dataplane, plus those a batch adds or removes.
class InterfaceDirectory {
 public:
  void Known(const std::string& name, uint32_t ifindex, const std::string& kind);
  absl::StatusOr<uint32_t> Resolve(const std::string& name) const;
  std::string KindOf(const std::string& name) const;
  uint32_t Allocate(const std::string& name, const std::string& kind);
  void Forget(const std::string& name);

 private:
  std::map<std::string, std::pair<uint32_t, std::string>> by_name_;
  std::map<uint32_t, uint32_t> uses_;  // ifindex -> names that have it
  uint32_t lowest_free_ = 1;           // every ifindex below it is used
};

// One command line (split into words) -> its messages, appended to `out`.
//   interface add NAME kind port|bond|vif|vti|vfp|loopback [parent NAME] [vlan N] [mtu N]
//                 [down] [ifindex N]
//                 [bond BOND]  (a port: member of BOND)
//                 [mode lacp|active-backup|balanced] [primary PORT] [lacp-rate fast|slow]
//                 [min-links N]
//                 [hash layer2|layer2+3|layer3+4]  (a bond: how the dataplane builds it)
//   interface del NAME
//   address add|del NAME A.B.C.D/LEN
//   route add|del PREFIX (via GW [dev NAME] | dev NAME | blackhole) [distance N]
//   neigh add NAME IP MAC | neigh del NAME IP
//   sa add|update spi SPI dir in|out local IP remote IP cipher C [key HEX] [salt HEX]
//          [auth A authkey HEX] [esn] [window N] [encap SPORT DPORT] [vti NAME] [reqid N]
//          [soft-bytes N] [hard-bytes N] [soft-packets N] [hard-packets N]
//          [df copy|set|clear] [dscp copy|N] [ttl N] [worker W|any]
//   sa del spi SPI dir in|out
//   policy add|del|update out|in src PREFIX dst PREFIX [proto tcp|udp|icmp|N] [sport A[-B]]
//          [dport A[-B]] protect reqid N [spi SPI] | bypass | discard [priority N]
//   bind VTI SPI [member W SPI]... | unbind VTI  (members: RFC 9611 per-worker SAs, each
//          installed with `worker W`)
//   fw ruleset add|update ID NAME [default accept|drop|reject] [log] | fw ruleset del ID
//   fw rule add|del RULESET NUMBER [entry N] action accept|drop|reject [proto P[-P]|tcp|udp|icmp]
//          [src A|A/LEN|A-B] [dst ...] [sport P[-P]] [dport P[-P]] [icmp-type T[-T]]
//          [icmp-code C[-C]] [state new,established,related,invalid] [log]
//   fw bind|unbind IF in|out|local RULESET [position N]
//   fw zone add|update ID NAME [default accept|drop|reject] [local] | fw zone del ID
//   fw zone-if add|del IF ZONE
//   fw zone-policy add|del FROM TO RULESET [position N]
//   fw global [state tcp,udp,icmp|none] [tcp-established S] [tcp-transitory S] [udp S]
//          [icmp S] [other S]
//   flush sas|routes|neighbors|addresses|interfaces|firewall|all ...
absl::Status ParseCommand(const std::vector<std::string>& words, InterfaceDirectory& dir,
                          std::vector<api::Message>& out);

}  // namespace portcullis::dp::dpctl
