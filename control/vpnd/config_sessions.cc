#include "control/vpnd/config_sessions.h"

#include <sys/random.h>

#include <cstdio>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "control/config/commit_rules.h"
#include "control/config/config_clone.h"
#include "control/config/config_compare.h"
#include "control/config/config_loader.h"
#include "control/ops/config_mode_commands.h"
#include "control/vpnd/config_file.h"
#include "control/vpnd/control_protocol.h"
#include "control/vpnd/session_completion.h"

namespace portcullis::vpnd {

namespace {

using config::Command;

constexpr char kChangedElsewhere[] =
    "configuration changed by another session; compare and commit again";

std::string NewToken() {
  uint8_t b[12];
  if (getrandom(b, sizeof b, 0) != sizeof b) {
    // Unpredictability only keeps one vpnctl from typing into another's session by accident;
    // the socket is root's alone.
    for (uint8_t& x : b) x = static_cast<uint8_t>(std::rand());
  }
  std::string out;
  for (uint8_t x : b) absl::StrAppendFormat(&out, "%02x", x);
  return out;
}

std::string Joined(const std::vector<config::ConfigChange>& changes) {
  std::vector<std::string> paths;
  for (const auto& c : changes) paths.push_back(absl::StrJoin(c.NodePath(), " "));
  return absl::StrJoin(paths, "\n  ");
}

bool SameChange(const config::ConfigChange& a, const config::ConfigChange& b) {
  if (a.op != b.op || a.words.size() != b.words.size()) return false;
  for (size_t i = 0; i < a.words.size(); ++i) {
    if (a.words[i].text != b.words[i].text) return false;
  }
  return true;
}

std::string ErrorsOf(const config::Diagnostics& diags, config::Diagnostic::Severity sev) {
  std::string out;
  for (const config::Diagnostic& d : diags.Sorted()) {
    if (d.severity == sev) absl::StrAppend(&out, d.ToString(), "\n");
  }
  return out;
}

std::string Clock(absl::Time t) {
  return absl::FormatTime("%H:%M:%S", t, absl::LocalTimeZone());
}

}  // namespace

ConfigSessions::ConfigSessions(SessionHost& host, ConfigArchive* archive, Options options)
    : host_(host), archive_(archive), options_(options) {}

bool ConfigSessions::IsSessionRequest(const std::vector<std::string>& words) {
  return !words.empty() && (words[0] == kRequestConfigure || words[0] == kRequestSession);
}

std::string ConfigSessions::Who(const ConfigSession& s) const {
  return absl::StrCat("configuration session ", s.number(), " (", s.user(), ")");
}

absl::StatusOr<std::string> ConfigSessions::Handle(const std::vector<std::string>& words) {
  if (words.empty()) return absl::InvalidArgumentError("empty request");
  if (words[0] == kRequestConfigure) return Open(words);
  if (words.size() < 3)
    return absl::InvalidArgumentError("session: expected a token and a command");
  auto it = sessions_.find(words[1]);
  if (it == sessions_.end()) {
    return absl::NotFoundError(
        "this configuration session no longer exists (vpnd restarted, or it was idle too long); "
        "its uncommitted changes are lost: run 'vpnctl configure' again");
  }
  ConfigSession& s = *it->second;
  s.Touch(host_.Now());
  return Dispatch(words[1], s, {words.begin() + 2, words.end()});
}

absl::StatusOr<std::string> ConfigSessions::Open(const std::vector<std::string>& words) {
  if (sessions_.size() >= options_.max_sessions) Tick();
  if (sessions_.size() >= options_.max_sessions) {
    return absl::ResourceExhaustedError(absl::StrCat("too many configuration sessions (",
                                                     options_.max_sessions, "): exit one first"));
  }
  std::string user = words.size() > 1 && !words[1].empty() ? words[1] : "unknown";
  std::string token = NewToken();
  auto s = std::make_unique<ConfigSession>(next_number_++, user, host_.Running(),
                                           host_.RunningGeneration(), host_.Now());
  host_.Log(absl::StrCat(Who(*s), " opened"));
  std::string reply = absl::StrCat(token, " ", s->number(), "\n");
  sessions_[token] = std::move(s);
  return reply;
}

void ConfigSessions::FollowRunning(ConfigSession& s) {
  if (s.base_generation() == host_.RunningGeneration() || s.changed()) return;
  std::shared_ptr<const config::ConfigTree> running = host_.Running();
  s.Rebase(running, host_.RunningGeneration(), config::CloneTree(*running));
}

absl::StatusOr<std::string> ConfigSessions::Merge(ConfigSession& s) {
  std::shared_ptr<const config::ConfigTree> running = host_.Running();
  std::vector<config::ConfigChange> mine = config::CompareTrees(*s.base(), s.candidate());
  std::vector<config::ConfigChange> theirs = config::CompareTrees(*s.base(), *running);
  std::vector<config::ConfigChange> both;
  for (const auto& m : mine) {
    for (const auto& t : theirs) {
      if (config::Overlaps(m, t) && !SameChange(m, t)) {
        both.push_back(m);
        break;
      }
    }
  }
  // This session's changes on top of the new running configuration; where both changed a
  // node, this session's change is the one applied (and the commit refused, to be looked at).
  std::unique_ptr<config::ConfigTree> merged = config::CloneTree(*running);
  config::Diagnostics ignored;  // a delete of what the other session already deleted
  for (const auto& m : mine) config::ApplyCommand(*merged, config::ToCommand(m), ignored);
  s.Rebase(running, host_.RunningGeneration(), std::move(merged));
  if (!both.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat(kChangedElsewhere, "\n  changed by both:\n  ", Joined(both),
                     "\nthis session's changes are now applied to the new running configuration"));
  }
  return absl::StrCat("merged with changes committed by another session meanwhile (", theirs.size(),
                      theirs.size() == 1 ? " change" : " changes",
                      ", none to the nodes this session changed)\n");
}

