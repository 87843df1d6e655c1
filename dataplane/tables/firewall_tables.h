// The firewall as the workers see it: one immutable snapshot built by the main lcore from the
// configuration (mgmt/firewall_builder.cc) and published with the interface tables (Tables::fw)
// in one pointer store; the old one is freed after the RCU grace period. Rulesets bound to
// one (interface, hook), and those of one zone pair, are one chain: one rte_acl context whose
// rule priorities put the rulesets in position order and the rules in number order, so the
// first decisive match is the highest-priority one.
#pragma once

#include <rte_acl.h>

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "dataplane/core/limits.h"

namespace portcullis::dp {

enum class FwVerdict : uint8_t { kAccept = 1, kDrop = 2, kReject = 3 };

enum FwHookIndex : uint8_t { kFwIn = 0, kFwOut = 1, kFwLocal = 2, kFwHooks = 3 };

constexpr uint32_t kMaxFwZones = 32;  // zone index 0 = no zone

// A rule (all its entries) or a ruleset's default action (rule_number 0): what a match does
// and where it is counted. Index = its counter slot.
struct FwRuleInfo {
  uint32_t ruleset_id;
  uint32_t rule_number;
  FwVerdict verdict;
  uint8_t log;
  uint8_t stateful;  // its ruleset uses state: an accepted new packet makes a session
  uint8_t reserved;
};

// A tag no other chain of this process had (never 0): the workers' verdict caches
// (pipeline/fw_verdict_cache.h) key their entries by it, so a rebuilt chain misses them.
uint32_t NextFwChainTag();

struct FwChain {
  rte_acl_ctx* acl = nullptr;  // nullptr: no rules, only the default
  uint32_t tag = NextFwChainTag();
  uint32_t default_slot = 0;            // the last ruleset's default action
  uint32_t zone_from = 0, zone_to = 0;  // a zone pair's (zone ids), for log events
  // A rule of the chain has a state mask (its rulesets then make sessions): the packets'
  // states matter here. Without, and with no session anywhere and no global state policy,
  // the chain is a plain ACL lookup in one category.
  bool uses_state = false;
  bool has_log = false;  // a rule or the default logs (the stage then needs the time)
  bool ipv6 = false;     // acl is an IPv6 context (FwKey6)
  ~FwChain() {
    if (acl) rte_acl_free(acl);
  }
};

// Per worker, written only by its worker: packets and bytes per slot, log records suppressed
// by the rate limit and the limiter's state.
struct FwWorkerCounters {
  std::unique_ptr<uint64_t[]> packets, bytes, suppressed;
  std::unique_ptr<uint64_t[]> log_tokens, log_refill_tsc;
};

inline constexpr uint64_t kFwZoneDefaultKey = uint64_t{1} << 63;

struct FwTables {
  // Per-interface parts for ifindex < max_interfaces (the dataplane's --max-interfaces).
  explicit FwTables(uint32_t max_interfaces)
      : hooks(max_interfaces), hooks6(max_interfaces), zone_of(max_interfaces) {}

  uint64_t generation = 0;
  std::vector<FwRuleInfo> slots;
  std::vector<std::unique_ptr<FwChain>> chains;             // owns what the pointers below point at
  std::vector<std::array<const FwChain*, kFwHooks>> hooks;  // by ifindex
  // The same for IPv6 packets: the IPv6 entries of the rulesets bound there that filter
  // IPv6 (FwRulesetBody::family); nullptr where none does (IPv6 then passes that hook).
  std::vector<std::array<const FwChain*, kFwHooks>> hooks6;
  std::vector<uint8_t> zone_of;  // zone index per ifindex, 0 = none
  uint8_t local_zone = 0;        // the local zone's index, 0 = none
  bool any_zone = false;
  // (from, to) zone index: the policy's chain; nullptr = no policy (drop). Same zone: pass.
  const FwChain* zone_pairs[kMaxFwZones][kMaxFwZones] = {};
  // IPv6's: wherever a pair has a policy it has an IPv6 chain too (without IPv6 rules, only
  // the default action), so a policy's absence means the same for both families.
  const FwChain* zone_pairs6[kMaxFwZones][kMaxFwZones] = {};
  uint32_t zone_ids[kMaxFwZones] = {};
  // Global state policy per protocol: accepted packets make sessions, and packets of a
  // session pass without rule evaluation.
  bool state_tcp = false, state_udp = false, state_icmp = false;
  bool any_global_state = false;
  FwWorkerCounters workers[kMaxWorkers];
  // Totals of the snapshot this one replaced, per slot, so counters survive a rebuild.
  std::vector<uint64_t> base_packets, base_bytes, base_suppressed;
  // Per slot, what its counters are carried by: ruleset id << 32 | rule number, or
  // kFwZoneDefaultKey | zone id for a zone's default action.
  std::vector<uint64_t> slot_keys;

  // Allocates the per-worker counters for slots.size() slots.
  void AllocateCounters(uint32_t nworkers);
  uint64_t SlotPackets(uint32_t slot, uint32_t nworkers) const;
  uint64_t SlotBytes(uint32_t slot, uint32_t nworkers) const;
  uint64_t SlotSuppressed(uint32_t slot, uint32_t nworkers) const;
};

}  // namespace portcullis::dp
