// The SA installer of the channel transport: installs and removes CHILD SAs in vpn-dataplane
// over the DataplaneLink, and keeps what the dataplane holds in step with IKE. A CHILD SA the
// dataplane refuses is reported for IKE to delete (and create again later); a removal it
// refuses is retried with backoff (1 s doubling up to 60 s), first as a whole, then one message
// at a time with "does not exist" counting as done; the CHILD SAs one IKE event removes go in one
// batch. A VTI is bound to the outbound SA of its newest CHILD SA: the install batch binds it,
// a removal batch re-points it to the newest remaining SA (or unbinds it) before deleting SAs,
// so the dataplane never points a VTI at a deleted SA. Policy-based tunnels get the same: the
// dataplane keys a policy by its selectors, so the policies of a rekeyed successor (the same
// selectors) update the existing ones to its outbound SA instead of being added, and a removal
// deletes a policy only when no other SA of the tunnel holds it, re-pointing it first if it
// pointed at the SA going. There is never a moment without an outbound policy and SA. A
// trapped policy-based tunnel's last SA leaves its policies behind, pointing at no SA
// (SetTrapQuery).
// Counters come from the dataplane's counter events.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "control/vpnd/dataplane_link.h"
#include "control/vpnd/sa_installer.h"
#include "control/vpnd/sa_messages.h"
#include "dataplane/api/messages.h"
#include "ike/sa/ike_log.h"

namespace portcullis::vpnd {

class ChannelSaInstaller : public SaInstaller {
 public:
  // `link` and `log` must outlive the installer, and the link is not polled once the installer
  // is gone (the installer reads its events).
  ChannelSaInstaller(DataplaneLink& link, DataplaneLink::Clock clock, ike::LogSink* log);
  ~ChannelSaInstaller() override;
  ChannelSaInstaller(const ChannelSaInstaller&) = delete;
  ChannelSaInstaller& operator=(const ChannelSaInstaller&) = delete;

  absl::StatusOr<uint32_t> GetSpi() override;
  void AddSa(const ike::ChildSa& child, uint32_t vti_ifindex) override;
  void UpdateSa(const ike::ChildSa& child) override;
  void InstallOutbound(const ike::ChildSa& child) override;
  void DelSa(const ike::ChildSa& child) override;
  void AddPolicy(const ike::ChildSa& child) override;
  absl::StatusOr<SaCounters> QuerySa(uint32_t spi, SaDirection direction) const override;
  SaPlacement Placement(uint32_t spi_in) const override;
  void FlushRemovals() override;
  void RetryRemovals() override;
  std::vector<InstallFailure> TakeInstallFailures() override;
  void ForgetAll() override;
  void SetTrapQuery(std::function<bool(const std::string& child)> trapped) override {
    trapped_ = std::move(trapped);
  }
  void RestoreTraps() override;
  void SetPolicyTunnels(const std::vector<ike::ChildConfig>& tunnels) override;
  void TrapsChanged() override { traps_changed_ = true; }
  std::vector<dp::api::Message> ConfiguredTraps(
      const std::function<bool(const std::string& child)>& trapped) override;
  // Policies kept as traps (pointing at no SA), of how many tunnels.
  size_t trap_policies() const;
  size_t trapped_tunnels() const { return traps_.size(); }
  std::vector<dp::api::Message> Adopt(
      const std::vector<const ike::ChildSa*>& children,
      const std::function<uint32_t(const ike::ChildSa&)>& vti_of) override;

  // CHILD SAs (by inbound SPI) the dataplane holds as far as vpnd knows, and removals it refused
  // that are to be retried.
  size_t installed_children() const { return installed_.size(); }
  size_t removals_to_retry() const { return retry_.size(); }
  // An inbound SPI the dataplane may hold: installed, being installed, or being removed (until
  // the removal is applied). GetSpi never hands these out.
  bool SpiInUse(uint32_t spi_in) const { return installed_.count(spi_in) > 0; }

