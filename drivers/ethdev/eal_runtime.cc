#include "drivers/ethdev/eal_runtime.h"

#include <rte_eal.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace portcullis::drivers::ethdev {

namespace {
std::string g_dir;
bool g_cleaned = false;
}  // namespace

void CleanEalRuntimeDir() {
  if (g_cleaned) return;
  g_cleaned = true;
  if (g_dir.empty()) g_dir = rte_eal_get_runtime_dir();
  rte_eal_cleanup();
  std::error_code ec;
  if (!g_dir.empty() && g_dir.find("/dpdk/") != std::string::npos)
    std::filesystem::remove_all(g_dir, ec);
}

void CleanEalRuntimeDirAtExit() {
  g_dir = rte_eal_get_runtime_dir();
  std::atexit([] { CleanEalRuntimeDir(); });
}

}  // namespace portcullis::drivers::ethdev
