#include "control/vpnd/config_session.h"

#include <string.h>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "control/config/change_display.h"
#include "control/config/config_clone.h"
#include "control/config/config_compare.h"
#include "control/config/vyos_dialect.h"

namespace portcullis::vpnd {

namespace {

std::string Messages(const config::Diagnostics& diags, config::Diagnostic::Severity severity) {
  std::vector<std::string> lines;
  for (const config::Diagnostic& d : diags.Sorted()) {
    if (d.severity == severity) lines.push_back(d.ToString());
  }
  return lines.empty() ? "" : absl::StrJoin(lines, "\n") + "\n";
}

// VyOS `tunnel N local|remote prefix` is multi-valued, the canonical leaf holds one: a VyOS
// `set` of a second, different prefix would replace the first without a word (the loader
// refuses it in a file; a session applies one command at a time, so it asks the candidate).
std::string SecondVyosPrefix(const config::ConfigTree& candidate,
                             const std::vector<std::string>& vyos, const config::Command& cmd) {
  // security vpn ipsec site-to-site peer P tunnel N local|remote prefix V
  const std::vector<std::string>& w = cmd.words;
  if (vyos.empty() || vyos[0] != "vpn" || cmd.op != config::Command::Op::kSet || w.size() != 11 ||
      w[4] != "peer" || w[6] != "tunnel" || (w[8] != "local" && w[8] != "remote") ||
      w[9] != "prefix") {
    return "";
  }
  const config::ConfigNode* leaf = candidate.root().Find(
      {"security", "vpn", "ipsec", "site-to-site", "peer", w[5], "tunnel", w[7], w[8], "prefix"});
  if (leaf == nullptr || leaf->values().empty()) return "";
  const std::string& had = leaf->values()[0];
  auto any = [](const std::string& p) { return p == "0.0.0.0/0" || p == "::/0"; };
  if (had == w[10] || (any(had) && any(w[10]))) return "";
  return absl::StrCat("tunnel ", w[7], " already has ", w[8], " prefix ", had,
                      ": Portcullis takes one prefix per tunnel side; delete it first to replace "
                      "it, or put ",
                      w[10], " in a tunnel of its own (one tunnel per address family)\n");
}

}  // namespace

std::vector<std::string> CanonicalPath(const std::vector<std::string>& words) {
  if (words.empty() || words[0] != "vpn") return words;
  config::Command cmd{config::Command::Op::kDelete, words, {}};
  config::Diagnostics diags;
  config::VyosTranslator vyos;
  if (vyos.Translate(cmd, diags) == config::VyosTranslator::Result::kApply) return cmd.words;
  std::vector<std::string> out = {"security"};
  out.insert(out.end(), words.begin(), words.end());
  return out;
}

ConfigSession::ConfigSession(uint32_t number, std::string user,
                             std::shared_ptr<const config::ConfigTree> base,
                             uint64_t base_generation, absl::Time now)
    : number_(number),
      user_(std::move(user)),
      base_(std::move(base)),
      base_generation_(base_generation),
      candidate_(config::CloneTree(*base_)),
      last_used_(now) {}

absl::StatusOr<std::string> ConfigSession::Apply(config::Command::Op op,
                                                 const std::vector<std::string>& words) {
  config::Command cmd{op, words, {}};
  // The words may carry a pre-shared key: wiped, not just freed.
  absl::Cleanup wipe = [&] {
    for (std::string& w : cmd.words) explicit_bzero(w.data(), w.size());
  };
  config::Diagnostics diags;
  config::VyosTranslator vyos;
  switch (vyos.Translate(cmd, diags)) {
    case config::VyosTranslator::Result::kApply:
      break;
    case config::VyosTranslator::Result::kIgnored:
      (void)vyos.Finish(diags);  // the warning that says why
      return Messages(diags, config::Diagnostic::Severity::kWarning);
    case config::VyosTranslator::Result::kConsumed:
      // Multi-line VyOS constructs (forward-filter jump rules) are resolved over a whole file.
      (void)vyos.Finish(diags);
      if (diags.has_errors()) {
        return absl::InvalidArgumentError(
            Messages(diags, config::Diagnostic::Severity::kError) +
            "(VyOS filter jump rules span several lines: put them in a file and 'load' it)");
      }
      return std::string();
    case config::VyosTranslator::Result::kError:
      return absl::InvalidArgumentError(Messages(diags, config::Diagnostic::Severity::kError));
  }
  if (std::string e = SecondVyosPrefix(*candidate_, words, cmd); !e.empty()) {
    return absl::InvalidArgumentError(e);
  }
  if (!config::ApplyCommand(*candidate_, cmd, diags)) {
    return absl::InvalidArgumentError(Messages(diags, config::Diagnostic::Severity::kError));
  }
  if (op == config::Command::Op::kSet) {
    // A VyOS ike-group negotiates IKEv2 unless it says otherwise (the loader does the same at
    // the end of a file); a group that already has a version keeps it.
    for (config::Command& c : vyos.Finish(diags)) {
      if (c.words.size() == 7 && c.words[5] == "ike-version") {
        const config::ConfigNode* g =
            candidate_->root().Find({"security", "vpn", "ipsec", "ike-group", c.words[4]});
        if (g != nullptr && g->Has("ike-version")) continue;
      }
      config::ApplyCommand(*candidate_, c, diags);
    }
  }
  return Messages(diags, config::Diagnostic::Severity::kWarning);
}

absl::StatusOr<std::string> ConfigSession::Show(const std::vector<std::string>& path) const {
  return config::ShowChanges(*base_, *candidate_, CanonicalPath(path));
}

std::string ConfigSession::Compare() const {
  std::vector<config::ConfigChange> changes = config::CompareTrees(*base_, *candidate_);
  if (changes.empty()) return "No changes between working and active configurations\n";
  return config::RenderChanges(changes);
}

bool ConfigSession::changed() const {
  return !config::CompareTrees(*base_, *candidate_).empty();
}

void ConfigSession::Discard() {
  candidate_ = config::CloneTree(*base_);
}

void ConfigSession::Replace(std::unique_ptr<config::ConfigTree> candidate) {
  candidate_ = std::move(candidate);
}

void ConfigSession::Rebase(std::shared_ptr<const config::ConfigTree> base, uint64_t generation,
                           std::unique_ptr<config::ConfigTree> candidate) {
  base_ = std::move(base);
  base_generation_ = generation;
  if (candidate) candidate_ = std::move(candidate);
}

}  // namespace portcullis::vpnd
