#include "dataplane/api/shm_segment.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace portcullis::dp::api {
namespace {

absl::Status ErrnoError(int err, absl::string_view what, const std::string& name) {
  std::string msg = absl::StrFormat("%s %s: %s", what, name, strerror(err));
  if (err == ENOENT) return absl::NotFoundError(msg);
  if (err == EEXIST) return absl::AlreadyExistsError(msg);
  if (err == EACCES || err == EPERM) return absl::PermissionDeniedError(msg);
  return absl::InternalError(msg);
}

}  // namespace

absl::StatusOr<std::string> ShmNameForChannel(absl::string_view channel) {
  bool ok = !channel.empty() && channel.size() <= 64;
  for (char c : channel) {
    ok = ok &&
         (absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-');
  }
  if (!ok || channel == "." || channel == "..") {
    return absl::InvalidArgumentError(absl::StrFormat(
        "channel name '%s' must be 1-64 characters of letters, digits, '.', '_' and '-'", channel));
  }
  return absl::StrCat("/portcullis-", channel);
}

absl::Status CheckAttachable(const struct stat& st, uid_t euid, const std::string& shm_name) {
  const mode_t perms = st.st_mode & 07777;
  if (!S_ISREG(st.st_mode) || (st.st_uid != euid && st.st_uid != 0)) {
    return absl::PermissionDeniedError(absl::StrFormat(
        "refusing /dev/shm%s: it belongs to uid %d, not to this user (uid %d) or root; a "
        "channel is only created by vpn-dataplane under the user that runs it (remove the "
        "object if nothing uses it)",
        shm_name, st.st_uid, euid));
  }
  if (perms != 0600) {
    return absl::PermissionDeniedError(absl::StrFormat(
        "refusing /dev/shm%s: its mode is %04o, not 0600, so other users could write into it",
        shm_name, perms));
  }
  return absl::OkStatus();
}

absl::Status CheckRemovable(const struct stat& st, uid_t euid, const std::string& shm_name) {
  if (st.st_uid != euid) {
    return absl::PermissionDeniedError(absl::StrFormat(
        "/dev/shm%s exists and belongs to uid %d, not to this user (uid %d): refusing to use or "
        "remove it; find out who created it, and remove it if nothing uses it",
        shm_name, st.st_uid, euid));
  }
  return absl::OkStatus();
}

absl::StatusOr<ShmSegment> ShmSegment::CreateExclusive(const std::string& shm_name, size_t size) {
  int fd = shm_open(shm_name.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoError(errno, "cannot create shared memory", shm_name);
  // The umask could have narrowed the mode, never widened it; be explicit anyway.
  fchmod(fd, 0600);
  if (ftruncate(fd, static_cast<off_t>(size)) != 0) {
    int err = errno;
    close(fd);
    shm_unlink(shm_name.c_str());
    return ErrnoError(err, "cannot size shared memory", shm_name);
  }
  auto seg = MapFd(fd, shm_name, size);
  if (!seg.ok()) shm_unlink(shm_name.c_str());
  return seg;
}

absl::StatusOr<ShmSegment> ShmSegment::OpenExisting(const std::string& shm_name, Vet vet) {
  // O_NOFOLLOW: /dev/shm is world-writable, a symlink there must not lead us elsewhere.
  int fd = shm_open(shm_name.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW, 0);
  if (fd < 0) return ErrnoError(errno, "cannot open shared memory", shm_name);
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    int err = errno;
    close(fd);
    return ErrnoError(err, "cannot stat shared memory", shm_name);
  }
  if (absl::Status s = vet(st); !s.ok()) {
    close(fd);
    return s;
  }
  if (st.st_size <= 0) {
    close(fd);
    // Still a valid answer for a caller judging staleness.
    return ShmSegment(nullptr, 0, st.st_ino, st.st_ctim.tv_sec);
  }
  return MapFd(fd, shm_name, static_cast<size_t>(st.st_size));
}

void ShmSegment::UnlinkIfSame(const std::string& shm_name, ino_t inode) {
  int fd = shm_open(shm_name.c_str(), O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) return;
  struct stat st {};
  bool same = fstat(fd, &st) == 0 && st.st_ino == inode;
  close(fd);
  if (same) shm_unlink(shm_name.c_str());
}

absl::StatusOr<ShmSegment> ShmSegment::MapFd(int fd, const std::string& name, size_t size) {
  struct stat st {};
  fstat(fd, &st);
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  int err = errno;
  close(fd);  // the mapping keeps the object alive
  if (p == MAP_FAILED) return ErrnoError(err, "cannot map shared memory", name);
  return ShmSegment(static_cast<uint8_t*>(p), size, st.st_ino, st.st_ctim.tv_sec);
}

ShmSegment::ShmSegment(ShmSegment&& other) noexcept {
  *this = std::move(other);
}

ShmSegment& ShmSegment::operator=(ShmSegment&& other) noexcept {
  if (this != &other) {
    Unmap();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    inode_ = other.inode_;
    ctime_ = other.ctime_;
  }
  return *this;
}

ShmSegment::~ShmSegment() {
  Unmap();
}

void ShmSegment::Unmap() {
  if (data_ != nullptr) munmap(data_, size_);
  data_ = nullptr;
  size_ = 0;
}

}  // namespace portcullis::dp::api
