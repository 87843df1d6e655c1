#include "control/vpnd/config_archive.h"

#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "control/config/config_loader.h"
#include "control/vpnd/config_file.h"

namespace portcullis::vpnd {

namespace {

constexpr char kPrefix[] = "commit-";
constexpr char kSuffix[] = ".conf";

void Wipe(std::string& s) {
  explicit_bzero(s.data(), s.size());
  s.clear();
}

// "# commit <seq> <unix seconds> <via>", the first line of every revision's file.
std::string Header(uint64_t seq, absl::Time when, const std::string& via) {
  return absl::StrCat("# commit ", seq, " ", absl::ToUnixSeconds(when), " ", via, "\n");
}

bool ParseHeader(const std::string& line, ConfigArchive::Revision* r) {
  std::vector<std::string> f = absl::StrSplit(line, absl::MaxSplits(' ', 4));
  int64_t secs = 0;
  if (f.size() < 4 || f[0] != "#" || f[1] != "commit" || !absl::SimpleAtoi(f[2], &r->seq) ||
      !absl::SimpleAtoi(f[3], &secs)) {
    return false;
  }
  r->when = absl::FromUnixSeconds(secs);
  r->via = f.size() == 5 ? f[4] : "";
  return true;
}

absl::StatusOr<std::string> ReadSmallFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return absl::NotFoundError(absl::StrCat(path, ": ", std::strerror(errno)));
  std::string out;
  char buf[8192];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  explicit_bzero(buf, sizeof buf);
  close(fd);
  if (n < 0) {
    Wipe(out);
    return absl::DataLossError(absl::StrCat(path, ": read error"));
  }
  return out;
}

}  // namespace

ConfigArchive::ConfigArchive(std::string dir, size_t keep) : dir_(std::move(dir)), keep_(keep) {
  if (keep_ == 0) keep_ = 1;
}

ConfigArchive::~ConfigArchive() {
  for (std::string& t : memory_) Wipe(t);
}

std::string ConfigArchive::FileOf(uint64_t seq) const {
  return absl::StrFormat("%s/%s%06u%s", dir_, kPrefix, seq, kSuffix);
}

absl::Status ConfigArchive::Open() {
  if (dir_.empty()) return absl::OkStatus();
  if (mkdir(dir_.c_str(), 0700) != 0 && errno != EEXIST) {
    return absl::UnavailableError(
        absl::StrCat("configuration archive ", dir_, ": ", std::strerror(errno)));
  }
  DIR* d = opendir(dir_.c_str());
  if (d == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("configuration archive ", dir_, ": ", std::strerror(errno)));
  }
  revisions_.clear();
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (!absl::StartsWith(name, kPrefix) || !absl::EndsWith(name, kSuffix)) continue;
    absl::StatusOr<std::string> text = ReadSmallFile(absl::StrCat(dir_, "/", name));
    if (!text.ok()) continue;
    Revision r;
    std::string first = text->substr(0, text->find('\n'));
    bool ok = ParseHeader(first, &r) && FileOf(r.seq) == absl::StrCat(dir_, "/", name);
    Wipe(*text);
    if (ok) revisions_.push_back(r);
  }
  closedir(d);
  std::sort(revisions_.begin(), revisions_.end(),
            [](const Revision& a, const Revision& b) { return a.seq > b.seq; });
  return absl::OkStatus();
}

absl::StatusOr<std::string> ConfigArchive::TextOf(size_t revision) const {
  if (revision >= revisions_.size()) {
    return absl::NotFoundError(
        revisions_.empty()
            ? std::string("the configuration archive is empty")
            : absl::StrCat("no revision ", revision, " in the configuration archive (0..",
                           revisions_.size() - 1, "; see 'show system commit')"));
  }
  if (dir_.empty()) return memory_[revision];
  return ReadSmallFile(FileOf(revisions_[revision].seq));
}

absl::Status ConfigArchive::Record(const config::ConfigTree& tree, absl::Time when,
                                   const std::string& via) {
  std::string text = ConfigFileText(tree);
  if (!revisions_.empty()) {
    absl::StatusOr<std::string> newest = TextOf(0);
    if (newest.ok()) {
      // Files start with their header line; memory holds the bare text.
      size_t body = dir_.empty() ? 0 : newest->find('\n') + 1;
      bool same = newest->compare(body, std::string::npos, text) == 0;
      Wipe(*newest);
      if (same) {
        Wipe(text);
        return absl::OkStatus();
      }
    }
  }
  Revision r{revisions_.empty() ? 1 : revisions_.front().seq + 1, when, via};
  if (dir_.empty()) {
    memory_.insert(memory_.begin(), std::move(text));
  } else {
    Wipe(text);
    absl::Status st = WriteConfigFile(FileOf(r.seq), tree, Header(r.seq, when, via));
    if (!st.ok()) return st;
  }
  revisions_.insert(revisions_.begin(), r);
  while (revisions_.size() > keep_) {
    if (dir_.empty()) {
      Wipe(memory_.back());
      memory_.pop_back();
    } else {
      unlink(FileOf(revisions_.back().seq).c_str());
    }
    revisions_.pop_back();
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<config::ConfigTree>> ConfigArchive::Read(size_t revision) const {
  absl::StatusOr<std::string> text = TextOf(revision);
  if (!text.ok()) return text.status();
  auto tree = std::make_unique<config::ConfigTree>();
  config::Diagnostics diags;
  config::ParseConfigText(*text, absl::StrCat("revision ", revision), *tree, diags);
  Wipe(*text);
  if (diags.has_errors()) {
    return absl::DataLossError(absl::StrCat(
        "revision ", revision, " of the archive is damaged: ", diags.Sorted().front().ToString()));
  }
  return tree;
}

std::string ConfigArchive::List() const {
  if (revisions_.empty()) return "No configuration revisions archived\n";
  std::string out;
  for (size_t i = 0; i < revisions_.size(); ++i) {
    const Revision& r = revisions_[i];
    absl::StrAppend(
        &out, absl::StrFormat("%-3d %s by %s\n", i,
                              absl::FormatTime("%Y-%m-%d %H:%M:%S", r.when, absl::LocalTimeZone()),
                              r.via));
  }
  return out;
}

}  // namespace portcullis::vpnd
