// A table as Python's tabulate prints it by default ("simple"): a header row, a row of dashes as
// wide as each column, then the rows; columns two spaces apart, trailing spaces trimmed. VyOS's
// op-mode commands (`show vpn ipsec connections`) print this way.
#pragma once

#include <string>
#include <vector>

namespace portcullis::vpnd {

std::string SimpleTable(const std::vector<std::string>& headers,
                        const std::vector<std::vector<std::string>>& rows);

}  // namespace portcullis::vpnd
