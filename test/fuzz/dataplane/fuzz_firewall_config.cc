// libFuzzer target: the firewall's configuration compiler. The input is read as a sequence of
// batches of firewall messages (each message a few bytes naming its kind, operation and
// fields from small value sets, so that rulesets, rules, bindings and zones refer to each
// other often), every message checked by ValidateMessage and every batch applied by the
// command applier (staging, ACL compilation, commit) of a dataplane instance without ports.
//
// Invariants besides the sanitizers:
//   - a refused batch leaves the firewall configuration and the published snapshot as they
//     were (all or nothing);
//   - after an accepted batch, the snapshot exists exactly when something is bound or in a
//     zone, a hook has a chain of a family exactly when a ruleset bound there filters that
//     family, and every bound chain's rte_acl answer (IPv4 and IPv6), for keys and states
//     drawn from the input, is the one a plain walk over the configuration gives (rulesets of
//     the family in position order, rules in number order, the first entry of the family that
//     matches, else the last such ruleset's default).
#include <rte_byteorder.h>
#include <rte_eal.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "dataplane/api/message_validation.h"
#include "dataplane/mgmt/command_applier.h"
#include "dataplane/runtime/dataplane.h"
#include "dataplane/tables/firewall_acl.h"
#include "drivers/ethdev/eal_runtime.h"
#include "test/fuzz/dataplane/fuzz_eal.h"

using namespace portcullis::dp;

