// One line per SA or policy message, as the dataplane would receive it: direction, SPI, outer
// family and addresses, UDP encapsulation, selectors. Never the keys. The kernel transport logs
// these lines in place of sending them, so a run against another IKE implementation shows what
// the dataplane would have installed (#21: IPv6 outer addresses and selectors).
#pragma once

#include <string>

#include "dataplane/api/messages.h"

namespace portcullis::vpnd {

// "sa in spi=c0ffee01 outer=ipv6 local=2001:db8::1 remote=2001:db8::2 udp-encap=4500->4500",
// "policy out ipv6 2001:db8:1::/64 -> 2001:db8:2::/64 spi=c0ffee02", or "" for other kinds.
std::string SaMessageText(const dp::api::Message& m);

}  // namespace portcullis::vpnd
