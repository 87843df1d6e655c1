#include "dataplane/tables/interface_table.h"

#include <algorithm>
#include <cstring>

#include "dataplane/tables/sa_table.h"

namespace portcullis::dp {

void Interface::SetOutSa(SaEntry* e) {
  out_sa = e;
  out_esa = e != nullptr ? e->sa.get() : nullptr;
  out_owner = e != nullptr ? e->owner : 0;
  out_line1 = e != nullptr && !(e->sa->flags & esp::kSaFastOut);
}

void Tables::Reindex() {
  std::memset(ports, 0, sizeof ports);
  local.clear();
  for (uint32_t i = 1; i < nifs; ++i) {
    const Interface& f = ifs[i];
    if (f.kind == IfKind::kNone) continue;
    if ((f.kind == IfKind::kPort || f.kind == IfKind::kBond) && f.port < kMaxPorts) {
      ports[f.port].ifindex = static_cast<uint16_t>(i);
    } else if (f.kind == IfKind::kVif && f.port < kMaxPorts) {
      PortEntry& p = ports[f.port];
      if (p.nvlans < 32) p.vlans[p.nvlans++] = {f.vlan, static_cast<uint16_t>(i)};
    }
    for (uint8_t a = 0; a < f.naddr; ++a)
      local.push_back({f.addr[a].addr, static_cast<uint16_t>(i)});
  }
  npolled = 0;
  for (uint16_t port = 0; port < kMaxPorts; ++port)
    if (ports[port].ifindex != 0 || ports[port].nvlans != 0) polled[npolled++] = port;
  std::sort(local.begin(), local.end(),
            [](const LocalAddress& a, const LocalAddress& b) { return a.addr < b.addr; });
  nlocal = static_cast<uint32_t>(local.size());
}

}  // namespace portcullis::dp
