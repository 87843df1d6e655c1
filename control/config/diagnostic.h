// Errors and warnings from loading and validating a configuration, each tied to a file, a line
// and a config path, so a user can go straight to the line that needs changing.
#pragma once

#include <string>
#include <vector>

namespace portcullis::config {

struct SourceLoc {
  std::string file;  // as the user named it; "" for text not from a file
  int line = 0;      // 1-based; 0 = not tied to a line
};

struct Diagnostic {
  enum class Severity { kError, kWarning };
  Severity severity = Severity::kError;
  SourceLoc loc;
  std::string path;  // "security vpn ipsec esp-group ESP-1 proposal 1 hash"; may be empty
  std::string message;

  // "FILE: line N: PATH: MESSAGE", "warning: " in front of warnings.
  std::string ToString() const;
};

class Diagnostics {
 public:
  void Error(SourceLoc loc, std::string path, std::string message);
  void Warning(SourceLoc loc, std::string path, std::string message);
  const std::vector<Diagnostic>& all() const { return items_; }
  bool has_errors() const;
  int error_count() const;
  // Sorted by file and line (stable), for output.
  std::vector<Diagnostic> Sorted() const;
  void Append(const Diagnostics& other);

 private:
  std::vector<Diagnostic> items_;
};

}  // namespace portcullis::config
