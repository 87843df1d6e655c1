#include "control/vpnd/config_file.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "control/config/config_display.h"

namespace portcullis::vpnd {

std::string ConfigFileText(const config::ConfigTree& tree) {
  config::DisplayOptions opts;
  opts.commands = true;
  opts.show_secrets = true;  // a file that loads back needs the keys
  return config::ShowConfiguration(tree, opts);
}

absl::Status WriteConfigFile(const std::string& path, const config::ConfigTree& tree,
                             const std::string& header) {
  std::string text = absl::StrCat(header, ConfigFileText(tree));
  std::string tmp = absl::StrCat(path, ".tmp-", getpid());
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    explicit_bzero(text.data(), text.size());
    return absl::UnavailableError(absl::StrCat("cannot write ", path, ": ", std::strerror(errno)));
  }
  size_t done = 0;
  int err = 0;
  while (done < text.size()) {
    ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      err = errno ? errno : EIO;
      break;
    }
    done += static_cast<size_t>(n);
  }
  explicit_bzero(text.data(), text.size());
  if (err == 0 && fsync(fd) != 0) err = errno;
  close(fd);
  if (err == 0 && rename(tmp.c_str(), path.c_str()) != 0) err = errno;
  if (err != 0) {
    unlink(tmp.c_str());
    return absl::UnavailableError(absl::StrCat("cannot write ", path, ": ", std::strerror(err)));
  }
  return absl::OkStatus();
}

}  // namespace portcullis::vpnd
