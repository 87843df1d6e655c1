// vpnd's configuration sessions: opened by `vpnctl configure`, each with its own candidate
// (ConfigSession), addressed by a token on every request (control_protocol.h), closed by `exit`
// or after an idle timeout (a vpnctl that was killed leaves its session behind).
//
// Commits go through vpnd's one commit (SessionHost::CommitTree: validate all, one dataplane
// batch, then IKE). A session whose base is no longer the running configuration (another
// session, `load` or SIGHUP committed meanwhile) is merged: its own changes are re-applied to
// the new running configuration and committed when no node was changed by both; otherwise the
// commit is refused ("configuration changed by another session; compare and commit again")
// and the session continues from the new running configuration with its changes re-applied.
// A session without uncommitted changes simply follows the running configuration.
//
// commit-confirm N keeps the configuration before the commit and commits it again unless
// `confirm` (from any session) comes within N minutes; until then other commits are refused.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "control/config/config_tree.h"
#include "control/vpnd/config_archive.h"
#include "control/vpnd/config_session.h"

namespace portcullis::vpnd {

// What the sessions need from vpnd (tests give them a fake).
class SessionHost {
 public:
  virtual ~SessionHost() = default;
  virtual absl::Time Now() const = 0;
  virtual std::shared_ptr<const config::ConfigTree> Running() const = 0;
  // Grows by one with every change of the running configuration.
  virtual uint64_t RunningGeneration() const = 0;
  // Commits a validated tree; the text says which peers and tunnels it resets, creates or
  // removes. An error means nothing changed (or, when the dataplane has not answered yet, that
  // the outcome is still unknown: the message says so).
  virtual absl::StatusOr<std::string> CommitTree(std::shared_ptr<const config::ConfigTree> tree,
                                                 const std::string& via) = 0;
  // The file vpnd loaded (`save`'s default).
  virtual std::string ConfigPath() const = 0;
  // An operational command (`run ...`).
  virtual absl::StatusOr<std::string> RunOp(const std::vector<std::string>& words) = 0;
  virtual void Log(const std::string& line) = 0;
};

class ConfigSessions {
 public:
  struct Options {
    absl::Duration idle_timeout = absl::Hours(1);
    // The length of commit-confirm's minute: one minute, shorter only in tests.
    absl::Duration confirm_minute = absl::Minutes(1);
    size_t max_sessions = 16;
  };

  ConfigSessions(SessionHost& host, ConfigArchive* archive, Options options);

  // Requests of the session protocol (control_protocol.h): `configure [user]` and
  // `session <token> <command> ...`.
  static bool IsSessionRequest(const std::vector<std::string>& words);
  absl::StatusOr<std::string> Handle(const std::vector<std::string>& words);

  // Closes idle sessions and rolls back an unconfirmed commit-confirm whose time is up.
  void Tick();

  size_t count() const { return sessions_.size(); }
  bool confirm_pending() const { return pending_.has_value(); }

 private:
  struct PendingConfirm {
    std::shared_ptr<const config::ConfigTree> previous;
    absl::Time deadline;
    uint32_t session = 0;
    std::string user;
  };

  absl::StatusOr<std::string> Open(const std::vector<std::string>& words);
  absl::StatusOr<std::string> Dispatch(const std::string& token, ConfigSession& s,
                                       const std::vector<std::string>& args);
  // A session with nothing uncommitted follows the running configuration.
  void FollowRunning(ConfigSession& s);
  // Rebases a session whose base is stale; an error when both changed the same nodes.
  absl::StatusOr<std::string> Merge(ConfigSession& s);
  absl::StatusOr<std::string> Commit(ConfigSession& s, const std::string& via,
                                     std::optional<int> confirm_minutes);
  absl::StatusOr<std::string> Rollback(ConfigSession& s, const std::vector<std::string>& args);
  absl::StatusOr<std::string> Save(ConfigSession& s, const std::vector<std::string>& args);
  absl::StatusOr<std::string> Load(ConfigSession& s, const std::vector<std::string>& args);
  std::string Who(const ConfigSession& s) const;

  SessionHost& host_;
  ConfigArchive* archive_;
  Options options_;
  std::map<std::string, std::unique_ptr<ConfigSession>> sessions_;  // by token
  uint32_t next_number_ = 1;
  std::optional<PendingConfirm> pending_;
};

}  // namespace portcullis::vpnd
