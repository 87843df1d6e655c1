// vpnd's core, without I/O of its own: holds the running configuration, commits a new one
// (validate, map to IKE, one all-or-nothing dataplane batch, then the IKE peers), glues the IKE
// engine to the SA installer (CHILD SAs up, updated and down; their SPIs from its get-SPI),
// routes the dataplane's events (soft expiry and sequence exhaustion rekey the CHILD SA,
// counters feed `show`, acquires initiate), sends everything again when the dataplane
// restarted, and answers vpnctl's commands. main.cc wires it to sockets, signals, the channel
// (DataplaneLink) and the SA installer of the transport in use.
//
// Kept apart the way strongSwan keeps kernel_ipsec apart from the IKE SA: what happens to SAs
// in the dataplane (batches, acks, retries, VTI bindings) is the SaInstaller's business, and
// talking to the channel (acks, late acks, liveness) the DataplaneLink's; vpnd decides when.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "control/config/config_tree.h"
#include "control/config/model.h"
#include "control/vpnd/config_archive.h"
#include "control/vpnd/config_mapping.h"
#include "control/vpnd/config_sessions.h"
#include "control/vpnd/dataplane_link.h"
#include "control/vpnd/dataplane_plan.h"
#include "control/vpnd/dataplane_telemetry.h"
#include "control/vpnd/diagnose.h"
#include "control/vpnd/firewall_plan.h"
#include "control/vpnd/firewall_views.h"
#include "control/vpnd/log_sinks.h"
#include "control/vpnd/peer_failures.h"
#include "control/vpnd/resume_stats.h"
#include "control/vpnd/sa_installer.h"
#include "control/vpnd/syslog_sink.h"
#include "ike/sa/drop_log_limiter.h"
#include "ike/sa/ike_manager.h"

namespace portcullis::vpnd {

// The configuration model keeps PSKs as text; vpnd wipes its copies once it is done with them.
void WipeSecrets(config::Model& model);
struct ScopedModel {
  config::Model m;
  ScopedModel() = default;
  ScopedModel(const ScopedModel&) = delete;
  ScopedModel& operator=(const ScopedModel&) = delete;
  ~ScopedModel() { WipeSecrets(m); }
};

struct VpndDeps {
  ike::IkeManager::Clock clock;
  // Sends an IKE datagram when there is no dataplane (kernel transport).
  ike::IkeManager::Sender send;
  VpndLog* log = nullptr;  // required
  // The firewall's per-packet lines go to syslog through this, as "dataplane[PID]" (may be
  // null: then only vpnd's log has them).
  SyslogSink* dataplane_syslog = nullptr;
  ike::LogSink* keylog = nullptr;  // --debug-keylog
  // Hears every IKE and CHILD SA event after vpnd acted on it (--wireshark-keys); may be null.
  ike::IkeListener* observer = nullptr;
  // Channel transport: the dataplane (commits, punt/inject, events, restarts); null = kernel
  // transport.
  DataplaneLink* link = nullptr;
  // Where CHILD SAs go (ChannelSaInstaller or LoggingSaInstaller); required.
  SaInstaller* installer = nullptr;
  // The configuration archive's directory ("" = kept in memory only) and its size.
  std::string archive_dir;
  size_t commit_revisions = 20;
  ConfigSessions::Options sessions;
  // The dataplane's telemetry (`show interfaces`, `show dataplane drops`, `diagnose`); null
  // without a dataplane.
  DataplaneTelemetry* telemetry = nullptr;
  // RFC 9611: offer (and accept) a CHILD SA per dataplane worker for each route-based tunnel
  // when the dataplane runs more than one worker (its count read from the telemetry at every
  // commit and dataplane restart). vpnd's --per_worker_sas.
  bool per_worker_sas = true;
  // Kernel transport: the name of the interface a datagram arrived on, by its ifindex (the
  // dataplane's ifindexes are vpnd's own). Unset, `ike interface` drops every datagram of a
  // transport that does not say.
  std::function<std::string(uint32_t)> interface_name;
  // Hitless restart (channel transport): the file IKE's state is kept in, rewritten whenever it
  // changes and resumed from at the first commit ("" = none: the first commit flushes).
  std::string ike_state_path;
  // Whose state the file is (main: the dataplane channel's name): a file another vpnd wrote is
  // not resumed. Nor is one older than ike_state_max_age (vpnd rewrites it at least every
  // quarter of that while it runs, so an older one means vpnd was down that long, and the peers
  // have most likely given the SAs up).
  std::string ike_state_origin;
  absl::Duration ike_state_max_age = absl::Hours(1);
};

class Vpnd : public ike::IkeListener, public SessionHost {
 public:
  explicit Vpnd(VpndDeps deps);
  ~Vpnd() override;