absl::StatusOr<std::string> ConfigSessions::Commit(ConfigSession& s, const std::string& via,
                                                   std::optional<int> confirm_minutes) {
  if (pending_) {
    return absl::FailedPreconditionError(
        absl::StrCat("a commit-confirm by ", pending_->user, " is pending (rolled back at ",
                     Clock(pending_->deadline), "): 'confirm' it first"));
  }
  FollowRunning(s);
  std::string out;
  if (s.base_generation() != host_.RunningGeneration()) {
    absl::StatusOr<std::string> merged = Merge(s);
    if (!merged.ok()) return merged.status();
    out += *merged;
  }
  if (!s.changed()) return out + "No configuration changes to commit\n";
  config::Diagnostics diags;
  config::ValidateConfig(s.candidate(), diags);
  if (diags.has_errors()) {
    return absl::InvalidArgumentError(absl::StrCat(
        ErrorsOf(diags, config::Diagnostic::Severity::kError), "Commit failed: ",
        diags.error_count(), diags.error_count() == 1 ? " error" : " errors", ", nothing changed"));
  }
  out += ErrorsOf(diags, config::Diagnostic::Severity::kWarning);
  std::shared_ptr<const config::ConfigTree> tree = config::CloneTree(s.candidate());
  std::shared_ptr<const config::ConfigTree> previous = host_.Running();
  absl::StatusOr<std::string> impact = host_.CommitTree(tree, via);
  if (!impact.ok()) {
    return absl::Status(impact.status().code(),
                        absl::StrCat("Commit failed: ", impact.status().message()));
  }
  s.Rebase(tree, host_.RunningGeneration(), nullptr);
  out += *impact;
  if (confirm_minutes) {
    pending_ = PendingConfirm{previous, host_.Now() + options_.confirm_minute * *confirm_minutes,
                              s.number(), s.user()};
    absl::StrAppend(&out, "commit confirm will be automatically rolled back in ", *confirm_minutes,
                    *confirm_minutes == 1 ? " minute" : " minutes", " (at ",
                    Clock(pending_->deadline), ") unless confirmed\n");
  }
  host_.Log(absl::StrCat(Who(s), ": ", confirm_minutes ? "commit-confirm" : "commit", " done"));
  return out;
}

