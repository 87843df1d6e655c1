#include "drivers/ethdev/ports_file.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace portcullis::drivers::ethdev {

absl::StatusOr<std::vector<PortSpec>> ParsePortsText(const std::string& text,
                                                     const std::string& source) {
  std::vector<PortSpec> out;
  absl::flat_hash_set<std::string> names;
  std::istringstream in(text);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (size_t hash = line.find('#'); hash != std::string::npos) line.erase(hash);
    const std::string entry(absl::StripAsciiWhitespace(line));
    if (entry.empty()) continue;
    auto where = [&] { return absl::StrCat(source, ": line ", n, ": "); };
    if (entry.find_first_of(" \t") != std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat(where(), "'", entry, "': one NAME=DEVICE per line, no spaces"));
    }
    auto spec = ParsePortSpec(entry);
    if (!spec.ok())
      return absl::InvalidArgumentError(absl::StrCat(where(), spec.status().message()));
    if (!names.insert(spec->name).second) {
      return absl::InvalidArgumentError(absl::StrCat(where(), "port ", spec->name, " given twice"));
    }
    out.push_back(*std::move(spec));
  }
  return out;
}

absl::StatusOr<std::vector<PortSpec>> ReadPortsFile(const std::string& path) {
  std::ifstream f(path);
  if (!f) {
    return absl::NotFoundError(
        absl::StrCat("cannot read ports file ", path, ": ", std::strerror(errno)));
  }
  std::stringstream text;
  text << f.rdbuf();
  return ParsePortsText(text.str(), path);
}

}  // namespace portcullis::drivers::ethdev
