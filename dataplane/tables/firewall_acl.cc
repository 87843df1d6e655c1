#include "dataplane/tables/firewall_acl.h"

#include <rte_errno.h>

#include <algorithm>
#include <cstddef>

#include "absl/numeric/int128.h"
#include "absl/strings/str_cat.h"

namespace portcullis::dp {

namespace {

enum Field { kProto, kSrc, kDst, kSport, kDport, kNumFields };

RTE_ACL_RULE_DEF(AclRule, kNumFields);

rte_acl_config Config() {
  rte_acl_config c{};
  c.num_categories = kFwCategories;
  c.num_fields = kNumFields;
  // The first field is one byte, the rest are grouped four bytes per input index, as rte_acl
  // requires; the two ports share one.
  c.defs[kProto] = {RTE_ACL_FIELD_TYPE_RANGE, sizeof(uint8_t), kProto, 0, offsetof(FwKey, proto)};
  c.defs[kSrc] = {RTE_ACL_FIELD_TYPE_RANGE, sizeof(uint32_t), kSrc, 1, offsetof(FwKey, src)};
  c.defs[kDst] = {RTE_ACL_FIELD_TYPE_RANGE, sizeof(uint32_t), kDst, 2, offsetof(FwKey, dst)};
  c.defs[kSport] = {RTE_ACL_FIELD_TYPE_RANGE, sizeof(uint16_t), kSport, 3, offsetof(FwKey, sport)};
  c.defs[kDport] = {RTE_ACL_FIELD_TYPE_RANGE, sizeof(uint16_t), kDport, 3, offsetof(FwKey, dport)};
  return c;
}

enum Field6 {
  kProto6,
  kSrc0,
  kSrc1,
  kSrc2,
  kSrc3,
  kDst0,
  kDst1,
  kDst2,
  kDst3,
  kSport6,
  kDport6,
  kNumFields6
};

RTE_ACL_RULE_DEF(AclRule6, kNumFields6);

rte_acl_config Config6() {
  rte_acl_config c{};
  c.num_categories = kFwCategories;
  c.num_fields = kNumFields6;
  c.defs[kProto6] = {RTE_ACL_FIELD_TYPE_RANGE, sizeof(uint8_t), kProto6, 0,
                     offsetof(FwKey6, proto)};
  // The addresses as four 32-bit words each (rte_acl's widest input unit), each a prefix.
  for (int w = 0; w < 4; ++w) {
    const uint32_t off = static_cast<uint32_t>(w * 4);
    c.defs[kSrc0 + w] = {RTE_ACL_FIELD_TYPE_MASK, sizeof(uint32_t), static_cast<uint8_t>(kSrc0 + w),
                         static_cast<uint8_t>(1 + w),
                         static_cast<uint32_t>(offsetof(FwKey6, src) + off)};
    c.defs[kDst0 + w] = {RTE_ACL_FIELD_TYPE_MASK, sizeof(uint32_t), static_cast<uint8_t>(kDst0 + w),
                         static_cast<uint8_t>(5 + w),
                         static_cast<uint32_t>(offsetof(FwKey6, dst) + off)};
  }
  c.defs[kSport6] = {RTE_ACL_FIELD_TYPE_RANGE, sizeof(uint16_t), kSport6, 9,
                     offsetof(FwKey6, sport)};
  c.defs[kDport6] = {RTE_ACL_FIELD_TYPE_RANGE, sizeof(uint16_t), kDport6, 9,
                     offsetof(FwKey6, dport)};
  return c;
}

absl::uint128 Load128(const uint8_t* b) {
  uint64_t hi = 0, lo = 0;
  for (int i = 0; i < 8; ++i) hi = hi << 8 | b[i];
  for (int i = 8; i < 16; ++i) lo = lo << 8 | b[i];
  return absl::MakeUint128(hi, lo);
}

void Store128(absl::uint128 v, uint8_t* b) {
  uint64_t hi = absl::Uint128High64(v), lo = absl::Uint128Low64(v);
  for (int i = 7; i >= 0; --i, hi >>= 8) b[i] = static_cast<uint8_t>(hi);
  for (int i = 15; i >= 8; --i, lo >>= 8) b[i] = static_cast<uint8_t>(lo);
}

// A word of a prefix: its value (host order) and how many of its 32 bits the prefix fixes.
void PrefixWord(const uint8_t* addr, uint8_t len, int w, uint32_t* value, uint32_t* bits) {
  const int fixed = std::clamp(static_cast<int>(len) - w * 32, 0, 32);
  *bits = static_cast<uint32_t>(fixed);
  uint32_t v = (uint32_t{addr[w * 4]} << 24) | (uint32_t{addr[w * 4 + 1]} << 16) |
               (uint32_t{addr[w * 4 + 2]} << 8) | addr[w * 4 + 3];
  *value = fixed == 0 ? 0 : fixed == 32 ? v : v & ~((uint32_t{1} << (32 - fixed)) - 1);
}

}  // namespace

void FwPrefixes6(const uint8_t lo_bytes[16], const uint8_t hi_bytes[16],
                 std::vector<FwPrefix6>* out) {
  absl::uint128 lo = Load128(lo_bytes);
  const absl::uint128 hi = Load128(hi_bytes);
  if (lo > hi) return;
  for (;;) {
    // The largest aligned block at lo that ends at or before hi.
    int k = 0;
    while (k < 128) {
      if (k == 127) {
        // The whole space: only from :: to the last address.
        if (lo == 0 && hi == absl::Uint128Max()) k = 128;
        break;
      }
      const absl::uint128 size = absl::uint128(1) << (k + 1);
      if ((lo & (size - 1)) != 0) break;
      const absl::uint128 last = lo + (size - 1);
      if (last < lo || last > hi) break;
      ++k;
    }
    FwPrefix6 p{};
    Store128(lo, p.addr);
    p.len = static_cast<uint8_t>(128 - k);
    out->push_back(p);
    if (k == 128) return;  // everything
    const absl::uint128 last = lo + ((absl::uint128(1) << k) - 1);
    if (last >= hi) return;
    lo = last + 1;
  }
}

namespace {

// What both families' compiles share: the context sized for the rules, each rule's userdata,
// categories and priority (first match wins: the lowest precedence is the highest priority),
// its fields from `fields`, the build with the family's field layout, and a context freed on
// any failure.
template <class AclRuleT, class FwRuleT, class Fields>
absl::StatusOr<rte_acl_ctx*> Compile(const std::string& name, const std::vector<FwRuleT>& rules,
                                     uint32_t num_fields, rte_acl_config cfg, Fields fields) {
  rte_acl_param param{};
  param.name = name.c_str();
  param.socket_id = SOCKET_ID_ANY;
  param.rule_size = RTE_ACL_RULE_SZ(num_fields);
  param.max_rule_num = static_cast<uint32_t>(rules.size() ? rules.size() : 1);
  rte_acl_ctx* ctx = rte_acl_create(&param);
  if (ctx == nullptr)
    return absl::ResourceExhaustedError(
        absl::StrCat("firewall ACL ", name, ": ", rte_strerror(rte_errno)));
  std::vector<AclRuleT> out(rules.size());
  for (size_t i = 0; i < rules.size(); ++i) {
    const FwRuleT& r = rules[i];
    AclRuleT& a = out[i];
    a = {};
    a.data.userdata = r.userdata;
    a.data.category_mask = r.categories;
    a.data.priority = static_cast<int32_t>(RTE_ACL_MAX_PRIORITY - r.precedence);
    fields(r, a);
  }
  int rc = rules.empty() ? 0
                         : rte_acl_add_rules(ctx, reinterpret_cast<rte_acl_rule*>(out.data()),
                                             static_cast<uint32_t>(out.size()));
  if (rc == 0) rc = rte_acl_build(ctx, &cfg);
  if (rc != 0) {
    rte_acl_free(ctx);
    return absl::ResourceExhaustedError(
        absl::StrCat("firewall ACL ", name, ": build failed: ", rte_strerror(-rc)));
  }
  return ctx;
}

}  // namespace

absl::StatusOr<rte_acl_ctx*> CompileFwAcl6(const std::string& name,
                                           const std::vector<FwAclRule6>& rules) {
  return Compile<AclRule6>(name, rules, kNumFields6, Config6(),
                           [](const FwAclRule6& r, AclRule6& a) {
                             a.field[kProto6].value.u8 = r.proto_low;
                             a.field[kProto6].mask_range.u8 = r.proto_high;
                             for (int w = 0; w < 4; ++w) {
                               PrefixWord(r.src, r.src_len, w, &a.field[kSrc0 + w].value.u32,
                                          &a.field[kSrc0 + w].mask_range.u32);
                               PrefixWord(r.dst, r.dst_len, w, &a.field[kDst0 + w].value.u32,
                                          &a.field[kDst0 + w].mask_range.u32);
                             }
                             a.field[kSport6].value.u16 = r.sport_low;
                             a.field[kSport6].mask_range.u16 = r.sport_high;
                             a.field[kDport6].value.u16 = r.dport_low;
                             a.field[kDport6].mask_range.u16 = r.dport_high;
                           });
}

absl::StatusOr<rte_acl_ctx*> CompileFwAcl(const std::string& name,
                                          const std::vector<FwAclRule>& rules) {
  return Compile<AclRule>(name, rules, kNumFields, Config(), [](const FwAclRule& r, AclRule& a) {
    a.field[kProto].value.u8 = r.proto_low;
    a.field[kProto].mask_range.u8 = r.proto_high;
    a.field[kSrc].value.u32 = r.src_low;
    a.field[kSrc].mask_range.u32 = r.src_high;
    a.field[kDst].value.u32 = r.dst_low;
    a.field[kDst].mask_range.u32 = r.dst_high;
    a.field[kSport].value.u16 = r.sport_low;
    a.field[kSport].mask_range.u16 = r.sport_high;
    a.field[kDport].value.u16 = r.dport_low;
    a.field[kDport].mask_range.u16 = r.dport_high;
  });
}

}  // namespace portcullis::dp
