#include "control/vpnd/commit_impact.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace portcullis::vpnd {

namespace {

std::string TunnelName(const ike::ChildConfig& c) {
  return c.vti ? absl::StrCat("tunnel vti (", c.vti_interface, ")")
               : absl::StrCat("tunnel ", c.tunnel_id);
}

std::string PeerName(const ike::IkeSaConfig& p) {
  return absl::StrCat("peer ", p.peer_key.empty() ? p.name : p.peer_key);
}

// The IKE-level settings differ (anything but the tunnels).
bool IkeSettingsDiffer(const ike::IkeSaConfig& a, const ike::IkeSaConfig& b) {
  ike::IkeSaConfig x = a, y = b;
  x.children.clear();
  y.children.clear();
  return !(x == y);
}

std::string ResetReason(const ike::IkeSaConfig& a, const ike::IkeSaConfig& b) {
  std::map<std::string, const ike::ChildConfig*> old_children, new_children;
  for (const auto& c : a.children) old_children[c.name] = &c;
  for (const auto& c : b.children) new_children[c.name] = &c;
  std::vector<std::string> created, removed, changed;
  for (const auto& [name, c] : new_children) {
    auto it = old_children.find(name);
    if (it == old_children.end()) {
      created.push_back(TunnelName(*c));
    } else if (!(*it->second == *c)) {
      changed.push_back(TunnelName(*c));
    }
  }
  for (const auto& [name, c] : old_children) {
    if (!new_children.count(name)) removed.push_back(TunnelName(*c));
  }
  std::vector<std::string> why;
  if (IkeSettingsDiffer(a, b)) why.push_back("IKE settings changed");
  if (!changed.empty()) why.push_back(absl::StrCat(absl::StrJoin(changed, ", "), " changed"));
  if (!created.empty()) why.push_back(absl::StrCat(absl::StrJoin(created, ", "), " created"));
  if (!removed.empty()) why.push_back(absl::StrCat(absl::StrJoin(removed, ", "), " removed"));
  return absl::StrJoin(why, "; ");
}

}  // namespace

std::string DescribeCommitImpact(const PeerConfigs& before, const PeerConfigs& after) {
  std::map<std::string, const ike::IkeSaConfig*> old_peers;
  for (const auto& p : before) old_peers[p->name] = p.get();
  std::string out;
  for (const auto& p : after) {
    auto it = old_peers.find(p->name);
    if (it == old_peers.end()) {
      std::vector<std::string> tunnels;
      for (const auto& c : p->children) tunnels.push_back(TunnelName(c));
      absl::StrAppend(&out, PeerName(*p), ": created (",
                      tunnels.empty() ? "no tunnels" : absl::StrJoin(tunnels, ", "),
                      "): ", p->initiate && !p->remote_any ? "initiates" : "waits for the peer",
                      "\n");
    } else if (!(*it->second == *p)) {
      absl::StrAppend(&out, PeerName(*p), ": reset (", ResetReason(*it->second, *p),
                      "): its IKE SA and tunnels are renegotiated\n");
    }
  }
  std::map<std::string, bool> now;
  for (const auto& p : after) now[p->name] = true;
  for (const auto& p : before) {
    if (!now.count(p->name)) {
      absl::StrAppend(&out, PeerName(*p), ": removed: its IKE SA and tunnels are deleted\n");
    }
  }
  return out;
}

}  // namespace portcullis::vpnd
