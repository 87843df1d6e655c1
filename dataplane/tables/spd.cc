#include "dataplane/tables/spd.h"

#include <netinet/in.h>
#include <rte_byteorder.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "dataplane/tables/firewall_acl.h"

namespace portcullis::dp {

PacketSelector SelectorOf(const uint8_t* ip, uint32_t l3_len, uint32_t avail) {
  PacketSelector s{};
  std::memcpy(&s.src, ip + 12, 4);
  std::memcpy(&s.dst, ip + 16, 4);
  s.proto = ip[9];
  const bool later_fragment = ((ip[6] & 0x1f) | ip[7]) != 0;
  if (!later_fragment && avail >= l3_len + 4 &&
      (s.proto == IPPROTO_TCP || s.proto == IPPROTO_UDP || s.proto == IPPROTO_SCTP)) {
    const uint8_t* l4 = ip + l3_len;
    s.sport = static_cast<uint16_t>(l4[0] << 8 | l4[1]);
    s.dport = static_cast<uint16_t>(l4[2] << 8 | l4[3]);
  }
  return s;
}

absl::StatusOr<std::shared_ptr<const SpdAcl>> CompileSpd(const std::string& name,
                                                         const std::vector<PolicyEntry>& ordered) {
  // The same fields and layout as the firewall's rules (FwKey), one category: what
  // PolicyEntry::Matches reads, as ranges. A policy without ports matches any (a packet
  // without ports presents 0, inside 0-65535); protocol 0 is any.
  std::vector<FwAclRule> rules(ordered.size());
  for (size_t i = 0; i < ordered.size(); ++i) {
    const PolicyEntry& p = ordered[i];
    FwAclRule& r = rules[i];
    r.userdata = static_cast<uint32_t>(i + 1);
    r.precedence = static_cast<uint32_t>(i);  // distinct: the earliest match wins
    r.categories = 1;
    r.proto_low = p.proto;
    r.proto_high = p.proto ? p.proto : 255;
    const uint32_t src = rte_be_to_cpu_32(p.src), smask = rte_be_to_cpu_32(p.src_mask);
    const uint32_t dst = rte_be_to_cpu_32(p.dst), dmask = rte_be_to_cpu_32(p.dst_mask);
    r.src_low = src & smask;
    r.src_high = (src & smask) | ~smask;
    r.dst_low = dst & dmask;
    r.dst_high = (dst & dmask) | ~dmask;
    if (p.has_ports) {
      r.sport_low = p.sport_lo;
      r.sport_high = p.sport_hi;
      r.dport_low = p.dport_lo;
      r.dport_high = p.dport_hi;
    } else {
      r.sport_high = r.dport_high = 65535;
    }
  }
  auto ctx = CompileFwAcl(name, rules);
  if (!ctx.ok())
    return absl::ResourceExhaustedError(absl::StrCat("SPD (", ordered.size(),
                                                     " policies): ", ctx.status().message(),
                                                     " (--max-policies, EAL memory)"));
  return std::shared_ptr<const SpdAcl>(std::make_shared<SpdAcl>(*ctx));
}

void SpdDirection::Classify(const PacketSelector* sel, const PolicyEntry** out,
                            uint32_t count) const {
  // A site's few policies: the linear search costs less than building the ACL's keys and a
  // classify call (and is what the SPD did before it had an ACL). Without an ACL (which the
  // applier never publishes with policies) the same search, never "no policy".
  if (n <= kLinearPolicies || acl == nullptr) {
    for (uint32_t i = 0; i < count; ++i) out[i] = Spd::Find(entries.data(), n, sel[i]);
    return;
  }
  constexpr uint32_t kChunk = 64;
  FwKey keys[kChunk];
  const uint8_t* data[kChunk];
  uint32_t results[kChunk] = {};
  for (uint32_t base = 0; base < count; base += kChunk) {
    const uint32_t m = count - base < kChunk ? count - base : kChunk;
    for (uint32_t i = 0; i < m; ++i) {
      const PacketSelector& s = sel[base + i];
      FwKey& k = keys[i];
      k = {};
      k.proto = s.proto;
      k.src = s.src;
      k.dst = s.dst;
      k.sport = rte_cpu_to_be_16(s.sport);
      k.dport = rte_cpu_to_be_16(s.dport);
      data[i] = reinterpret_cast<const uint8_t*>(&k);
    }
    if (rte_acl_classify(acl->ctx(), data, results, m, 1) != 0) {
      // Only bad arguments fail; never "no policy" for a packet then.
      for (uint32_t i = 0; i < m; ++i) out[base + i] = Spd::Find(entries.data(), n, sel[base + i]);
      continue;
    }
    for (uint32_t i = 0; i < m; ++i)
      out[base + i] = results[i] != 0 && results[i] <= n ? &entries[results[i] - 1] : nullptr;
  }
}

}  // namespace portcullis::dp
