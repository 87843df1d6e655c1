// Applies command batches from the channel, all or nothing: every message is checked against a
// candidate copy of the configuration (and SAs are created) before anything is published;
// then the new interface tables, FIB routes, neighbors and SAs go live together and what they
// replace is freed after an RCU grace period.
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "dataplane/api/channel_server.h"
#include "dataplane/mgmt/bond_sync.h"
#include "dataplane/mgmt/config_state.h"
#include "dataplane/mgmt/firewall_builder.h"
#include "dataplane/runtime/dataplane.h"
#include "dataplane/tables/firewall_tables.h"

namespace portcullis::dp {

class CommandApplier {
 public:
  explicit CommandApplier(Dataplane& dp) : dp_(dp), bonds_(dp) {}

  api::ApplyResult Apply(const api::CommandBatch& batch);
  const ConfigState& state() const { return state_; }
  // The firewall snapshot the workers use (nullptr: none); main lcore (or under its lock).
  const FwTables* firewall() const { return fw_.get(); }
  uint64_t batches_applied() const { return applied_; }
  uint64_t batches_failed() const { return failed_; }
  // Shutdown: every bond the configuration built, stopped and freed.
  void StopBonds() { bonds_.StopAll(); }
  // Every 100 ms: active-backup bonds follow their members' links (BondSync::WatchLinks).
  // An LACP bond below its minimum-links goes down (new tables), and up again.
  void WatchBondLinks();
  // Duplicate address detection found another node with ifindex's `addr`: it stops being
  // ours (no local or connected route, not delivered to, not a source) until the
  // configuration removes it; configured again, it is probed again. New tables at once.
  void MarkDuplicate6(uint16_t ifindex, const uint8_t* addr);
  // VRRP (vrrp.h): the virtual addresses of group (ifindex, vrid) become the interface's, with
  // local routes, answered for with the virtual MAC (empty: none, the group is not master).
  // Publishes new tables at once.
  void SetVrrpAddresses(uint32_t ifindex, uint8_t vrid, std::vector<uint32_t> addrs);
  // The VRID whose virtual address `addr` (network order) is on `ifindex` now, 0 if none.
  uint8_t VrrpOwner(uint32_t ifindex, uint32_t addr) const;
  // Changes whenever an applied batch added, changed or removed VRRP groups (or flushed them):
  // the service reads the groups again and reports their states.
  uint64_t vrrp_generation() const { return vrrp_generation_; }

 private:
  struct SaChange {
    enum class Kind { kAdd, kRemove, kReplace } kind;
    uint32_t spi;
    bool inbound;
    esp::SaPtr sa;  // kAdd / kReplace
    uint16_t ifindex;
    uint32_t reqid;
    int16_t worker = -1;  // kAdd / kReplace: the worker the message named; -1 = any
  };
  struct Candidate {
    ConfigState cfg;
    std::vector<SaChange> sas;
    bool sa_flush = false;
    // What the SA changes need from the SA table, checked before anything is applied.
    int64_t sa_live = 0;            // SAs installed once the batch is applied
    uint32_t sa_new_entries = 0;    // SAs added or replaced (each takes a new entry)
    uint32_t sa_new_inbound = 0;    // of which inbound (each takes a SAD hash position)
    int64_t sa_over_at = -1;        // the message that first took sa_live past the capacity
    uint32_t policies[2] = {0, 0};  // out, in (both families): how many once applied
    // Per SPD list, indexed out, in, out6, in6 (SpdIndex): policies added or removed there:
    // compile anew; and what was compiled (null: no policies that way).
    bool spd_dirty[4] = {false, false, false, false};
    std::shared_ptr<const SpdAcl> spd_acl[4];
    // The FIB: every prefix is decided again (interfaces, addresses, flushes), or only the
    // route prefixes the batch touched.
    bool fib_full = false;
    std::set<std::pair<uint32_t, uint8_t>> fib_touched;
    std::set<uint32_t> fib_interfaces;  // added without addresses: their routes decided again
    bool fib6_dirty = false;            // IPv6 routes or addresses changed: the FIB6 anew
    bool fw_changed = false;            // the firewall snapshot is rebuilt
    bool fw_flush = false;              // and every session goes
    bool vrrp_touched = false;          // VRRP groups added, changed or removed
    std::unique_ptr<FwTables> fw;
  };

