#include "control/vpnctl/absolute_paths.h"

#include <unistd.h>

#include <climits>
#include <cstdlib>

namespace portcullis::vpnctl {

std::string AbsolutePath(const std::string& name) {
  if (name.empty()) return name;
  char buf[PATH_MAX];
  if (realpath(name.c_str(), buf) != nullptr) return buf;
  if (name[0] == '/') return name;
  // Not there yet (`save new.conf`): relative to the working directory.
  if (getcwd(buf, sizeof buf) == nullptr) return name;
  return std::string(buf) + "/" + name;
}

std::vector<std::string> OpRequestWords(const ops::OpRequest& request) {
  std::vector<std::string> words;
  for (const ops::OpWord& w : request.words) {
    words.push_back(w.slot == ops::Slot::kFile ? AbsolutePath(w.text) : w.text);
  }
  return words;
}

}  // namespace portcullis::vpnctl
