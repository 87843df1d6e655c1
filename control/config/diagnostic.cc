#include "control/config/diagnostic.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace portcullis::config {

std::string Diagnostic::ToString() const {
  std::string out;
  if (!loc.file.empty()) absl::StrAppend(&out, loc.file, ": ");
  if (loc.line > 0) absl::StrAppend(&out, "line ", loc.line, ": ");
  if (severity == Severity::kWarning) absl::StrAppend(&out, "warning: ");
  if (!path.empty()) absl::StrAppend(&out, path, ": ");
  absl::StrAppend(&out, message);
  return out;
}

void Diagnostics::Error(SourceLoc loc, std::string path, std::string message) {
  items_.push_back(
      {Diagnostic::Severity::kError, std::move(loc), std::move(path), std::move(message)});
}

void Diagnostics::Warning(SourceLoc loc, std::string path, std::string message) {
  items_.push_back(
      {Diagnostic::Severity::kWarning, std::move(loc), std::move(path), std::move(message)});
}

bool Diagnostics::has_errors() const {
  return error_count() > 0;
}

int Diagnostics::error_count() const {
  return static_cast<int>(std::count_if(items_.begin(), items_.end(), [](const Diagnostic& d) {
    return d.severity == Diagnostic::Severity::kError;
  }));
}

std::vector<Diagnostic> Diagnostics::Sorted() const {
  std::vector<Diagnostic> out = items_;
  std::stable_sort(out.begin(), out.end(), [](const Diagnostic& a, const Diagnostic& b) {
    if (a.loc.file != b.loc.file) return a.loc.file < b.loc.file;
    return a.loc.line < b.loc.line;
  });
  return out;
}

void Diagnostics::Append(const Diagnostics& other) {
  items_.insert(items_.end(), other.items_.begin(), other.items_.end());
}

}  // namespace portcullis::config
