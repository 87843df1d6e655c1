// One EAL start-up for every dataplane fuzz target: no hugepages, no shared files, a file
// prefix of its own (several targets run at once in CI), the runtime directory removed at exit.
//
// The EAL pins its main lcore's thread to a CPU (`-l 0`: CPU 0). Two targets run side by side
// by `meson test` would then share CPU 0 and each fuzz at half speed while the other CPUs idle,
// so the thread gets back the CPUs it was allowed before rte_eal_init.
#pragma once

#include <rte_eal.h>
#include <sched.h>
#include <unistd.h>

#include <cstdlib>
#include <initializer_list>
#include <string>
#include <vector>

#include "drivers/ethdev/eal_runtime.h"

namespace portcullis::fuzz {

// `tag` names the file prefix (with the pid); `memory_mb` is the EAL's -m; `extra` more EAL
// arguments (vdevs). Aborts if the EAL does not start: no input could be run without it.
inline void InitFuzzEal(const char* tag, int memory_mb,
                        std::initializer_list<const char*> extra = {}) {
  cpu_set_t allowed;
  const bool have_allowed = sched_getaffinity(0, sizeof allowed, &allowed) == 0;
  const std::string prefix = std::string("--file-prefix=") + tag + std::to_string(getpid());
  const std::string memory = std::to_string(memory_mb);
  std::vector<const char*> argv = {
      "fuzz",        "--no-huge",           "-m",           memory.c_str(), "--no-pci",
      "--no-shconf", "--log-level=*:error", prefix.c_str(), "-l",           "0"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  if (rte_eal_init(static_cast<int>(argv.size()), const_cast<char**>(argv.data())) < 0) {
    std::abort();
  }
  portcullis::drivers::ethdev::CleanEalRuntimeDirAtExit();
  if (have_allowed) sched_setaffinity(0, sizeof allowed, &allowed);
}

}  // namespace portcullis::fuzz
