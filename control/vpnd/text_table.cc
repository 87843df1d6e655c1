#include "control/vpnd/text_table.h"

#include <algorithm>

namespace portcullis::vpnd {

namespace {

void Line(const std::vector<std::string>& cells, const std::vector<size_t>& widths,
          std::string& out) {
  std::string line;
  for (size_t i = 0; i < widths.size(); ++i) {
    const std::string cell = i < cells.size() ? cells[i] : "";
    if (i > 0) line += "  ";
    line += cell;
    line.append(widths[i] - std::min(widths[i], cell.size()), ' ');
  }
  while (!line.empty() && line.back() == ' ') line.pop_back();
  out += line;
  out += '\n';
}

}  // namespace

std::string SimpleTable(const std::vector<std::string>& headers,
                        const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const std::string& h : headers) widths.push_back(h.size());
  for (const auto& r : rows) {
    for (size_t i = 0; i < r.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], r[i].size());
    }
  }
  std::string out;
  Line(headers, widths, out);
  std::vector<std::string> dashes;
  for (size_t w : widths) dashes.emplace_back(w, '-');
  Line(dashes, widths, out);
  for (const auto& r : rows) Line(r, widths, out);
  return out;
}

}  // namespace portcullis::vpnd
