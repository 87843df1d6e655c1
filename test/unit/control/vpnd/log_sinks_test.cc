// vpnd's log file and debug key log (control/vpnd/log_sinks.cc): rotation by size, and how the
// files are opened (no symlink followed, close-on-exec, explicit modes).
#include "control/vpnd/log_sinks.h"

#include <catch2/catch.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

using namespace portcullis;
namespace fs = std::filesystem;

namespace {

// A fresh directory, removed with everything in it.
struct TempDir {
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "vpnd-logs-XXXXXX").string();
    REQUIRE(mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~TempDir() { fs::remove_all(path); }
  std::string operator/(const std::string& name) const { return path + "/" + name; }
  std::string path;
};

std::string Read(const std::string& path) {
  std::ifstream f(path);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

ike::LogRecord Line(int i) {
  return ike::LogRecord{absl::FromUnixSeconds(1767225600),
                        ike::LogGroup::kIke,
                        "peer-x",
                        1,
                        false,
                        absl::StrCat("line ", i, " of the test log, padded to some length")};
}

mode_t Mode(const std::string& path) {
  struct stat st {};
  REQUIRE(stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

// The FD_CLOEXEC flag of this process's descriptor for `path`, -1 when none is open.
int CloseOnExec(const std::string& path) {
  DIR* d = opendir("/proc/self/fd");
  REQUIRE(d != nullptr);
  int found = -1;
  while (dirent* e = readdir(d)) {
    char target[4096] = {};
    std::string link = absl::StrCat("/proc/self/fd/", e->d_name);
    ssize_t n = readlink(link.c_str(), target, sizeof target - 1);
    if (n <= 0 || path != std::string(target, static_cast<size_t>(n))) continue;
    int flags = fcntl(atoi(e->d_name), F_GETFD);
    found = (flags & FD_CLOEXEC) != 0;
  }
  closedir(d);
  return found;
}

// The process umask, set for one test and restored.
struct Umask {
  explicit Umask(mode_t m) : old(umask(m)) {}
  ~Umask() { umask(old); }
  mode_t old;
};

}  // namespace

TEST_CASE("the log is rotated by size and keeps the newest files", "[vpnd][log]") {
  TempDir dir;
  std::string path = dir / "ipsec.log";
  vpnd::LogRotation rot;
  rot.max_bytes = 1000;
  rot.keep = 2;
  {
    vpnd::VpndLog log(path, false, 5000, rot);
    REQUIRE(log.ok());
    for (int i = 0; i < 100; ++i) log.Write(Line(i));
    // The ring for `show log vpn ipsec` is not affected.
    CHECK(absl::StrContains(log.Recent(), "line 0 of"));
  }
  CHECK(fs::exists(path + ".1"));
  CHECK(fs::exists(path + ".2"));
  CHECK_FALSE(fs::exists(path + ".3"));
  for (const std::string& f : {path, path + ".1", path + ".2"}) {
    INFO(f);
    CHECK(fs::file_size(f) <= rot.max_bytes);
    CHECK(fs::file_size(f) > 0);
  }
  // The newest lines are in the log itself, the ones before in .1, then .2, with nothing lost
  // between them.
  std::string all = Read(path + ".2") + Read(path + ".1") + Read(path);
  CHECK(absl::StrContains(Read(path), "line 99 of"));
  std::vector<std::string> lines = absl::StrSplit(all, '\n', absl::SkipEmpty());
  REQUIRE(!lines.empty());
  int first = std::stoi(lines[0].substr(lines[0].find("line ") + 5));
  for (size_t i = 0; i < lines.size(); ++i) {
    CHECK(absl::StrContains(lines[i], absl::StrCat("line ", first + static_cast<int>(i), " of")));
  }
  CHECK(first + lines.size() == 100);

  SECTION("keep 0: the log starts over") {
    rot.keep = 0;
    vpnd::VpndLog log(path, false, 5000, rot);
    for (int i = 0; i < 100; ++i) log.Write(Line(i));
    CHECK(fs::file_size(path) <= rot.max_bytes);
    CHECK(absl::StrContains(Read(path), "line 99 of"));
  }
}

TEST_CASE("a buffered log writes its lines at Flush, in order, rotated as unbuffered",
          "[vpnd][log]") {
  TempDir dir;
  std::string path = dir / "ipsec.log";
  vpnd::LogRotation rot;
  rot.max_bytes = 1000;
  rot.keep = 5;
  {
    vpnd::VpndLog log(path, false, 5000, rot);
    REQUIRE(log.ok());
    log.SetBuffered(true);
    log.Write(Line(0));
    log.Write(Line(1));
    // Not in the file yet; in the ring at once (`show log vpn ipsec`).
    CHECK(Read(path).empty());
    CHECK(absl::StrContains(log.Recent(), "line 1 of"));
    log.Flush();
    CHECK(absl::StrContains(Read(path), "line 0 of"));
    CHECK(absl::StrContains(Read(path), "line 1 of"));
    // Past the size limit the waiting lines go to the file being rotated, none is lost.
    for (int i = 2; i < 30; ++i) log.Write(Line(i));
    log.Flush();
    log.Write(Line(30));  // flushed by the destructor
  }
  std::string all;
  for (int k = 5; k >= 1; --k) {
    if (fs::exists(path + "." + std::to_string(k))) {
      CHECK(fs::file_size(path + "." + std::to_string(k)) <= rot.max_bytes);
      all += Read(path + "." + std::to_string(k));
    }
  }
  CHECK(fs::file_size(path) <= rot.max_bytes);
  all += Read(path);
  std::vector<std::string> lines = absl::StrSplit(all, '\n', absl::SkipEmpty());
  REQUIRE(lines.size() == 31);
  for (size_t i = 0; i < lines.size(); ++i) {
    CHECK(absl::StrContains(lines[i], absl::StrCat("line ", i, " of")));
  }
}

TEST_CASE("a buffered log writes by itself once kFlushBytes wait, without Flush", "[vpnd][log]") {
  TempDir dir;
  std::string path = dir / "ipsec.log";
  vpnd::LogRotation rot;
  rot.max_bytes = 0;  // never rotated
  vpnd::VpndLog log(path, false, 10, rot);
  REQUIRE(log.ok());
  log.SetBuffered(true);
  int i = 0;
  while (Read(path).empty()) {
    log.Write(Line(i++));
    REQUIRE(static_cast<size_t>(i) * 60 < 2 * vpnd::VpndLog::kFlushBytes);
  }
  // It wrote when the waiting lines reached kFlushBytes, not before, and all of them.
  const std::string written = Read(path);
  CHECK(written.size() >= vpnd::VpndLog::kFlushBytes);
  std::vector<std::string> lines = absl::StrSplit(written, '\n', absl::SkipEmpty());
  CHECK(lines.size() == static_cast<size_t>(i));
  CHECK(absl::StrContains(lines.back(), absl::StrCat("line ", i - 1, " of")));
  log.Write(Line(i));
  CHECK(Read(path).size() == written.size());  // the next line waits again
}

TEST_CASE("a buffered log in the foreground writes stderr at Flush too", "[vpnd][log]") {
  TempDir dir;
  std::string err = dir / "stderr";
  std::fflush(stderr);
  const int saved = dup(STDERR_FILENO);
  REQUIRE(saved >= 0);
  const int fd = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  REQUIRE(fd >= 0);
  REQUIRE(dup2(fd, STDERR_FILENO) == STDERR_FILENO);
  close(fd);
  std::string before, after;
  {
    vpnd::VpndLog log("", /*to_stderr=*/true);
    log.SetBuffered(true);
    log.Write(Line(0));
    log.Write(Line(1));
    std::fflush(stderr);
    before = Read(err);
    log.Flush();
    std::fflush(stderr);
    after = Read(err);
  }
  std::fflush(stderr);
  dup2(saved, STDERR_FILENO);
  close(saved);
  CHECK(before.empty());
  std::vector<std::string> lines = absl::StrSplit(after, '\n', absl::SkipEmpty());
  REQUIRE(lines.size() == 2);
  CHECK(absl::StrContains(lines[0], "line 0 of"));
  CHECK(absl::StrContains(lines[1], "line 1 of"));
}

TEST_CASE("a symlink at the log or key log path is refused, not followed", "[vpnd][log]") {
  TempDir dir;
  std::string target = dir / "elsewhere";
  std::ofstream(target) << "someone else's file\n";
  std::string log_path = dir / "ipsec.log", key_path = dir / "keys.log";
  fs::create_symlink(target, log_path);
  fs::create_symlink(target, key_path);
  vpnd::VpndLog log(log_path, false);
  CHECK_FALSE(log.ok());
  CHECK(absl::StrContains(log.error(), "symbolic link"));
  log.Write(Line(1));
  vpnd::KeyLogFile keys(key_path);
  CHECK_FALSE(keys.ok());
  keys.Write(Line(2));
  CHECK(Read(target) == "someone else's file\n");
}

TEST_CASE("log modes: 0640 for the log, 0600 for the key log; both close on exec", "[vpnd][log]") {
  TempDir dir;
  Umask open_umask(0);  // the modes come from vpnd, not from whatever umask it was started with
  std::string log_path = dir / "ipsec.log", key_path = dir / "keys.log";
  vpnd::VpndLog log(log_path, false);
  REQUIRE(log.ok());
  CHECK(Mode(log_path) == 0640);
  CHECK(CloseOnExec(log_path) == 1);
  {
    vpnd::KeyLogFile keys(key_path);
    REQUIRE(keys.ok());
    CHECK(Mode(key_path) == 0600);
    CHECK(CloseOnExec(key_path) == 1);
  }
  SECTION("an existing key log readable by others is narrowed to 0600") {
    REQUIRE(chmod(key_path.c_str(), 0644) == 0);
    vpnd::KeyLogFile keys(key_path);
    REQUIRE(keys.ok());
    CHECK(Mode(key_path) == 0600);
  }
  SECTION("a rotated log is opened the same way") {
    vpnd::LogRotation rot;
    rot.max_bytes = 200;
    vpnd::VpndLog small(dir / "small.log", false, 10, rot);
    for (int i = 0; i < 10; ++i) small.Write(Line(i));
    CHECK(fs::exists(dir / "small.log.1"));
    CHECK(Mode(dir / "small.log") == 0640);
    CHECK(CloseOnExec(dir / "small.log") == 1);
  }
}

TEST_CASE("log: the firewall's lines in syslog's form, in the file and the ring", "[vpnd][log]") {
  TempDir dir;
  vpnd::VpndLog log(dir / "vpnd.log", false);
  log.WriteSyslogStyle(absl::FromUnixSeconds(1767225600),
                       "dataplane[4391]:  In:vti0 PASS fw rule INipsecvti0:10 proto=(icmp/1)");
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  std::string want = absl::StrCat("Jan  1 00:00:00 ", host,
                                  " dataplane[4391]:  In:vti0 PASS fw rule INipsecvti0:10 "
                                  "proto=(icmp/1)\n");
  CHECK(Read(dir / "vpnd.log") == want);
  CHECK(log.RecentFirewall("fw rule") == want);
  // Not among the IPsec lines (`show log vpn ipsec`), whose ring it does not share.
  CHECK(log.Recent().empty());
}
