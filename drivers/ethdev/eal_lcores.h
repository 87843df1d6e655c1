// The lcore arguments of an EAL command line, read before rte_eal_init (net_af_packet needs the
// number of workers for its queue pairs when its vdev argument is built), and generated when
// the operator asks for a number of workers instead of writing an lcore map.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace portcullis::drivers::ethdev {

// How many lcores "-l LIST", "--lcores MAP" or "-c MASK" in eal name (0 when none is given).
// LIST: "0,1", "0-3", "0-1,4"; MAP: "0@0,1@1,2@0", "(0-2)@(0,1)", "0,1@2"; MASK: hex.
absl::StatusOr<unsigned> CountEalLcores(const std::vector<std::string>& eal);

// "--lcores" value for a main lcore and `workers` worker lcores spread over the CPUs this
// process may run on (several lcores share a CPU when there are fewer CPUs than lcores).
std::string LcoreMapForWorkers(unsigned workers, const std::vector<int>& cpus);

// The CPUs in this process's affinity mask.
std::vector<int> AllowedCpus();

}  // namespace portcullis::drivers::ethdev