absl::StatusOr<std::string> ConfigSessions::Rollback(ConfigSession& s,
                                                     const std::vector<std::string>& args) {
  size_t n = 0;
  if (args.size() != 1 || !absl::SimpleAtoi(args[0], &n)) {
    return absl::InvalidArgumentError("usage: rollback <N> (revisions: 'run show system commit')");
  }
  if (archive_ == nullptr) return absl::UnavailableError("no configuration archive");
  FollowRunning(s);
  if (s.changed()) {
    return absl::FailedPreconditionError(
        "Cannot rollback: the candidate has uncommitted changes; commit or discard them first");
  }
  if (n == 0) return std::string("Revision 0 is the running configuration: nothing to do\n");
  absl::StatusOr<std::unique_ptr<config::ConfigTree>> tree = archive_->Read(n);
  if (!tree.ok()) return tree.status();
  s.Replace(*std::move(tree));
  absl::StatusOr<std::string> r =
      Commit(s, absl::StrCat(s.user(), " via rollback ", n, " (session ", s.number(), ")"), {});
  if (!r.ok()) s.Discard();  // nothing half-applies: the candidate is the running one again
  return r;
}

absl::StatusOr<std::string> ConfigSessions::Save(ConfigSession& s,
                                                 const std::vector<std::string>& args) {
  if (args.size() > 1) return absl::InvalidArgumentError("usage: save [<file>]");
  std::string file = args.empty() ? host_.ConfigPath() : args[0];
  if (file.empty() || file[0] != '/') {
    return absl::InvalidArgumentError("save: the file must be named by an absolute path");
  }
  std::string header =
      absl::StrCat("# saved by ", s.user(), " (configuration session ", s.number(), ") at ",
                   absl::FormatTime("%Y-%m-%d %H:%M:%S", host_.Now(), absl::LocalTimeZone()), "\n");
  absl::Status st = WriteConfigFile(file, *host_.Running(), header);
  if (!st.ok()) return st;
  host_.Log(absl::StrCat(Who(s), ": running configuration saved to ", file));
  std::string out = absl::StrCat("Saving configuration to '", file, "'...\nDone\n");
  if (s.changed()) out += "Warning: you have uncommitted changes that will not be saved\n";
  return out;
}

absl::StatusOr<std::string> ConfigSessions::Load(ConfigSession& s,
                                                 const std::vector<std::string>& args) {
  if (args.size() != 1) return absl::InvalidArgumentError("usage: load <file>");
  if (args[0].empty() || args[0][0] != '/') {
    return absl::InvalidArgumentError("load: the file must be named by an absolute path");
  }
  absl::StatusOr<config::LoadedConfig> loaded = config::LoadConfigFile(args[0]);
  if (!loaded.ok()) return loaded.status();
  if (!loaded->ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        ErrorsOf(loaded->diags, config::Diagnostic::Severity::kError),
        "Load failed: ", loaded->diags.error_count(),
        loaded->diags.error_count() == 1 ? " error" : " errors", ", the candidate is unchanged"));
  }
  s.Replace(config::CloneTree(loaded->tree));
  return absl::StrCat(ErrorsOf(loaded->diags, config::Diagnostic::Severity::kWarning),
                      "Loading configuration from '", args[0],
                      "'...\nLoad complete. Use 'commit' to make changes effective.\n");
}