  absl::Status Stage(const api::Message& m, Candidate& c);
  absl::Status StageInterface(const api::Message& m, Candidate& c);
  absl::Status StageSa(const api::Message& m, Candidate& c);
  absl::Status StageVrrp(const api::Message& m, Candidate& c);
  bool SaExists(const Candidate& c, uint32_t spi, bool inbound) const;
  // The worker an SA will run on once the candidate is applied, where that is known while
  // staging: the one its add named, or its owner if it is installed (an update keeps it);
  // kAnyWorker when the dataplane will choose, kNoSa when the candidate has no such SA.
  static constexpr int kAnyWorker = -1, kNoSa = -2;
  int CandidateWorker(const Candidate& c, uint32_t spi, bool inbound) const;
  // Fails only on an internal inconsistency (staging checked every table's room).
  absl::Status Commit(Candidate c, const BondSync::Plan& bonds);
  // `busy`: DPDK ports no interface may use (bonds being rebuilt and their members).
  Tables* BuildTables(const ConfigState& cfg, const std::set<uint16_t>& busy = {}) const;
  // Takes every port of `busy` away from the workers (tables without them, a grace period),
  // then rebuilds the bonds.
  absl::Status RebuildBonds(const BondSync::Plan& bonds, const std::set<uint16_t>& busy);
  // One direction's policies of one family in the SPD's order (the ACL's rule order), without
  // their SAs.
  static std::vector<PolicyEntry> OrderedPolicies(const ConfigState& cfg, api::Direction dir,
                                                  api::Family family = api::Family::kIpv4);
  void BuildSpd(const ConfigState& cfg, Tables& t) const;
  uint32_t PolicyMtu(const Tables& t, const SaEntry& sa) const;
  absl::Status SyncFib(const ConfigState& cfg, const Candidate& c);
  void SyncNeighbors(const ConfigState& cfg);
  // The worker a new SA goes to (docs/DESIGN.md, SA ownership).
  uint16_t PickOwner(bool inbound, uint16_t ifindex, uint32_t reqid) const;
  // IPv6: every prefix decided again (IPv6 tables are small; see docs/DESIGN.md, IPv6).
  absl::Status SyncFib6(const ConfigState& cfg);
  void SyncNeighbors6(const ConfigState& cfg);
  absl::Status StageAddress6(const api::Message& m, Candidate& c);
  absl::Status StageRoute6(const api::Message& m, Candidate& c);
  absl::Status StageNeighbor6(const api::Message& m, Candidate& c);

  Dataplane& dp_;
  BondSync bonds_;
  ConfigState state_;
  uint64_t applied_ = 0, failed_ = 0;
  std::unique_ptr<FwTables> fw_;
  FwParkedCounters fw_parked_;  // counter totals of rulesets between snapshots
  uint64_t fw_generation_ = 0;
  // The SPD's ACLs for state_'s policies (out, in, out6, in6), shared by the snapshots until a
  // batch changes policies.
  std::shared_ptr<const SpdAcl> spd_acl_[4];
  uint64_t spd_generation_ = 0;
  // VRRP groups that are master: (ifindex, vrid) -> their addresses (network order).
  std::map<std::pair<uint32_t, uint8_t>, std::vector<uint32_t>> vrrp_active_;
  uint64_t vrrp_generation_ = 0;
  bool fib_synced_ = false;  // a full SyncFib has run (the first batch always is one)
  bool fib6_synced_ = false;
  std::set<std::pair<uint32_t, std::array<uint8_t, 16>>> duplicates6_;  // MarkDuplicate6
};

}  // namespace portcullis::dp
