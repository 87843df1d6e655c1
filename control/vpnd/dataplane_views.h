// The views of the dataplane itself, read from its telemetry (dataplane_telemetry.h):
// `show interfaces [dataplane|bonding|vti|vfp]` in the Vyatta 5600 layout (interface, its
// addresses, state/link, description) and `show dataplane drops` (the named drop counters, in
// total and per interface). Without a dataplane (kernel-socket mode) there is nothing to read:
// the handlers say so.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "control/config/model.h"
#include "control/vpnd/dataplane_telemetry.h"

namespace portcullis::vpnd {

struct InterfaceRow {
  std::string name;
  std::string kind;  // port | bond | vif | vti | vfp | loopback (the dataplane's)
  std::vector<std::string> addresses;
  bool up = false;
  std::string description;  // from the configuration
  uint64_t rx_packets = 0, tx_packets = 0;
};

// `kind_word`: "" (all), "dataplane", "bonding", "vti" or "vfp"; bonding includes a bond's vifs.
absl::StatusOr<std::vector<InterfaceRow>> GatherInterfaces(DataplaneTelemetry& t,
                                                           const config::Model* model,
                                                           const std::string& kind_word);
std::string InterfacesText(const std::vector<InterfaceRow>& rows);
std::string InterfacesJson(const std::vector<InterfaceRow>& rows);

struct DropRow {
  std::string interface;  // "" = the dataplane's total
  std::string reason;     // drop_reason.h's name
  uint64_t packets = 0;
};

absl::StatusOr<std::vector<DropRow>> GatherDrops(DataplaneTelemetry& t);
std::string DropsText(const std::vector<DropRow>& rows);
std::string DropsJson(const std::vector<DropRow>& rows);

}  // namespace portcullis::vpnd
