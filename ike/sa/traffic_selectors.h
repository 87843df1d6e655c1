// Traffic selector arithmetic for CHILD SA negotiation (RFC 7296 2.9): building selectors from
// prefixes, narrowing (the intersection of what the peer proposes and what we allow), subset
// checks for a responder's answer, and strongSwan's text form for logs and `show` output
// ("10.1.0.0/24", "0.0.0.0/0", "10.1.0.0/24[tcp/80]", "10.1.0.1..10.1.0.9").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ike/encoding/payloads.h"
#include "ike/sa/endpoint.h"

namespace portcullis::ike {

// A prefix as a range selector; protocol 0 = any, ports as given (0..65535 = any).
TrafficSelector TsFromPrefix(const Address& network, int prefix_length, uint8_t protocol = 0,
                             uint16_t start_port = 0, uint16_t end_port = 65535);
// 0.0.0.0/0 (or ::/0).
TrafficSelector TsAny(uint8_t family = 4);

// The intersection of two selectors, if not empty (same address family, compatible protocol,
// overlapping ports and addresses).
std::optional<TrafficSelector> IntersectTs(const TrafficSelector& a, const TrafficSelector& b);

// Every non-empty intersection of a proposed selector with a configured one, in the proposed
// order, duplicates removed.
std::vector<TrafficSelector> NarrowTs(const std::vector<TrafficSelector>& proposed,
                                      const std::vector<TrafficSelector>& configured);

// Whether every selector of `inner` lies within some selector of `outer`.
bool TsSubset(const std::vector<TrafficSelector>& inner, const std::vector<TrafficSelector>& outer);

// "tcp", "udp", "icmp", "gre", "ipv6-icmp", else the number.
std::string ProtoName(uint8_t protocol);
std::string TsToString(const TrafficSelector& ts);
std::string TsListToString(const std::vector<TrafficSelector>& list);  // joined by " "

// The prefix a selector is, if it is one (for the dataplane's policies): address, length.
bool TsAsPrefix(const TrafficSelector& ts, Address* network, int* length);

}  // namespace portcullis::ike
