// A POSIX shared-memory object mapped into this process: creation (exclusive, mode 0600),
// attachment after vetting who owns the object, and unlinking that never removes a successor's
// segment of the same name.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace portcullis::dp::api {

// "/portcullis-NAME" for `--channel NAME`. NAME is 1-64 of [A-Za-z0-9._-], so it can neither
// escape /dev/shm nor collide with another product's objects.
absl::StatusOr<std::string> ShmNameForChannel(absl::string_view channel);

// Whether a process with effective uid `euid` may attach to the object `st` describes: it must
// be a regular object owned by `euid` or by root, with mode exactly 0600. Anyone else's object
// under our name could hand us ring geometry and messages of their choosing (/dev/shm is
// world-writable), and a wider mode lets others write into it while we use it. The error says
// which of the two is wrong and what the object's owner and mode are.
absl::Status CheckAttachable(const struct stat& st, uid_t euid, const std::string& shm_name);

// Whether a server with effective uid `euid` may remove the object `st` describes when it is
// stale: only its own. Someone else's object is refused, naming its owner.
absl::Status CheckRemovable(const struct stat& st, uid_t euid, const std::string& shm_name);

class ShmSegment {
 public:
  // O_CREAT|O_EXCL, 0600, sized and mapped. AlreadyExists if the name is taken.
  static absl::StatusOr<ShmSegment> CreateExclusive(const std::string& shm_name, size_t size);
  // Maps the whole existing object read-write once `vet` accepted its fstat (taken on the
  // descriptor that is then mapped, so the name cannot be swapped in between). NotFound if
  // there is none; vet's error as it is.
  using Vet = absl::FunctionRef<absl::Status(const struct stat&)>;
  static absl::StatusOr<ShmSegment> OpenExisting(const std::string& shm_name, Vet vet);

  // Unlinks shm_name only if it still names the object with this inode: a server that shuts
  // down after a successor replaced its segment must not remove the successor's.
  static void UnlinkIfSame(const std::string& shm_name, ino_t inode);

  ShmSegment() = default;
  ShmSegment(ShmSegment&& other) noexcept;
  ShmSegment& operator=(ShmSegment&& other) noexcept;
  ShmSegment(const ShmSegment&) = delete;
  ShmSegment& operator=(const ShmSegment&) = delete;
  ~ShmSegment();

  uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  ino_t inode() const { return inode_; }
  // When the object was created (or last resized), to judge a segment whose creator died
  // before writing anything.
  int64_t change_time_seconds() const { return ctime_; }

 private:
  ShmSegment(uint8_t* data, size_t size, ino_t inode, int64_t ctime)
      : data_(data), size_(size), inode_(inode), ctime_(ctime) {}
  // Maps and closes fd.
  static absl::StatusOr<ShmSegment> MapFd(int fd, const std::string& name, size_t size);
  void Unmap();

  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  ino_t inode_ = 0;
  int64_t ctime_ = 0;
};

}  // namespace portcullis::dp::api