namespace {

Dataplane* dp;
CommandApplier* applier;

struct Input {
  const uint8_t* p;
  size_t n;
  uint8_t Byte() {
    if (n == 0) return 0;
    --n;
    return *p++;
  }
  uint16_t U16() { return static_cast<uint16_t>(Byte() << 8 | Byte()); }
  uint32_t U32() { return uint32_t{U16()} << 16 | U16(); }
};

// Interfaces 1..3 exist (lan, wan, vti0); ids and numbers come from small sets.
void Addr(Input& in, portcullis::dp::api::IpAddr* lo, portcullis::dp::api::IpAddr* hi) {
  const uint8_t mode = in.Byte() % 3;
  uint32_t a = 0, b = 0xffffffff;
  if (mode == 1) {
    a = b = 0x0a000000u | in.Byte();
  } else if (mode == 2) {
    a = 0x0a000000u | in.Byte();
    b = a + in.Byte();
  }
  std::memset(lo, 0, sizeof *lo);
  std::memset(hi, 0, sizeof *hi);
  for (int i = 0; i < 4; ++i) {
    lo->bytes[i] = static_cast<uint8_t>(a >> (24 - 8 * i));
    hi->bytes[i] = static_cast<uint8_t>(b >> (24 - 8 * i));
  }
}

// IPv6: any, one address of 2001:db8::/120, or a range from it that may cross into the next
// 16-bit group and, now and then, all of the space above (several prefixes each).
void Addr6(Input& in, portcullis::dp::api::IpAddr* lo, portcullis::dp::api::IpAddr* hi) {
  const uint8_t mode = in.Byte() % 4;
  std::memset(lo, 0, sizeof *lo);
  std::memset(hi, 0xff, sizeof *hi);
  if (mode == 0) return;
  const uint8_t base[16] = {0x20, 0x01, 0x0d, 0xb8};
  std::memcpy(lo->bytes, base, 16);
  lo->bytes[14] = in.Byte() & 1;
  lo->bytes[15] = in.Byte();
  if (mode == 3) return;  // up to ffff:...
  *hi = *lo;
  if (mode == 2) {
    const uint16_t end = static_cast<uint16_t>((lo->bytes[14] << 8 | lo->bytes[15]) + in.Byte());
    hi->bytes[14] = static_cast<uint8_t>(end >> 8);
    hi->bytes[15] = static_cast<uint8_t>(end);
  }
}

api::Message OneMessage(Input& in) {
  const uint8_t k = in.Byte();
  const api::Op op = static_cast<api::Op>(1 + (k >> 4) % 3);
  api::Message m{};
  switch (k % 8) {
    case 0: {
      m = api::NewMessage(api::MessageKind::kFwRuleset, op);
      auto& b = m.body.fw_ruleset;
      b.ruleset_id = 1 + in.Byte() % 4;
      std::snprintf(b.name, sizeof b.name, "rs%u", b.ruleset_id);
      const uint8_t d = in.Byte();
      b.default_action = static_cast<api::FwAction>(1 + d % 3);
      const uint8_t families[3] = {0, 4, 6};
      b.family = families[(d >> 2) % 3];
      break;
    }
    case 1:
    case 2:
    case 3: {
      m = api::NewMessage(api::MessageKind::kFwRule, k & 0x10 ? api::Op::kDelete : api::Op::kAdd);
      auto& b = m.body.fw_rule;
      b.ruleset_id = 1 + in.Byte() % 4;
      b.rule_number = 1 + in.Byte() % 16;
      b.entry = in.Byte() % 2;
      const uint8_t a = in.Byte();
      b.action = static_cast<api::FwAction>(1 + a % 3);
      b.state = (a >> 2) & 0x0f;
      const uint8_t pb = in.Byte();
      const bool v6 = pb & 0x80;
      b.family = v6 ? api::Family::kIpv6 : api::Family::kIpv4;
      const uint8_t p = pb % 5;
      const uint8_t protos[4] = {6, 17, static_cast<uint8_t>(v6 ? 58 : 1), 50};
      b.proto_low = p == 4 ? 0 : protos[p];
      b.proto_high = p == 4 ? 255 : protos[p];
      b.src_port_high = b.dst_port_high = 65535;
      if (p == 0 || p == 1) {
        if (in.Byte() & 1) {
          b.dst_port_low = in.Byte();
          b.dst_port_high = static_cast<uint16_t>(b.dst_port_low + in.Byte());
        }
        if (in.Byte() & 1) b.src_port_low = b.src_port_high = in.Byte();
      } else if (p == 2) {
        b.icmp_type_low = in.Byte() % 16;
        b.icmp_type_high = static_cast<uint8_t>(b.icmp_type_low + in.Byte() % 4);
        b.icmp_code_high = in.Byte() & 1 ? 255 : 0;
      }
      if (v6) {
        Addr6(in, &b.src_low, &b.src_high);
        Addr6(in, &b.dst_low, &b.dst_high);
      } else {
        Addr(in, &b.src_low, &b.src_high);
        Addr(in, &b.dst_low, &b.dst_high);
      }
      break;
    }
    case 4:
    case 5: {
      m = api::NewMessage(api::MessageKind::kFwBinding,
                          k & 0x10 ? api::Op::kDelete : api::Op::kAdd);
      auto& b = m.body.fw_binding;
      b.ifindex = 1 + in.Byte() % 3;
      b.ruleset_id = 1 + in.Byte() % 4;
      b.hook = static_cast<api::FwHook>(1 + in.Byte() % 3);
      b.position = in.Byte() % 3;
      break;
    }
    case 6: {
      const uint8_t z = in.Byte();
      if (z % 3 == 0) {
        m = api::NewMessage(api::MessageKind::kFwZone, op);
        m.body.fw_zone.zone_id = 1 + (z >> 2) % 3;
        std::snprintf(m.body.fw_zone.name, sizeof m.body.fw_zone.name, "z%u",
                      m.body.fw_zone.zone_id);
        m.body.fw_zone.default_action = static_cast<api::FwAction>(1 + in.Byte() % 3);
        m.body.fw_zone.local = m.body.fw_zone.zone_id == 3;
      } else if (z % 3 == 1) {
        m = api::NewMessage(api::MessageKind::kFwZoneInterface,
                            k & 0x10 ? api::Op::kDelete : api::Op::kAdd);
        m.body.fw_zone_interface = {1u + in.Byte() % 3u, 1u + (z >> 2) % 3u};
      } else {
        m = api::NewMessage(api::MessageKind::kFwZonePolicy,
                            k & 0x10 ? api::Op::kDelete : api::Op::kAdd);
        m.body.fw_zone_policy = {1u + (z >> 2) % 3u,
                                 1u + in.Byte() % 3u,
                                 1u + in.Byte() % 4u,
                                 static_cast<uint8_t>(in.Byte() % 2),
                                 {}};
      }
      break;
    }
    default: {
      if (k & 0x80) {
        m = api::NewMessage(api::MessageKind::kFlush, api::Op::kDelete);
        m.body.flush.scope = api::kFlushFirewall;
      } else {
        m = api::NewMessage(api::MessageKind::kFwGlobal, api::Op::kUpdate);
        m.body.fw_global.state_tcp = in.Byte() & 1;
      }
    }
  }
  return m;
}

bool Filters(const FwConfig& fw, uint32_t id, bool v6) {
  const uint8_t f = fw.rulesets.at(id).body.family;
  return f == 0 || f == (v6 ? 6 : 4);
}

// The reference: which (ruleset, rule number) a plain walk picks for key k (IPv4: src/dst are
// the first four bytes) in category c.
std::pair<uint32_t, uint32_t> Walk(const FwConfig& fw, uint32_t ifx, uint8_t hook, bool v6,
                                   uint8_t proto, const uint8_t* src, const uint8_t* dst,
                                   uint16_t sp, uint16_t dpt, int c) {
  std::vector<uint32_t> chain;
  for (const auto& [key, rs] : fw.bindings)
    if (std::get<0>(key) == ifx && std::get<1>(key) == hook && Filters(fw, rs, v6))
      chain.push_back(rs);
  const size_t w = v6 ? 16 : 4;
  const uint8_t icmp_proto = v6 ? 58 : 1;
  for (uint32_t id : chain) {
    for (const auto& [key, e] : fw.rulesets.at(id).entries) {
      if ((e.family == api::Family::kIpv6) != v6) continue;
      if (e.state != 0 && !(e.state & (1u << c))) continue;
      if (proto < e.proto_low || proto > e.proto_high) continue;
      if (std::memcmp(src, e.src_low.bytes, w) < 0 || std::memcmp(src, e.src_high.bytes, w) > 0)
        continue;
      if (std::memcmp(dst, e.dst_low.bytes, w) < 0 || std::memcmp(dst, e.dst_high.bytes, w) > 0)
        continue;
      const bool icmp = e.proto_low == icmp_proto && e.proto_high == icmp_proto;
      const uint16_t sl = icmp ? e.icmp_type_low : e.src_port_low;
      const uint16_t sh = icmp ? e.icmp_type_high : e.src_port_high;
      const uint16_t dl = icmp ? e.icmp_code_low : e.dst_port_low;
      const uint16_t dh = icmp ? e.icmp_code_high : e.dst_port_high;
      if (sp < sl || sp > sh || dpt < dl || dpt > dh) continue;
      return {id, key.first};
    }
  }
  return {chain.back(), 0};
}

void Check(const FwTables& t, Input& keys) {
  const FwConfig& fw = applier->state().fw;
  for (bool v6 : {false, true}) {
    for (uint32_t ifx = 1; ifx <= 3; ++ifx) {
      for (uint8_t hook = 1; hook <= 3; ++hook) {
        const FwChain* chain = (v6 ? t.hooks6 : t.hooks)[ifx][hook - 1];
        bool bound = false;
        for (const auto& [key, rs] : fw.bindings)
          bound |= std::get<0>(key) == ifx && std::get<1>(key) == hook && Filters(fw, rs, v6);
        if (bound != (chain != nullptr) || (chain && chain->ipv6 != v6)) {
          std::fprintf(stderr, "chain of %u/%u (v6 %d): %d, bound %d\n", ifx, hook, v6,
                       chain != nullptr, bound);
          std::abort();
        }
        if (!chain) continue;
        for (int i = 0; i < 4; ++i) {
          const uint8_t protos[5] = {6, 17, static_cast<uint8_t>(v6 ? 58 : 1), 50, 47};
          const uint8_t proto = protos[keys.Byte() % 5];
          uint8_t src[16] = {}, dst[16] = {};
          if (v6) {
            const uint8_t base[16] = {0x20, 0x01, 0x0d, 0xb8};
            std::memcpy(src, base, 16);
            std::memcpy(dst, base, 16);
            src[14] = keys.Byte() & 1, src[15] = keys.Byte();
            dst[14] = keys.Byte() & 1, dst[15] = keys.Byte();
            if (keys.Byte() == 0xff) src[0] = 0xfe;  // outside 2001:db8::/32, above it
          } else {
            src[0] = dst[0] = 10;
            src[3] = keys.Byte();
            dst[3] = keys.Byte();
          }
          const uint16_t sp = keys.Byte() % 20, dpt = keys.Byte();
          uint32_t results[kFwCategories] = {};
          FwKey k4{};
          FwKey6 k6{};
          const uint8_t* data[1];
          if (v6) {
            k6.proto = proto;
            std::memcpy(k6.src, src, 16);
            std::memcpy(k6.dst, dst, 16);
            k6.sport = rte_cpu_to_be_16(sp);
            k6.dport = rte_cpu_to_be_16(dpt);
            data[0] = reinterpret_cast<const uint8_t*>(&k6);
          } else {
            k4.proto = proto;
            std::memcpy(&k4.src, src, 4);
            std::memcpy(&k4.dst, dst, 4);
            k4.sport = rte_cpu_to_be_16(sp);
            k4.dport = rte_cpu_to_be_16(dpt);
            data[0] = reinterpret_cast<const uint8_t*>(&k4);
          }
          if (chain->acl) rte_acl_classify(chain->acl, data, results, 1, kFwCategories);
          for (int c = 0; c < kFwCategories; ++c) {
            const uint32_t slot = results[c] ? results[c] - 1 : chain->default_slot;
            const std::pair<uint32_t, uint32_t> got{t.slots[slot].ruleset_id,
                                                    t.slots[slot].rule_number};
            const auto want = Walk(fw, ifx, hook, v6, proto, src, dst, sp, dpt, c);
            if (got != want) {
              std::fprintf(stderr, "v6 %d if %u hook %u cat %d proto %u: acl %u:%u, walk %u:%u\n",
                           v6, ifx, hook, c, proto, got.first, got.second, want.first, want.second);
              std::abort();
            }
          }
        }
      }
    }
  }
}

std::string Digest() {
  const FwConfig& fw = applier->state().fw;
  std::string s;
  auto put = [&](const void* p, size_t n) { s.append(static_cast<const char*>(p), n); };
  for (const auto& [id, rs] : fw.rulesets) {
    put(&rs.body, sizeof rs.body);
    for (const auto& [key, e] : rs.entries) put(&e, sizeof e);
  }
  for (const auto& [key, rs] : fw.bindings)
    s += std::to_string(std::get<0>(key)) + "/" + std::to_string(std::get<1>(key)) + "/" +
         std::to_string(std::get<2>(key)) + "=" + std::to_string(rs) + ";";
  for (const auto& [id, z] : fw.zones) put(&z, sizeof z);
  for (const auto& [i, z] : fw.zone_interfaces) s += std::to_string(i) + ":" + std::to_string(z);
  for (const auto& [key, rs] : fw.zone_policies) s += std::to_string(rs) + ",";
  put(&fw.global, sizeof fw.global);
  const void* snap = applier->firewall();
  put(&snap, sizeof snap);
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  portcullis::fuzz::InitFuzzEal("fzf", 256);
  DataplaneParams p;
  p.name = "fzf";
  p.workers = 1;
  p.mbufs = 1023;
  p.fw_sessions = 1024;
  auto d = CreateDataplane(p);
  if (!d.ok()) std::abort();
  dp = d->release();
  applier = new CommandApplier(*dp);
  // lan (1), wan (2) and vti0 (3); no port is needed for a VTI, and the ports get names.
  const char* names[] = {"lan", "wan"};
  for (uint16_t i = 0; i < 2; ++i) {
    dp->ports[i].present = true;
    dp->ports[i].name = names[i];
  }
  std::vector<api::Message> ifs;
  for (uint32_t i = 1; i <= 3; ++i) {
    api::Message m = api::NewMessage(api::MessageKind::kInterface, api::Op::kAdd);
    m.body.interface.ifindex = i;
    std::snprintf(m.body.interface.name, sizeof m.body.interface.name, "%s",
                  i == 1   ? "lan"
                  : i == 2 ? "wan"
                           : "vti0");
    m.body.interface.kind = i == 3 ? api::InterfaceKind::kVti : api::InterfaceKind::kPort;
    m.body.interface.admin_up = 1;
    m.body.interface.mtu = 1500;
    ifs.push_back(m);
  }
  if (!applier->Apply(api::CommandBatch{1, 1, ifs}).status.ok()) std::abort();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2 || size > 4096) return 0;
  // The first half builds batches, the second draws keys.
  Input in{data, size / 2 + 1};
  Input keys{data + size / 2 + 1, size - size / 2 - 1};
  std::vector<api::Message> flush(1, api::NewMessage(api::MessageKind::kFlush, api::Op::kDelete));
  flush[0].body.flush.scope = api::kFlushFirewall;
  if (!applier->Apply(api::CommandBatch{1, 1, flush}).status.ok()) std::abort();
  uint64_t seq = 2;
  while (in.n > 0) {
    std::vector<api::Message> batch;
    const size_t count = 1 + in.Byte() % 12;
    for (size_t i = 0; i < count && in.n > 0; ++i) {
      api::Message m = OneMessage(in);
      if (api::ValidateMessage(m).ok()) batch.push_back(m);
    }
    if (batch.empty()) continue;
    const std::string before = Digest();
    api::ApplyResult r = applier->Apply(api::CommandBatch{1, seq++, batch});
    if (!r.status.ok()) {
      if (Digest() != before) {
        std::fprintf(stderr, "refused batch (%s) changed the firewall\n",
                     std::string(r.status.message()).c_str());
        std::abort();
      }
      continue;
    }
    const FwConfig& fw = applier->state().fw;
    const bool want = !fw.bindings.empty() || !fw.zone_interfaces.empty();
    if (want != (applier->firewall() != nullptr)) std::abort();
    if (applier->firewall()) Check(*applier->firewall(), keys);
  }
  return 0;
}