  // Reads, validates and commits a file. On any error nothing changes and the error (every
  // diagnostic, or the dataplane's verdict) is returned. `via` names who asked, for the
  // configuration archive ("" = `load`). Warnings (nodes accepted and not enforced yet, weak
  // groups...) are logged, and added to `warnings` when given.
  absl::Status LoadFile(const std::string& path, const std::string& via = "",
                        std::vector<std::string>* warnings = nullptr);
  absl::Status Commit(const config::Model& model);
  // The same, for a model built from `tree`, which becomes the running configuration (what
  // configuration sessions start from and the archive keeps) once the commit completes.
  absl::Status Commit(const config::Model& model, std::shared_ptr<const config::ConfigTree> tree,
                      const std::string& via);

  // An IKE datagram from the kernel transport (the channel's punts arrive through Poll()).
  void HandleDatagram(const ike::Datagram& d);
  // IKE_SA_INIT keys computed on the crypto pool (IkeManager::crypto_fd() readable): their SAs
  // go on, and what they send goes out as after a datagram.
  void HandleCryptoResults();
  size_t CryptoResultBudget() const;
  // Firewall log lines written (FwLogEvents from the dataplane).
  uint64_t firewall_log_lines() const { return firewall_log_lines_; }
  // Commits (and starts, Resyncs) refused because their batch exceeded the channel's cap.
  uint64_t oversized_batches() const { return oversized_batches_; }
  // `clear firewall`'s baselines (what the ops handlers subtract).
  FwCounterBaselines& firewall_baselines() { return firewall_baselines_; }
  // IKE datagrams dropped because they came in on an interface `security vpn ike interface`
  // does not name.
  uint64_t ike_interface_drops() const { return ike_interface_drops_; }
  // What a Poll left waiting, so that the main loop knows how soon to poll again.
  enum class Backlog {
    kNone,         // nothing vpnd could take: the next timer or socket will do
    kMore,         // punted IKE beyond one Poll's share: poll again at once
    kInjectsBusy,  // punted IKE waits for inject buffers the dataplane is still sending
  };
  // IKE timers, dataplane events and punted IKE datagrams.
  Backlog Poll();

  // One vpnctl command; the text to print, or an error status with the message.
  absl::StatusOr<std::string> Command(const std::vector<std::string>& words);

  ike::IkeManager& ike() { return *ike_; }
  const SaInstaller& installer() const { return *deps_.installer; }
  const DataplaneObjects& running() const { return running_; }
  const std::string& config_path() const { return config_path_; }
  void set_config_path(const std::string& p) { config_path_ = p; }

  // SessionHost: what the configuration sessions see of vpnd.
  absl::Time Now() const override { return deps_.clock(); }
  std::shared_ptr<const config::ConfigTree> Running() const override { return running_tree_; }
  uint64_t RunningGeneration() const override { return running_generation_; }
  absl::StatusOr<std::string> CommitTree(std::shared_ptr<const config::ConfigTree> tree,
                                         const std::string& via) override;
  std::string ConfigPath() const override { return config_path_; }
  absl::StatusOr<std::string> RunOp(const std::vector<std::string>& words) override;
  void Log(const std::string& line) override { Log(ike::LogGroup::kCfg, line); }

  ConfigSessions& sessions() { return *sessions_; }
  const ConfigArchive& archive() const { return *archive_; }

  // IkeListener.
  void ChildUp(const ike::IkeSa& sa, const ike::ChildSa& child) override;
  void ChildDown(const ike::IkeSa& sa, const ike::ChildSa& child) override;
  void ChildUpdated(const ike::IkeSa& sa, const ike::ChildSa& child) override;
  void ChildOutbound(const ike::IkeSa& sa, const ike::ChildSa& child) override;
  void IkeUp(const ike::IkeSa& sa) override;
  void IkeDown(const ike::IkeSa& sa) override;
  bool ChildInPlace(const ike::ChildSa& c) const override;

  // Writes IKE's state to deps.ike_state_path if it changed since the last write (after every
  // event; a no-op until the first commit resumed or started over).
  void SaveIkeState();
  const ResumeStats& resume_stats() const { return resume_stats_; }

