// What the dataplane must hold for a configuration (interfaces with the ifindexes vpnd
// assigns, their addresses, static routes including interface routes to VTIs), and the one
// batch that turns the running set into the desired one: deletes first (routes, addresses,
// interfaces), then adds and updates (interfaces, addresses, routes). The dataplane applies a
// batch all or nothing, so a commit either takes effect whole or not at all.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "control/config/model.h"
#include "dataplane/api/messages.h"

namespace portcullis::vpnd {

// Stable ifindexes by interface name for the life of the process (1, 2, ...), never reused:
// the dataplane's --max-interfaces bounds how many names one vpnd may have seen. Both ways are
// maps: the name of an IKE datagram's interface is looked up per datagram, among 10,000 VTIs.
class InterfaceIndexes {
 public:
  uint32_t Get(const std::string& name);
  std::optional<uint32_t> Find(const std::string& name) const;
  // The name an ifindex was given, if any.
  std::optional<std::string> Name(uint32_t ifindex) const;

 private:
  std::map<std::string, uint32_t> ids_;
  std::map<uint32_t, std::string> names_;
  uint32_t next_ = 1;
};

// Objects by key: "1 if <ifindex>", "2 addr <body>", "3 route <body>", "4 fw<N> ..." (the
// firewall, firewall_plan.h); the key order is the dependency order. The value is the kAdd
// message (kUpdate for the firewall's global object, which has no add).
using DataplaneObjects = std::map<std::string, dp::api::Message>;

class FirewallIds;
DataplaneObjects PlanDataplane(const config::Model& model, InterfaceIndexes& ifindexes,
                               FirewallIds& firewall_ids);

// The batch from `running` to `desired` (empty when they are equal). A changed object whose
// kind has no update is deleted (with the deletes) and added again (with the adds); the
// firewall's global object is only ever updated, back to the defaults when it goes.
std::vector<dp::api::Message> DiffBatch(const DataplaneObjects& running,
                                        const DataplaneObjects& desired);

dp::api::IpAddr ToChannelAddr(const uint8_t* bytes, int family);

}  // namespace portcullis::vpnd
