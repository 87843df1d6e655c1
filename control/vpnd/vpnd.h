// vpnd's core, without I/O of its own: holds the running configuration, commits a new one
// (validate, map to IKE, one all-or-nothing dataplane batch, then the IKE peers), installs and
// removes CHILD SAs in the dataplane as the IKE engine brings them up and down, reacts to
// dataplane events (soft expiry and sequence exhaustion rekey the CHILD SA, counters feed
// `show`), and answers vpnctl's commands. main.cc wires it to sockets, signals and the channel.
//
// IKE and the dataplane are kept in step: a CHILD SA the dataplane refuses is deleted in IKE
// (and created again later); a removal it refuses is retried; the CHILD SAs one IKE event
// removes go in one batch. A batch whose ack does not come within ack_timeout has an unknown
// outcome: vpnd stops waiting for acks (so a hung dataplane cannot stall IKE by 2 s per
// message) and settles the batch when its ack comes late, by sequence number.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "control/config/model.h"
#include "control/vpnd/config_mapping.h"
#include "control/vpnd/dataplane_plan.h"
#include "control/vpnd/log_sinks.h"
#include "dataplane/api/channel_client.h"
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
  VpndLog* log = nullptr;                       // required
  ike::LogSink* keylog = nullptr;               // --debug-keylog
  dp::api::ChannelClient* dataplane = nullptr;  // channel transport; null = kernel transport
  // Channel transport: attaches again after the dataplane restarted (a new segment); vpnd then
  // sends the configuration and every CHILD SA again.
  std::function<absl::StatusOr<dp::api::ChannelClient>()> reattach;
  absl::Duration ack_timeout = absl::Seconds(2);
};

class Vpnd : public ike::IkeListener {
 public:
  explicit Vpnd(VpndDeps deps);
  ~Vpnd() override;

  // Reads, validates and commits a file. On any error nothing changes and the error (every
  // diagnostic, or the dataplane's verdict) is returned.
  absl::Status LoadFile(const std::string& path);
  absl::Status Commit(const config::Model& model);

  void HandleDatagram(const ike::Datagram& d);
  // IKE timers, dataplane events and punted IKE datagrams.
  void Poll();

  // One vpnctl command; the text to print, or an error status with the message.
  absl::StatusOr<std::string> Command(const std::vector<std::string>& words);

  ike::IkeManager& ike() { return *ike_; }
  const DataplaneObjects& running() const { return running_; }
  // Batches sent whose ack has not come yet.
  size_t unacknowledged() const { return pending_.size(); }
  // CHILD SAs (by inbound SPI) the dataplane holds as far as vpnd knows, and removals it refused
  // that are to be retried.
  size_t installed_children() const { return installed_.size(); }
  size_t removals_to_retry() const { return retry_.size(); }
  // The channel in use (a re-attach replaces the first one); null with the kernel transport.
  dp::api::ChannelClient* dataplane() const { return deps_.dataplane; }
  const std::string& config_path() const { return config_path_; }
  void set_config_path(const std::string& p) { config_path_ = p; }

  // IkeListener.
  void ChildUp(const ike::IkeSa& sa, const ike::ChildSa& child) override;
  void ChildDown(const ike::IkeSa& sa, const ike::ChildSa& child) override;
  void ChildUpdated(const ike::IkeSa& sa, const ike::ChildSa& child) override;

 private:
  enum class Outcome {
    kApplied,  // acked OK
    kRefused,  // acked with the dataplane's refusal
    kUnknown,  // sent, ack not (yet) seen: the handler runs when it comes
    kNotSent,  // the channel did not take it
  };
  using AckHandler = std::function<void(Outcome, const absl::Status&)>;
  // Sends a batch (wiping it) and, unless `wait` is false or an earlier batch still lacks its
  // ack, waits up to ack_timeout for the ack. `on_ack` runs once the outcome is known: before
  // Submit returns, or when a late ack arrives.
  Outcome Submit(std::vector<dp::api::Message> batch, const std::string& what, bool wait,
                 AckHandler on_ack, absl::Status* status = nullptr);
  // A late ack (delivered by PollEvents: vpnd never waits while a batch is unacknowledged, so
  // nothing else takes it from the ring).
  void SettleAck(const dp::api::AckEvent& ack);

  // What the dataplane holds for one CHILD SA (by inbound SPI).
  struct Installed {
    uint32_t spi_out = 0;
    uint32_t vti = 0;  // ifindex; 0 = policy-based
    bool policies = false;
    std::vector<dp::api::Message> policy_deletes;
    std::string conn;
    uint32_t unique_id = 0;
    uint64_t order = 0;  // install order: the newest SA of a VTI takes its binding
    bool removing = false;
  };
  struct Retry {
    absl::Time next;
    int attempts = 0;
  };
  // Sends the removals ChildDown collected during one IKE event as one batch.
  void FlushRemovals();
  void SendRemovals(const std::vector<uint32_t>& spis, const std::string& what);
  std::vector<dp::api::Message> RemovalMessages(const std::vector<uint32_t>& spis,
                                                std::map<uint32_t, uint32_t>* bindings);
  void RemovalDone(uint32_t spi_in, const std::string& how);
  void RetryRemovals();
  // A removal the dataplane keeps refusing as a whole: each message alone, "does not exist"
  // counting as done.
  void RemoveOneByOne(uint32_t spi_in);
  void ReportInstallFailures();
  void CompleteCommit(const config::Model& model, const IkeSetup& setup, DataplaneObjects desired);
  void Log(ike::LogGroup g, const std::string& text, const std::string& conn = "", uint32_t id = 0,
           bool child = false);
  void HandleEvent(const dp::api::Event& e);
  absl::StatusOr<std::string> RunCommand(const std::vector<std::string>& words);
  void Resync();
  void CheckDataplane();
  std::vector<const ike::IkeSaConfig*> Peers() const;
  uint32_t VtiIfindex(const ike::ChildSa& c);

  VpndDeps deps_;
  std::unique_ptr<ike::IkeManager> ike_;
  config::Model model_;
  std::vector<std::shared_ptr<const ike::IkeSaConfig>> peers_;
  ReqidAllocator reqids_;
  InterfaceIndexes ifindexes_;
  DataplaneObjects running_;
  std::map<uint32_t, uint32_t> vti_bindings_;  // vti ifindex -> outbound SPI bound (acked)
  std::map<uint32_t, Installed> installed_;
  uint64_t install_order_ = 0;
  std::vector<uint32_t> removals_;   // collected during the current IKE event
  std::map<uint32_t, Retry> retry_;  // refused removals
  std::vector<std::pair<uint32_t, std::string>> failed_installs_;  // for IKE, outside callbacks
  struct Pending {
    std::string what;
    absl::Time sent;
    AckHandler on_ack;
  };
  std::map<uint64_t, Pending> pending_;  // by batch sequence number
  bool commit_pending_ = false;
  // The first commit after attaching starts with a flush: a dataplane that outlived an earlier
  // vpnd still holds its interfaces, routes and SAs, which this vpnd neither knows nor can rekey.
  // Flush and the configuration go in one batch, so the dataplane switches over atomically.
  bool flush_before_commit_ = true;
  uint64_t generation_ = 0;
  std::optional<dp::api::ChannelClient> reattached_;
  absl::Time next_reattach_ = absl::InfinitePast();
  bool dataplane_gone_ = false;
  std::string config_path_;
};

}  // namespace portcullis::vpnd