  // The configured peers, in configuration order (what the show views and metrics walk).
  std::vector<const ike::IkeSaConfig*> Peers() const;

  // VRRP (#17): each group's state as the dataplane last reported it, by (ifindex, vrid).
  struct VrrpStatus {
    dp::api::VrrpState state = dp::api::VrrpState::kInitialize;
    dp::api::VrrpReason reason = dp::api::VrrpReason::kStarted;
    uint32_t master_addr = 0;  // network order
    uint8_t master_priority = 0;
    absl::Time since;  // in this state
    uint64_t transitions = 0;
  };
  const std::map<std::pair<uint32_t, uint8_t>, VrrpStatus>& vrrp_status() const { return vrrp_; }
  const InterfaceIndexes& ifindexes() const { return ifindexes_; }
  const config::Model& model() const { return model_; }

 private:
  using Outcome = DataplaneLink::Outcome;
  // The removals the installer collected during one IKE event go as one batch.
  void FlushRemovals() { deps_.installer->FlushRemovals(); }
  // Refused installs reach IKE here, outside its callbacks.
  void ReportInstallFailures();
  void CompleteCommit(const config::Model& model, const IkeSetup& setup, DataplaneObjects desired,
                      std::shared_ptr<const config::ConfigTree> tree, const std::string& via);
  void Log(ike::LogGroup g, const std::string& text, const std::string& conn = "", uint32_t id = 0,
           bool child = false);
  void HandleEvent(const dp::api::Event& e);
  void LogFirewallPacket(const dp::api::FwLogEvent& e);
  absl::StatusOr<std::string> RunCommand(const std::vector<std::string>& words);
  void Resync();
  // Rekeys the next few of the CHILD SAs a resync left to rekey, paced in time.
  void RekeyAfterRestart();
  uint32_t VtiIfindex(const ike::ChildSa& c);
  void WarnNarrowedVti(const ike::IkeSa& sa, const ike::ChildSa& c);
  // `security vpn ike interface`: whether IKE may be received where `d` came in.
  bool IkeInterfaceAllowed(const ike::Datagram& d);
  void ReceiveIke(const ike::Datagram& d);
  Backlog PollPunts();
  // Hitless restart's write-ahead: saves IKE's state, then sends what IKE sent meanwhile.
  void ReleaseSends();
  void Inject(const ike::Datagram& d);
  // The restart's first commit: reads the saved IKE state and the dataplane's SAs back, adopts
  // the CHILD SAs whose SAs are still there (`extra` gets their VTI bindings and policies) and
  // removes the SAs nothing claims (`extra` too). Null: nothing to resume, flush everything.
  std::shared_ptr<std::vector<ike::IkeSaState>> PrepareResume(const IkeSetup& setup,
                                                              std::vector<dp::api::Message>* extra);
  // The policy-based tunnels a trap may hold (SaInstaller::SetPolicyTunnels).
  static std::vector<ike::ChildConfig> PolicyTunnels(const IkeSetup& setup);

