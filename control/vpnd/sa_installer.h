// Where vpnd puts the CHILD SAs IKE negotiates, behind one interface shaped like strongSwan's
// kernel_ipsec_t: vpnd (like charon's IKE SA code) says what goes up, changes and goes down,
// and does not know whether a dataplane holds the SAs (ChannelSaInstaller) or nothing does
// (LoggingSaInstaller, the kernel-socket mode, which only logs them).
//
// Unlike a kernel, the dataplane applies a batch of messages all or nothing and answers later.
// So the interface sits at CHILD SA granularity where a batch must stay whole: AddSa sends both
// SAs and the VTI binding together, DelSa takes the CHILD SA's policies and VTI binding with it
// (there is no separate del_policy: a policy outlives its SAs only as a trap, below), and the
// removals of one IKE event leave together at FlushRemovals. Outcomes come back later too: refused
// installs are collected for IKE, refused removals retried.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "dataplane/api/messages.h"
#include "ike/sa/child_sa.h"
#include "ike/sa/ike_config.h"

namespace portcullis::vpnd {

enum class SaDirection { kIn, kOut };

struct SaCounters {
  uint64_t bytes = 0;
  uint64_t packets = 0;
};

// Where a CHILD SA's SAs are, as `show` reports it: IKE may hold a CHILD SA that nothing
// carries (kernel-socket mode, an install in flight or refused).
enum class SaPlacement {
  kInstalled,     // the dataplane acknowledged them: they carry traffic
  kInstalling,    // sent, not acknowledged yet
  kNotInstalled,  // nothing holds them
};

// A CHILD SA (by inbound SPI) that could not be installed: IKE deletes it and creates it again.
struct InstallFailure {
  uint32_t spi_in = 0;
  std::string reason;
};

class SaInstaller {
 public:
  virtual ~SaInstaller() = default;

  // get_spi: a fresh inbound SPI for a CHILD SA being negotiated: random, never below 256, and
  // none an SA still installed uses.
  virtual absl::StatusOr<uint32_t> GetSpi() = 0;

  // add_sa: both SAs of a CHILD SA that came up. A route-based one (child.vti) is bound to its
  // VTI (vti_ifindex; 0 when that VTI is not configured) in the same batch; a policy-based one
  // with a VFP (vti_ifindex the VFP's) names it in its SAs and is selected by its policies. A
  // failure is logged and, when IKE must delete the CHILD SA, reported by TakeInstallFailures.
  virtual void AddSa(const ike::ChildSa& child, uint32_t vti_ifindex) = 0;
  // The CHILD SA sends from now on (it came up with ChildSa::outbound_active false, as the
  // responder of a rekey, or a colliding rekey of ours lost): its VTI is bound, or its outbound
  // policies pointed, to its outbound SA. Goes out before the removals of the same IKE event.
  virtual void InstallOutbound(const ike::ChildSa& child) = 0;
  // update_sa: the CHILD SA's outer endpoints changed (the peer's NAT mapping): the outbound SA
  // sends to the new ones.
  virtual void UpdateSa(const ike::ChildSa& child) = 0;
  // del_sa: the CHILD SA went down. Its SAs, its policies and the re-pointing of its VTI wait
  // for FlushRemovals, so the removals of one IKE event go together.
  virtual void DelSa(const ike::ChildSa& child) = 0;
  // add_policy: the protect policies of a policy-based CHILD SA already given to AddSa; they
  // go in once its SAs are in, never into a dataplane that refused the SAs.
  virtual void AddPolicy(const ike::ChildSa& child) = 0;
  // query_sa: the traffic counters of the SA with this SPI and direction, as last heard. NotFound
  // when there are none.
  virtual absl::StatusOr<SaCounters> QuerySa(uint32_t spi, SaDirection direction) const = 0;
  // Where the CHILD SA with this inbound SPI is installed, if anywhere.
  virtual SaPlacement Placement(uint32_t spi_in) const = 0;

  // Sends the removals DelSa collected, as one batch. Called at the end of each IKE event.
  virtual void FlushRemovals() = 0;
  // Retries the removals that were refused and are due.
  virtual void RetryRemovals() = 0;
  // The installs refused since the last call, for IKE (which must not hear of them inside its
  // own callbacks).
  virtual std::vector<InstallFailure> TakeInstallFailures() = 0;
  // The dataplane restarted and holds nothing: forget every SA, binding, removal and retry (vpnd
  // adds every CHILD SA again).
  virtual void ForgetAll() = 0;

  // Traps of policy-based tunnels (DPD action hold, close-action trap): `trapped(child)` says
  // whether a trap waits for the tunnel of that ChildConfig name (IkeManager::ChildTrapped).
  // When a trapped tunnel's last SA goes, its policies stay, the outbound ones pointing at no
  // SA: the dataplane drops the tunnel's traffic and raises acquires for it instead of routing
  // it in the clear. They go when the trap goes without an SA (FlushRemovals looks) and are
  // taken over by the tunnel's next SA. Without a query nothing is trapped.
  virtual void SetTrapQuery(std::function<bool(const std::string& child)> trapped) {
    (void)trapped;
  }
  // After ForgetAll and the CHILD SAs added again: the traps' policies into the new dataplane.
  virtual void RestoreTraps() {}
  // The policy-based tunnels of the configuration (each commit): a trapped one that has no SA
  // and no trap policies (none held at the moment its trap began, or vpnd restarted) gets them
  // from its configured selectors and reqid, so it never leaks in the clear.
  virtual void SetPolicyTunnels(const std::vector<ike::ChildConfig>& tunnels) { (void)tunnels; }
  // A trap may have begun (an IKE or CHILD SA went): FlushRemovals looks at the tunnels again.
  virtual void TrapsChanged() {}
  // Hitless restart: those trap policies for the restart's first batch (recorded as sent), for
  // the tunnels `trapped` names (the saved traps: IKE does not hold them back yet).
  virtual std::vector<dp::api::Message> ConfiguredTraps(
      const std::function<bool(const std::string& child)>& trapped) {
    (void)trapped;
    return {};
  }
  // Hitless restart: CHILD SAs resumed from before vpnd's restart whose SAs the dataplane still
  // holds (it keeps them when vpnd dies). They are recorded as installed, and the answer is
  // what selects them again, for the restart's first commit batch (which rebuilds interfaces
  // and policies, keeping the SAs): each VTI bound to its newest sending SA, the policy-based
  // ones' protect policies. `vti_of` gives a route-based CHILD SA's VTI ifindex (0: none).
  // An installer without a dataplane holds nothing and adopts nothing.
  virtual std::vector<dp::api::Message> Adopt(
      const std::vector<const ike::ChildSa*>& /*children*/,
      const std::function<uint32_t(const ike::ChildSa&)>& /*vti_of*/) {
    return {};
  }
};

// The SPI draw both installers share: random with charon's 0xc prefix (so always >= 256),
// drawn again while `in_use` says the SPI is taken.
absl::StatusOr<uint32_t> DrawChildSpi(const std::function<bool(uint32_t)>& in_use = nullptr);

}  // namespace portcullis::vpnd
