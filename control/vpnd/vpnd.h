// vpnd's core, without I/O of its own: holds the running configuration, commits a new one
// (validate, map to IKE, one all-or-nothing dataplane batch, then the IKE peers), installs and
// removes CHILD SAs in the dataplane as the IKE engine brings them up and down, reacts to
// dataplane events (soft expiry and sequence exhaustion rekey the CHILD SA, counters feed
// `show`), and answers vpnctl's commands. main.cc wires it to sockets, signals and the channel.
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
#include "ike/ike_manager.h"

namespace portcullis::vpnd {

struct VpndDeps {
  ike::IkeManager::Clock clock;
  // Sends an IKE datagram when there is no dataplane (kernel transport).
  ike::IkeManager::Sender send;
  VpndLog* log = nullptr;                       // required
  ike::LogSink* keylog = nullptr;               // --debug-keylog
  channel::ChannelClient* dataplane = nullptr;  // channel transport; null = kernel transport
  // Channel transport: attaches again after the dataplane restarted (a new segment); vpnd then
  // sends the configuration and every CHILD SA again.
  std::function<absl::StatusOr<channel::ChannelClient>()> reattach;
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
  const std::string& config_path() const { return config_path_; }
  void set_config_path(const std::string& p) { config_path_ = p; }

  // IkeListener.
  void ChildUp(const ike::IkeSa& sa, const ike::ChildSa& child) override;
  void ChildDown(const ike::IkeSa& sa, const ike::ChildSa& child) override;

 private:
  absl::Status Apply(std::vector<channel::Message> batch, const std::string& what);
  void Log(ike::LogGroup g, const std::string& text, const std::string& conn = "", uint32_t id = 0,
           bool child = false);
  void HandleEvent(const channel::Event& e);
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
  std::map<uint32_t, uint32_t> vti_bindings_;  // vti ifindex -> outbound SPI bound
  uint64_t generation_ = 0;
  std::optional<channel::ChannelClient> reattached_;
  absl::Time next_reattach_ = absl::InfinitePast();
  bool dataplane_gone_ = false;
  std::string config_path_;
};

}  // namespace portcullis::vpnd