  VpndDeps deps_;
  // IKE logs through this: it keeps each peer's last failure for `diagnose`.
  std::unique_ptr<PeerFailures> failures_;
  std::map<std::string, CounterSample> diagnose_samples_;
  std::unique_ptr<ike::IkeManager> ike_;
  config::Model model_;
  std::vector<std::shared_ptr<const ike::IkeSaConfig>> peers_;
  ReqidAllocator reqids_;
  // "reqid N" / "vti NAME" -> the (peer, tunnel) an acquire for it brings up.
  absl::flat_hash_map<std::string, std::vector<std::pair<std::string, std::string>>>
      acquire_targets_;
  InterfaceIndexes ifindexes_;
  // `notify ipsec` (Vyatta: MASTER restarts IPsec, BACKUP stops it): the peers IKE runs are
  // peers_ without those whose local-address is a virtual address of a notify-ipsec group that
  // is not master here (`held`: their keys). With the kernel transport nothing is held.
  std::vector<std::shared_ptr<const ike::IkeSaConfig>> IkePeers(std::set<std::string>* held) const;
  // What the notify-ipsec groups that own an IPv4 virtual address reported: master here if
  // any of them is, `unknown` if none is and one has not reported since the (re)start.
  struct VirtualAddress {
    bool master = false;
    bool unknown = false;
  };
  std::map<ike::Address, VirtualAddress> NotifyIpsecAddresses() const;
  void HandleVrrp(const dp::api::VrrpStateEvent& e);
  // After a dataplane restart, the restart rekeys of IKE SAs that run from a notify-ipsec
  // virtual address wait for their group's first report: MASTER queues them, anything else
  // drops them (the address is the other router's: IKE stops here).
  void ReleaseVrrpRestartRekeys();
  std::map<std::pair<uint32_t, uint8_t>, VrrpStatus> vrrp_;
  std::set<std::string> vrrp_held_;
  // A group not reported yet counts as master (the restart's commit, a restarted dataplane):
  // the IKE SAs it has stay until the dataplane says the group is not master here.
  bool vrrp_resuming_ = false;
  FirewallIds firewall_ids_;
  FwCounterBaselines firewall_baselines_;  // `clear firewall`
  DataplaneObjects running_;
  bool commit_pending_ = false;
  // A Resync whose batch the channel did not take (its ring stayed full) while the dataplane
  // lives: tried again from Poll at next_resync_, backing off up to 30 s.
  bool resync_needed_ = false;
  // CHILD SAs (by inbound SPI) to rekey after a dataplane restart, a few every 10 ms: 10,000
  // tunnels must not become 10,000 CREATE_CHILD_SAs in one loop round.
  std::deque<uint32_t> restart_rekeys_;
  // Those taken from the queue whose new SAs are not in yet: a rekey (ours, or one in flight at
  // the restart) may fail and leave the reinstalled SA carrying traffic; RekeyAfterRestart
  // follows each (inbound SPI, times rekeyed) until it is replaced or gone, for a while.
  struct FollowedRekey {
    uint32_t spi_in;
    int attempts;           // restart rekeys asked for so far
    absl::Time not_before;  // after a failed one: when to ask again
  };
  std::vector<FollowedRekey> restart_rekeys_followed_;
  static constexpr absl::Duration kRestartRekeyFollow = absl::Minutes(2);
  absl::Time restart_rekeys_until_ = absl::InfinitePast();
  // Those held for their VRRP group's report (ReleaseVrrpRestartRekeys): inbound SPI and the
  // IKE SA's local (virtual) address.
  std::vector<std::pair<uint32_t, ike::Address>> restart_rekeys_vrrp_;
  absl::Time next_restart_rekeys_ = absl::InfinitePast();
  absl::Time next_resync_ = absl::InfinitePast();
  absl::Duration resync_backoff_ = absl::Seconds(1);
  // The dataplane's worker count as last read (DataplaneWorkers); 1 until known.
  uint32_t dataplane_workers_ = 1;
  // Reads it from the telemetry (keeps the last value when it cannot).
  uint32_t DataplaneWorkers();
  // The first commit after attaching starts with a flush: a dataplane that outlived an earlier
  // vpnd still holds its interfaces, routes and SAs, which this vpnd neither knows nor can rekey.
  // Flush and the configuration go in one batch, so the dataplane switches over atomically.
  bool flush_before_commit_ = true;
  std::string config_path_;
  // The running configuration as a tree (the model above is built from it), and how many times
  // it changed: configuration sessions start from it and notice when it moved on.
  std::shared_ptr<const config::ConfigTree> running_tree_;
  uint64_t running_generation_ = 0;
  std::unique_ptr<ConfigArchive> archive_;
  std::unique_ptr<ConfigSessions> sessions_;
  std::set<std::string> ike_interfaces_;  // empty = every interface
  uint64_t ike_interface_drops_ = 0;
  uint64_t firewall_log_lines_ = 0;
  uint64_t oversized_batches_ = 0;
  ike::DropLogLimiter interface_drop_log_{"IKE datagrams from other interfaces dropped"};
  ike::DropLogLimiter inject_failure_log_{"failed injects"};
  size_t injects_seen_ = 0;  // InjectsInFlight at the last PollPunts
  // Hitless restart: the first commit has not resumed (or started over) yet, so the state file
  // is from the previous vpnd and must not be overwritten.
  bool resume_pending_ = true;
  bool resume_commit_pending_ = false;     // the restart's commit, resuming, is not applied yet
  std::vector<ike::Datagram> held_sends_;  // IKE's sends, until the state is saved
  uint64_t saved_fingerprint_ = 0;
  bool saved_once_ = false;
  absl::Time saved_at_ = absl::InfinitePast();
  ResumeStats resume_stats_;
  // The traps read from the state file, put back once the restart's commit set the peers.
  std::vector<ike::IkeTrap> resume_traps_;
};

}  // namespace portcullis::vpnd
