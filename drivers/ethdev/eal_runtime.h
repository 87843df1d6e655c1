// The EAL leaves a runtime directory (/var/run/dpdk/<file-prefix>) behind, even with
// --no-shconf. Short-lived programs (tests, tools, benchmarks) and the dataplane on shutdown
// remove theirs, so nothing accumulates.
#pragma once

namespace portcullis::drivers::ethdev {

// Call once after rte_eal_init: at exit, rte_eal_cleanup() and the directory removed.
void CleanEalRuntimeDirAtExit();

// Does it now (the dataplane's shutdown path).
void CleanEalRuntimeDir();

}  // namespace portcullis::drivers::ethdev
