// A POSIX shared-memory object mapped into this process: creation (exclusive, mode 0600),
// attachment, and unlinking that never removes a successor's segment of the same name.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace portcullis::dp::api {

// "/portcullis-NAME" for `--channel NAME`. NAME is 1-64 of [A-Za-z0-9._-], so it can neither
// escape /dev/shm nor collide with another product's objects.
absl::StatusOr<std::string> ShmNameForChannel(absl::string_view channel);

class ShmSegment {
 public:
  // O_CREAT|O_EXCL, 0600, sized and mapped. AlreadyExists if the name is taken.
  static absl::StatusOr<ShmSegment> CreateExclusive(const std::string& shm_name, size_t size);
  // Maps the whole existing object read-write. NotFound if there is none.
  static absl::StatusOr<ShmSegment> OpenExisting(const std::string& shm_name);

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
