// One configuration session (`vpnctl configure`): its own candidate configuration, a copy of
// the running one it started from (its base), edited with set and delete in either dialect,
// shown with its uncommitted changes marked, compared, discarded or replaced from a file.
// Committing, and what happens when another session committed meanwhile, is ConfigSessions'.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "control/config/config_tree.h"
#include "control/config/path_resolver.h"

namespace portcullis::vpnd {

class ConfigSession {
 public:
  ConfigSession(uint32_t number, std::string user, std::shared_ptr<const config::ConfigTree> base,
                uint64_t base_generation, absl::Time now);

  uint32_t number() const { return number_; }
  const std::string& user() const { return user_; }

  // `set`/`delete` words after the verb, canonical or VyOS (`vpn ipsec ...`). All or nothing:
  // an error leaves the candidate as it was. The text is warnings to print ("" when none).
  absl::StatusOr<std::string> Apply(config::Command::Op op, const std::vector<std::string>& words);
  // The candidate in brace form, uncommitted changes marked (+/-), below `path` if given.
  absl::StatusOr<std::string> Show(const std::vector<std::string>& path) const;
  // The set/delete commands from the base to the candidate, secrets hidden.
  std::string Compare() const;
  bool changed() const;
  // The candidate becomes the base again.
  void Discard();
  // The candidate is replaced (`load`, `rollback`).
  void Replace(std::unique_ptr<config::ConfigTree> candidate);
  // The session now starts from `base`; `candidate` replaces the candidate (null: keep it).
  void Rebase(std::shared_ptr<const config::ConfigTree> base, uint64_t generation,
              std::unique_ptr<config::ConfigTree> candidate);

  const config::ConfigTree& candidate() const { return *candidate_; }
  const std::shared_ptr<const config::ConfigTree>& base() const { return base_; }
  uint64_t base_generation() const { return base_generation_; }
  absl::Time last_used() const { return last_used_; }
  void Touch(absl::Time now) { last_used_ = now; }

 private:
  uint32_t number_;
  std::string user_;
  std::shared_ptr<const config::ConfigTree> base_;
  uint64_t base_generation_;
  std::unique_ptr<config::ConfigTree> candidate_;
  absl::Time last_used_;
};

// The Vyatta words of a path typed in either dialect (`vpn ipsec ...` -> `security vpn ipsec
// ...`), for show and completion.
std::vector<std::string> CanonicalPath(const std::vector<std::string>& words);

}  // namespace portcullis::vpnd
