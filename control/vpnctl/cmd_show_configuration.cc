#include <cstdio>

#include "control/config/config_display.h"
#include "control/config/config_loader.h"
#include "control/vpnctl/commands.h"

namespace portcullis::vpnctl {

int CmdShowConfiguration(const std::vector<std::string>& args, const std::string& file,
                         const std::string& dialect, bool with_defaults) {
  config::DisplayOptions opts;
  for (const std::string& a : args) {
    if (a == "commands") {
      opts.commands = true;
    } else {
      std::fprintf(stderr, "show configuration: unknown argument '%s'\n", a.c_str());
      return 2;
    }
  }
  if (dialect == "vyos") {
    opts.dialect = config::Dialect::kVyos;
  } else if (dialect != "vyatta") {
    std::fprintf(stderr, "--dialect must be vyatta or vyos\n");
    return 2;
  }
  opts.with_defaults = with_defaults;
  if (file.empty()) {
    // Until vpnd serves the running configuration, show needs a file.
    std::fprintf(stderr, "show configuration: --file FILE is required (no running vpnd yet)\n");
    return 2;
  }
  auto loaded = config::LoadConfigFile(file);
  if (!loaded.ok()) {
    std::fprintf(stderr, "%s\n", std::string(loaded.status().message()).c_str());
    return 1;
  }
  if (!loaded->ok()) {
    for (const auto& d : loaded->diags.Sorted())
      if (d.severity == config::Diagnostic::Severity::kError)
        std::fprintf(stderr, "%s\n", d.ToString().c_str());
    std::fprintf(stderr, "%s: not shown: the configuration has errors\n", file.c_str());
    return 1;
  }
  std::fputs(config::ShowConfiguration(loaded->tree, opts).c_str(), stdout);
  return 0;
}

}  // namespace portcullis::vpnctl
