// The configuration archive: the last K committed configurations, as Vyatta keeps them in
// /config/archive beside /config/config.boot. Revision 0 is the running configuration, 1 the
// one before it, and so on; `show system commit` lists them and a configuration session's
// `rollback N` commits one again. Each revision is a file vpnd can load (with the pre-shared
// keys, so the directory is 0700 and the files 0600), named by a sequence number that only
// grows, so a revision's file never changes once written and the archive survives restarts.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "control/config/config_tree.h"

namespace portcullis::vpnd {

class ConfigArchive {
 public:
  struct Revision {
    uint64_t seq = 0;
    absl::Time when;
    std::string via;  // "vpnctl configure (session 2, root)", "load /etc/...", "vpnd start"
  };

  // `dir` "" keeps the revisions in memory only (tests, or no state directory).
  ConfigArchive(std::string dir, size_t keep);
  ~ConfigArchive();
  ConfigArchive(const ConfigArchive&) = delete;
  ConfigArchive& operator=(const ConfigArchive&) = delete;

  // Reads the revisions a previous vpnd left in `dir` (creating it if needed).
  absl::Status Open();
  // Adds `tree` as the new revision 0, unless it is the same configuration as revision 0, and
  // drops revisions beyond `keep`.
  absl::Status Record(const config::ConfigTree& tree, absl::Time when, const std::string& via);
  // Newest first: index = revision number.
  const std::vector<Revision>& revisions() const { return revisions_; }
  absl::StatusOr<std::unique_ptr<config::ConfigTree>> Read(size_t revision) const;
  // `show system commit`, as Vyatta prints it: "0   2024-05-02 10:11:12 by root via cli".
  std::string List() const;

 private:
  std::string FileOf(uint64_t seq) const;
  absl::StatusOr<std::string> TextOf(size_t revision) const;

  std::string dir_;
  size_t keep_;
  std::vector<Revision> revisions_;
  std::vector<std::string> memory_;  // the texts, when there is no directory (same order)
};

}  // namespace portcullis::vpnd