absl::StatusOr<std::string> ConfigSessions::Dispatch(const std::string& token, ConfigSession& s,
                                                     const std::vector<std::string>& args) {
  const std::string& verb = args[0];
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (verb == kSessionComplete) {
    FollowRunning(s);
    return EncodeCompletion(CompleteLine(s.candidate(), rest.empty() ? "" : rest[0]));
  }
  if (verb == kSessionChanged) {
    FollowRunning(s);
    return std::string(s.changed() ? "changed\n" : "unchanged\n");
  }
  if (ops::FindConfigModeCommand(verb) == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown configuration command '", verb, "' (press ? for the list)"));
  }
  if (verb == "set" || verb == "delete") {
    if (rest.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("'", verb, "' needs a configuration path"));
    }
    FollowRunning(s);
    return s.Apply(verb == "set" ? Command::Op::kSet : Command::Op::kDelete, rest);
  }
  if (verb == "show") {
    FollowRunning(s);
    return s.Show(rest);
  }
  if (verb == "compare") {
    FollowRunning(s);
    std::string note;
    if (s.base_generation() != host_.RunningGeneration()) {
      note =
          "# the running configuration changed since this session's last commit: 'commit' "
          "merges, or refuses where both changed the same node\n";
    }
    return note + s.Compare();
  }
  if (verb == "discard") {
    bool had = s.changed();
    s.Discard();
    FollowRunning(s);
    return std::string(had ? "Changes have been discarded\n" : "No changes have been discarded\n");
  }
  if (verb == "commit") {
    if (!rest.empty()) return absl::InvalidArgumentError("'commit' takes no arguments");
    return Commit(s, absl::StrCat(s.user(), " via vpnctl configure (session ", s.number(), ")"),
                  {});
  }
  if (verb == "commit-confirm") {
    int minutes = 10;  // Vyatta's default
    if (rest.size() > 1 || (rest.size() == 1 && (!absl::SimpleAtoi(rest[0], &minutes) ||
                                                 minutes < 1 || minutes > 1440))) {
      return absl::InvalidArgumentError("usage: commit-confirm [<N>] (minutes, 1..1440)");
    }
    return Commit(
        s, absl::StrCat(s.user(), " via commit-confirm ", minutes, " (session ", s.number(), ")"),
        minutes);
  }
  if (verb == "confirm") {
    if (!pending_) return absl::FailedPreconditionError("no commit-confirm is pending");
    host_.Log(absl::StrCat(Who(s), ": commit confirmed"));
    pending_.reset();
    return std::string("commit confirmed\n");
  }
  if (verb == "rollback") return Rollback(s, rest);
  if (verb == "save") return Save(s, rest);
  if (verb == "load") return Load(s, rest);
  if (verb == "run") {
    if (rest.empty()) return absl::InvalidArgumentError("'run' needs an operational command");
    return host_.RunOp(rest);
  }
  // exit [discard]
  bool discard = rest.size() == 1 && rest[0] == "discard";
  if (!rest.empty() && !discard) return absl::InvalidArgumentError("usage: exit [discard]");
  FollowRunning(s);
  if (s.changed() && !discard) {
    return absl::FailedPreconditionError(
        "Cannot exit: configuration modified.\nUse 'exit discard' to discard the changes and "
        "exit.");
  }
  host_.Log(absl::StrCat(Who(s), " closed", s.changed() ? ", its changes discarded" : ""));
  std::string out;
  if (pending_ && pending_->session == s.number()) {
    out = absl::StrCat("the commit-confirm is still pending: it is rolled back at ",
                       Clock(pending_->deadline), " unless confirmed\n");
  }
  sessions_.erase(token);  // `s` is gone from here on
  return out;
}

void ConfigSessions::Tick() {
  absl::Time now = host_.Now();
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    const ConfigSession& s = *it->second;
    if (now - s.last_used() < options_.idle_timeout) {
      ++it;
      continue;
    }
    host_.Log(absl::StrCat(Who(s), " closed after ",
                           absl::FormatDuration(absl::Trunc(now - s.last_used(), absl::Seconds(1))),
                           " idle; its uncommitted changes are discarded"));
    it = sessions_.erase(it);
  }
  if (pending_ && now >= pending_->deadline) {
    absl::StatusOr<std::string> r = host_.CommitTree(
        pending_->previous, absl::StrCat("vpnd via commit-confirm rollback (session ",
                                         pending_->session, " did not confirm)"));
    if (r.ok()) {
      host_.Log(absl::StrCat("commit-confirm of configuration session ", pending_->session,
                             " not confirmed in time: rolled back to the previous configuration"));
      pending_.reset();
    } else {
      // Tried again shortly; the changed configuration stays running meanwhile.
      host_.Log(absl::StrCat("commit-confirm rollback failed, retrying: ", r.status().message()));
      pending_->deadline = now + absl::Seconds(5);
    }
  }
}

}  // namespace portcullis::vpnd