 private:
  using Outcome = DataplaneLink::Outcome;
  // What a removal batch does to the SPD: policy key -> outbound SPI it now points at (0 for an
  // inbound policy), or nullopt when it is deleted.
  using SpdChanges = std::map<std::string, std::optional<uint32_t>>;
  // Policies AddPolicy asked for, sent once the SAs' install is acknowledged.
  struct PolicyAdd {
    absl::StatusOr<std::vector<dp::api::Message>> messages;
    std::string selectors;  // for the log
  };
  // What the dataplane holds for one CHILD SA (by inbound SPI).
  struct Installed {
    uint32_t spi_out = 0;
    uint32_t vti = 0;         // ifindex; 0 = policy-based
    uint32_t sa_ifindex = 0;  // what the SAs name: the VTI, a policy-based tunnel's VFP, or 0
    bool applied = false;     // the SAs' install was acknowledged
    bool policies = false;
    std::optional<PolicyAdd> policies_to_add;
    std::vector<dp::api::Message> policy_deletes;
    std::vector<std::string> policy_keys;  // PolicyKey of each of policy_deletes
    std::string conn;
    uint32_t unique_id = 0;
    uint64_t order = 0;  // install order: the newest SA of a VTI takes its binding
    // Its outbound SA may send (ChildSa::outbound_active); `order` counts from when it was
    // allowed to. The VTI and the policies follow the newest sending SA.
    bool sending = true;
    bool removing = false;
    // RFC 9611: ike::ChildSa::worker (0 = not in a group; w + 1 = worker w's SA of its VTI's
    // group, bound as that worker's member).
    uint8_t worker = 0;
    std::optional<SaCounters> counters_in, counters_out;  // as the dataplane last reported
  };
  struct Retry {
    absl::Time next;
    int attempts = 0;
  };
  void SendPolicies(uint32_t spi_in);
  // The removals DelSa collected, as one batch (FlushRemovals without ReleaseTraps: AddSa's,
  // whose own tunnel may be ending its trap).
  void SendQueuedRemovals();
  // Deletes the trap policies of tunnels no longer trapped that no SA of theirs took over.
  void ReleaseTraps();
  // Trap policies from the configuration for trapped policy-based tunnels with no SA and no
  // trap: recorded in traps_ and spd_, the messages returned (sent by the caller).
  std::vector<dp::api::Message> TrapsFromConfig(
      const std::function<bool(const std::string&)>& trapped, SpdChanges* added);
  void SendRemovals(const std::vector<uint32_t>& spis, const std::string& what);
  // What a removal batch does to the SPD: policy key -> outbound SPI it now points at (0 for an
  // inbound policy), or nullopt when it is deleted.

  std::vector<dp::api::Message> RemovalMessages(const std::vector<uint32_t>& spis,
                                                std::map<uint32_t, uint32_t>* bindings,
                                                SpdChanges* spd);
  // `before`: what spd_ held when the batch was built; a key changed since (a later batch went
  // ahead of this one's late ack) keeps its newer value.
  void ApplySpd(const SpdChanges& spd, const SpdChanges* before = nullptr);
  SpdChanges SpdNow(const SpdChanges& keys) const;
  // The SA a VTI or policy moves to when `gone` goes: the newest sending one among those
  // `holds` accepts, else (none sending) the newest one; nullptr if none.
  const Installed* NextSender(const Installed* gone,
                              const std::function<bool(const Installed&)>& holds) const;
  // The dataplane's key of a policy: direction and selectors.
  static std::string PolicyKey(const dp::api::PolicyBody& b);
  void RemovalDone(uint32_t spi_in, const std::string& how);
  // A removal the dataplane keeps refusing as a whole: each message alone, "does not exist"
  // counting as done.
  void RemoveOneByOne(uint32_t spi_in);
  void CountersHeard(const dp::api::SaCountersEvent& c);
  // The VTI bindings a removal batch set, once the dataplane applied them (0 = unbound).
  void ApplyBindings(const std::map<uint32_t, uint32_t>& bindings);
  // RFC 9611: each worker's member of the VTI's group: its newest sending SA for that worker
  // (SAs being removed left out); all 0 for a tunnel without a group.
  VtiMembers MembersOf(uint32_t vti) const;
  // What the VTI's binding names as its fallback when `e` (installed, sending) joins: `e`, or in
  // a group the current fallback while it is another worker's sending SA.
  uint32_t FallbackFor(uint32_t vti, const Installed& e) const;
  // When a refused removal is tried again: 1 s, doubling per attempt, at most 60 s.
  static absl::Duration RetryDelay(int attempts);
  void Log(const std::string& text, const std::string& conn = "", uint32_t id = 0,
           bool child = false);

  DataplaneLink& link_;
  DataplaneLink::Clock clock_;
  ike::LogSink* log_;
  // vti ifindex -> outbound SPI bound: as sent by installs, as applied by removals.
  std::map<uint32_t, uint32_t> vti_bindings_;
  // vti ifindex -> the members its binding names, as sent (absent: none).
  std::map<uint32_t, VtiMembers> vti_members_;
  // The protect policies the dataplane holds (as sent): key -> outbound SPI (0 when inbound).
  std::map<std::string, uint32_t> spd_;
  std::map<uint32_t, Installed> installed_;
  std::function<bool(const std::string&)> trapped_;
  // Trapped policy-based tunnels (ChildConfig name) -> their policies kept without an SA: key ->
  // the policy's delete message (as sent: the outbound ones with out_spi 0 now).
  std::map<std::string, std::map<std::string, dp::api::Message>> traps_;
  // SetPolicyTunnels: policy-based tunnel (ChildConfig name) -> its configured selectors as a
  // CHILD SA without SAs (reqid, selectors), from which PolicyMessages makes its trap.
  std::map<std::string, ike::ChildSa> policy_tunnels_;
  bool traps_changed_ = false;
  absl::Time trap_retry_at_ = absl::InfinitePast();  // after a refused batch of them
  int trap_retries_ = 0;
  bool restore_traps_ = false;                  // RestoreTraps' batch was not applied: sent again
  std::map<uint32_t, uint32_t> in_by_spi_out_;  // installed_'s keys by outbound SPI
  int observer_ = 0;                            // the link's token for CountersHeard
  uint64_t install_order_ = 0;
  std::vector<uint32_t> removals_;               // collected during the current IKE event
  std::map<uint32_t, Retry> retry_;              // refused removals
  std::vector<InstallFailure> failed_installs_;  // for IKE, outside its callbacks
};

}  // namespace portcullis::vpnd
