#include "dataplane/tables/firewall_acl.h"

#include <rte_errno.h>

#include <cstddef>

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

}  // namespace

absl::StatusOr<rte_acl_ctx*> CompileFwAcl(const std::string& name,
                                          const std::vector<FwAclRule>& rules) {
  rte_acl_param param{};
  param.name = name.c_str();
  param.socket_id = SOCKET_ID_ANY;
  param.rule_size = RTE_ACL_RULE_SZ(kNumFields);
  param.max_rule_num = static_cast<uint32_t>(rules.size() ? rules.size() : 1);
  rte_acl_ctx* ctx = rte_acl_create(&param);
  if (ctx == nullptr)
    return absl::ResourceExhaustedError(
        absl::StrCat("firewall ACL ", name, ": ", rte_strerror(rte_errno)));
  std::vector<AclRule> out(rules.size());
  for (size_t i = 0; i < rules.size(); ++i) {
    const FwAclRule& r = rules[i];
    AclRule& a = out[i];
    a = {};
    a.data.userdata = r.userdata;
    a.data.category_mask = r.categories;
    a.data.priority = static_cast<int32_t>(RTE_ACL_MAX_PRIORITY - r.precedence);
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
  }
  int rc = rules.empty() ? 0
                         : rte_acl_add_rules(ctx, reinterpret_cast<rte_acl_rule*>(out.data()),
                                             static_cast<uint32_t>(out.size()));
  if (rc == 0) {
    rte_acl_config cfg = Config();
    rc = rte_acl_build(ctx, &cfg);
  }
  if (rc != 0) {
    rte_acl_free(ctx);
    return absl::ResourceExhaustedError(
        absl::StrCat("firewall ACL ", name, ": build failed: ", rte_strerror(-rc)));
  }
  return ctx;
}

}  // namespace portcullis::dp
