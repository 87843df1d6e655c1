#include <cstdio>

#include "absl/strings/str_cat.h"
#include "control/config/config_loader.h"
#include "control/config/model.h"
#include "control/config/pair_check.h"
#include "control/vpnctl/commands.h"

namespace portcullis::vpnctl {

namespace {

using config::Diagnostic;

// Prints the file's diagnostics; returns false when it could not be read at all.
bool Report(const std::string& file, const absl::StatusOr<config::LoadedConfig>& loaded) {
  if (!loaded.ok()) {
    std::printf("%s\n", std::string(loaded.status().message()).c_str());
    return false;
  }
  int warnings = 0;
  for (const Diagnostic& d : loaded->diags.Sorted()) {
    std::printf("%s\n", d.ToString().c_str());
    warnings += d.severity == Diagnostic::Severity::kWarning;
  }
  int errors = loaded->diags.error_count();
  if (errors == 0) {
    std::printf(
        "%s: OK%s\n", file.c_str(),
        warnings ? absl::StrCat(" (", warnings, warnings == 1 ? " warning)" : " warnings)").c_str()
                 : "");
  } else {
    std::printf("%s: %d error%s\n", file.c_str(), errors, errors == 1 ? "" : "s");
  }
  return true;
}

}  // namespace

int CmdCheck(const std::vector<std::string>& files, bool pair) {
  if (files.empty() || (pair && files.size() != 2)) {
    std::fprintf(stderr, pair ? "usage: vpnctl check --pair A.conf B.conf\n"
                              : "usage: vpnctl check FILE...\n");
    return 2;
  }
  bool all_ok = true;
  std::vector<absl::StatusOr<config::LoadedConfig>> loaded;
  for (const std::string& f : files) {
    loaded.push_back(config::LoadConfigFile(f));
    if (!Report(f, loaded.back()) || !loaded.back()->ok()) all_ok = false;
  }
  if (!pair) return all_ok ? 0 : 1;
  if (!loaded[0].ok() || !loaded[1].ok()) return 1;

  config::Model a = config::BuildModel(loaded[0]->tree);
  config::Model b = config::BuildModel(loaded[1]->tree);
  config::PairReport report = config::CheckPair(files[0], a, files[1], b);
  for (const std::string& p : report.pairs) std::printf("pair: %s\n", p.c_str());
  for (const auto& m : report.mismatches)
    std::printf("mismatch [%s]: %s\n", m.check.c_str(), m.message.c_str());
  if (report.ok()) {
    std::printf("pair matches: %d checks passed\n", report.checks);
  } else {
    std::printf("pair does not match: %zu mismatch%s\n", report.mismatches.size(),
                report.mismatches.size() == 1 ? "" : "es");
  }
  return report.ok() && all_ok ? 0 : 1;
}

}  // namespace portcullis::vpnctl
