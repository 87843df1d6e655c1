#include "dataplane/tables/spd.h"

#include <netinet/in.h>
#include <rte_byteorder.h>

#include <rte_errno.h>

#include <algorithm>
#include <cstddef>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "dataplane/tables/firewall_acl.h"

namespace portcullis::dp {

namespace {

// The IPv6 ACL's key: as FwKey, the addresses 16 bytes each (network order).
struct SpdKey6 {
  uint8_t proto;
  uint8_t pad[3];
  uint8_t src[16];
  uint8_t dst[16];
  uint16_t sport;
  uint16_t dport;
};
static_assert(sizeof(SpdKey6) == 40);

// Fields: the protocol (one byte, first, as rte_acl requires), each address as four 32-bit
// words matched by prefix (MASK: the bits of the prefix in that word), the ports as ranges
// sharing one input word. The layout of DPDK's l3fwd-acl IPv6 rules.
enum Field6 {
  kProto6,
  kSrc0,
  kDst0 = kSrc0 + 4,
  kSport6 = kDst0 + 4,
  kDport6,
  kNumFields6,
};

RTE_ACL_RULE_DEF(SpdRule6, kNumFields6);

rte_acl_config Config6() {
  rte_acl_config c{};
  c.num_categories = 1;
  c.num_fields = kNumFields6;
  c.defs[kProto6] = {RTE_ACL_FIELD_TYPE_BITMASK, sizeof(uint8_t), kProto6, 0,
                     offsetof(SpdKey6, proto)};
  for (uint8_t w = 0; w < 4; ++w) {
    c.defs[kSrc0 + w] = {RTE_ACL_FIELD_TYPE_MASK, sizeof(uint32_t), static_cast<uint8_t>(kSrc0 + w),
                         static_cast<uint8_t>(1 + w),
                         static_cast<uint32_t>(offsetof(SpdKey6, src) + 4 * w)};
    c.defs[kDst0 + w] = {RTE_ACL_FIELD_TYPE_MASK, sizeof(uint32_t), static_cast<uint8_t>(kDst0 + w),
                         static_cast<uint8_t>(5 + w),
                         static_cast<uint32_t>(offsetof(SpdKey6, dst) + 4 * w)};
  }
  c.defs[kSport6] = {RTE_ACL_FIELD_TYPE_RANGE, sizeof(uint16_t), kSport6, 9,
                     offsetof(SpdKey6, sport)};
  c.defs[kDport6] = {RTE_ACL_FIELD_TYPE_RANGE, sizeof(uint16_t), kDport6, 9,
                     offsetof(SpdKey6, dport)};
  return c;
}

// The prefix's bits in word w (0-3) of the address: rte_acl's MASK value and length, the value
// in host order as rte_acl compares it.
void PrefixWord(const uint8_t* a, uint8_t len, int w, rte_acl_field* f) {
  const int bits = std::clamp(static_cast<int>(len) - 32 * w, 0, 32);
  uint32_t v;
  std::memcpy(&v, a + 4 * w, 4);
  v = rte_be_to_cpu_32(v);
  f->value.u32 = bits == 0 ? 0 : v & (~uint32_t{0} << (32 - bits));
  f->mask_range.u32 = static_cast<uint32_t>(bits);
}

}  // namespace

PacketSelector6 SelectorOf6(const uint8_t* ip, uint32_t l4, uint8_t proto, bool later_fragment,
                            uint32_t avail) {
  PacketSelector6 s{};
  std::memcpy(s.src, ip + 8, 16);
  std::memcpy(s.dst, ip + 24, 16);
  s.proto = proto;
  if (!later_fragment && avail >= l4 + 4 &&
      (proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_SCTP)) {
    s.sport = static_cast<uint16_t>(ip[l4] << 8 | ip[l4 + 1]);
    s.dport = static_cast<uint16_t>(ip[l4 + 2] << 8 | ip[l4 + 3]);
  }
  return s;
}

absl::StatusOr<std::shared_ptr<const SpdAcl>> CompileSpd6(const std::string& name,
                                                          const std::vector<PolicyEntry>& ordered) {
  rte_acl_param param{};
  param.name = name.c_str();
  param.socket_id = SOCKET_ID_ANY;
  param.rule_size = RTE_ACL_RULE_SZ(kNumFields6);
  param.max_rule_num = static_cast<uint32_t>(ordered.size() ? ordered.size() : 1);
  rte_acl_ctx* ctx = rte_acl_create(&param);
  if (ctx == nullptr)
    return absl::ResourceExhaustedError(absl::StrCat("SPD (", ordered.size(),
                                                     " IPv6 policies): ", rte_strerror(rte_errno),
                                                     " (--max-policies, EAL memory)"));
  std::vector<SpdRule6> rules(ordered.size());
  for (size_t i = 0; i < ordered.size(); ++i) {
    const PolicyEntry& p = ordered[i];
    SpdRule6& r = rules[i];
    r = {};
    r.data.userdata = static_cast<uint32_t>(i + 1);
    r.data.category_mask = 1;
    // Distinct: the earliest match wins, as in CompileSpd.
    r.data.priority = static_cast<int32_t>(RTE_ACL_MAX_PRIORITY - i);
    r.field[kProto6].value.u8 = p.proto;
    r.field[kProto6].mask_range.u8 = p.proto ? 0xff : 0;
    for (int w = 0; w < 4; ++w) {
      PrefixWord(p.src6, p.src6_len, w, &r.field[kSrc0 + w]);
      PrefixWord(p.dst6, p.dst6_len, w, &r.field[kDst0 + w]);
    }
    r.field[kSport6].value.u16 = p.has_ports ? p.sport_lo : 0;
    r.field[kSport6].mask_range.u16 = p.has_ports ? p.sport_hi : 65535;
    r.field[kDport6].value.u16 = p.has_ports ? p.dport_lo : 0;
    r.field[kDport6].mask_range.u16 = p.has_ports ? p.dport_hi : 65535;
  }
  int rc = rules.empty() ? 0
                         : rte_acl_add_rules(ctx, reinterpret_cast<rte_acl_rule*>(rules.data()),
                                             static_cast<uint32_t>(rules.size()));
  if (rc == 0) {
    rte_acl_config cfg = Config6();
    rc = rte_acl_build(ctx, &cfg);
  }
  if (rc != 0) {
    rte_acl_free(ctx);
    return absl::ResourceExhaustedError(
        absl::StrCat("SPD (", ordered.size(), " IPv6 policies): build failed: ", rte_strerror(-rc),
                     " (--max-policies, EAL memory)"));
  }
  return std::shared_ptr<const SpdAcl>(std::make_shared<SpdAcl>(ctx));
}

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

namespace portcullis::dp {

void SpdDirection::Classify6(const PacketSelector6* sel, const PolicyEntry** out,
                             uint32_t count) const {
  // As Classify: a few policies are searched in order, more classified in one call per 64.
  if (n <= kLinearPolicies || acl == nullptr) {
    for (uint32_t i = 0; i < count; ++i) out[i] = Spd::Find6(entries.data(), n, sel[i]);
    return;
  }
  constexpr uint32_t kChunk = 64;
  SpdKey6 keys[kChunk];
  const uint8_t* data[kChunk];
  uint32_t results[kChunk] = {};
  for (uint32_t base = 0; base < count; base += kChunk) {
    const uint32_t m = count - base < kChunk ? count - base : kChunk;
    for (uint32_t i = 0; i < m; ++i) {
      const PacketSelector6& s = sel[base + i];
      SpdKey6& k = keys[i];
      k.proto = s.proto;
      std::memset(k.pad, 0, sizeof k.pad);
      std::memcpy(k.src, s.src, 16);
      std::memcpy(k.dst, s.dst, 16);
      k.sport = rte_cpu_to_be_16(s.sport);
      k.dport = rte_cpu_to_be_16(s.dport);
      data[i] = reinterpret_cast<const uint8_t*>(&k);
    }
    if (rte_acl_classify(acl->ctx(), data, results, m, 1) != 0) {
      for (uint32_t i = 0; i < m; ++i) out[base + i] = Spd::Find6(entries.data(), n, sel[base + i]);
      continue;
    }
    for (uint32_t i = 0; i < m; ++i)
      out[base + i] = results[i] != 0 && results[i] <= n ? &entries[results[i] - 1] : nullptr;
  }
}

}  // namespace portcullis::dp
