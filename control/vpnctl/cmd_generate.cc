// vpnctl generate vpn peer-config X [format vyatta|vyos|swanctl] --file OURS.conf: the other
// end's configuration written offline from a file (with a running vpnd, the same command goes
// to vpnd and is written from its running configuration).
#include <cstdio>
#include <string>

#include "control/config/config_loader.h"
#include "control/config/peer_config_writer.h"
#include "control/vpnctl/commands.h"

namespace portcullis::vpnctl {

int CmdGenerateOffline(const ops::OpRequest& request, const std::string& file) {
  absl::StatusOr<config::LoadedConfig> loaded = config::LoadConfigFile(file);
  if (!loaded.ok()) {
    std::fprintf(stderr, "vpnctl: %s\n", std::string(loaded.status().message()).c_str());
    return 1;
  }
  if (!loaded->ok()) {
    for (const config::Diagnostic& d : loaded->diags.Sorted()) {
      if (d.severity == config::Diagnostic::Severity::kError) {
        std::fprintf(stderr, "%s\n", d.ToString().c_str());
      }
    }
    std::fprintf(stderr, "vpnctl: %s has errors: fix them first\n", file.c_str());
    return 1;
  }
  const ops::OpArgs& a = request.args;
  config::PeerConfigFormat format = a.Has("vyos")      ? config::PeerConfigFormat::kVyos
                                    : a.Has("swanctl") ? config::PeerConfigFormat::kSwanctl
                                                       : config::PeerConfigFormat::kVyatta;
  if (a.Has("format") && !a.Has("vyatta") && !a.Has("vyos") && !a.Has("swanctl")) {
    std::fputs("vpnctl: format needs one of vyatta, vyos, swanctl\n", stderr);
    return 2;
  }
  config::Model model = config::BuildModel(loaded->tree);
  absl::StatusOr<std::string> out = config::GeneratePeerConfig(model, a.peer, format);
  if (!out.ok()) {
    std::fprintf(stderr, "vpnctl: %s\n", std::string(out.status().message()).c_str());
    return 1;
  }
  std::fputs(out->c_str(), stdout);
  return 0;
}

}  // namespace portcullis::vpnctl
