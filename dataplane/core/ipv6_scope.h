// IPv6 address scopes the dataplane decides by (RFC 4291): one definition for the worker's
// stages, ICMPv6 and the main lcore's neighbour discovery.
#pragma once

#include <cstdint>

namespace portcullis::dp {

// fe80::/10: valid on one link only, never forwarded (RFC 4291 §2.5.6). The same address may
// be on several interfaces; which one a packet is for is the interface it arrives on or leaves by.
inline bool LinkLocal6(const uint8_t* a) {
  return a[0] == 0xfe && (a[1] & 0xc0) == 0x80;
}

inline bool Unspecified6(const uint8_t* a) {
  for (int i = 0; i < 16; ++i)
    if (a[i]) return false;
  return true;
}

// Sources no packet may come from (unspecified, loopback, multicast), RFC 4291 §2.5.2-3, §2.7.
inline bool BadSource6(const uint8_t* a) {
  if (a[0] == 0xff) return true;
  for (int i = 0; i < 15; ++i)
    if (a[i]) return false;
  return a[15] <= 1;
}

}  // namespace portcullis::dp
