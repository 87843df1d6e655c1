#include "control/config/pair_check.h"

#include <algorithm>
#include <functional>
#include <iterator>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace portcullis::config {

namespace {

struct Side {
  std::string name;
  const Model* model;
  const Peer* peer;
  const IkeGroup* ike = nullptr;

  std::string Label() const { return absl::StrCat(name, " peer ", peer->key); }
};

struct Child {
  std::string label;  // "vti" or "tunnel 1 <-> tunnel 3"
  const EspGroup* a = nullptr;
  const EspGroup* b = nullptr;
  std::string a_name, b_name;
};

std::string IkeProposalText(const IkeProposal& p) {
  return absl::StrCat(p.encryption, "-", p.hash, p.prf.empty() ? "" : "-" + p.prf, "-dh",
                      p.dh_group);
}

bool SameIkeProposal(const IkeProposal& x, const IkeProposal& y) {
  return x.encryption == y.encryption && x.hash == y.hash && x.prf == y.prf &&
         x.dh_group == y.dh_group;
}

std::string VersionText(const IkeGroup& g) {
  std::string v = absl::StrCat("ike-version ", g.ike_version);
  if (!g.ike_version_set) absl::StrAppend(&v, " (unset: the Vyatta default)");
  return v;
}

std::string SelectorText(const TrafficSelector& s) {
  std::string out = absl::StrCat("local ", s.local ? s.local->ToString() : "-", " remote ",
                                 s.remote ? s.remote->ToString() : "-");
  if (!s.protocol.empty()) absl::StrAppend(&out, " protocol ", s.protocol);
  if (!s.local_port.empty()) absl::StrAppend(&out, " local-port ", s.local_port);
  if (!s.remote_port.empty()) absl::StrAppend(&out, " remote-port ", s.remote_port);
  return out;
}

bool Mirrored(const TrafficSelector& x, const TrafficSelector& y) {
  return x.local == y.remote && x.remote == y.local && x.protocol == y.protocol &&
         x.local_port == y.remote_port && x.remote_port == y.local_port;
}

class PairChecker {
 public:
  PairChecker(Side a, Side b, PairReport& report) : a_(a), b_(b), r_(report) {}

  void Run() {
    CheckAddresses();
    CheckIds();
    CheckPsk();
    CheckConnectionType();
    a_.ike = Find(a_.model->ike_groups, a_.peer->ike_group);
    b_.ike = Find(b_.model->ike_groups, b_.peer->ike_group);
    if (a_.ike == nullptr || b_.ike == nullptr) {
      for (const Side* s : {&a_, &b_}) {
        if (s->ike == nullptr)
          Add("ike-group", absl::StrCat(s->Label(), ": ike-group '", s->peer->ike_group,
                                        "' is not configured, so IKE cannot be compared"));
      }
    } else {
      CheckIkeVersion();
      CheckIkeProposals();
      CheckLifetime("ike-lifetime", "IKE lifetime", a_.ike->lifetime, b_.ike->lifetime,
                    "ike-group " + a_.ike->name, "ike-group " + b_.ike->name);
      CheckMakeBeforeBreak();
      CheckDpd();
    }
    CheckRouting();
    for (const Child& c : children_) CheckChild(c);
  }

 private:
  template <typename M>
  static const typename M::mapped_type* Find(const M& map, const std::string& key) {
    auto it = map.find(key);
    return it == map.end() ? nullptr : &it->second;
  }

  void Add(std::string check, std::string message) {
    r_.mismatches.push_back({std::move(check), std::move(message)});
  }

  void CheckAddresses() {
    auto one = [&](const Side& x, const Side& y) {
      ++r_.checks;
      std::string addr = x.peer->address ? x.peer->address->ToString() : x.peer->key;
      if (y.peer->local_address == "any") return;  // cannot be known statically
      if (addr != y.peer->local_address) {
        Add("peer-address",
            absl::StrCat("peer address is not the other side's local-address: ", x.Label(),
                         " points at ", addr, ", but ", y.Label(), " has local-address ",
                         y.peer->local_address.empty() ? "(unset)" : y.peer->local_address));
      }
    };
    one(a_, b_);
    one(b_, a_);
  }

  void CheckIds() {
    auto one = [&](const Side& x, const Side& y) {
      ++r_.checks;
      std::string id = x.peer->EffectiveId();
      std::string rid = y.peer->EffectiveRemoteId();
      if (id != rid) {
        Add("ids", absl::StrCat("id/remote-id not mirrored: ", x.Label(), " authentication id '",
                                id, "'", x.peer->id.empty() ? " (unset: its local-address)" : "",
                                ", but ", y.Label(), " authentication remote-id '", rid, "'",
                                y.peer->remote_id.empty() ? " (unset: its peer address)" : ""));
      }
    };
    one(a_, b_);
    one(b_, a_);
  }

  void CheckPsk() {
    ++r_.checks;
    if (a_.peer->auth_mode == "pre-shared-secret" && b_.peer->auth_mode == "pre-shared-secret" &&
        a_.peer->psk != b_.peer->psk) {
      Add("psk", absl::StrCat("pre-shared-secret differs between ", a_.Label(), " and ", b_.Label(),
                              " (values not shown)"));
    }
  }

  void CheckConnectionType() {
    ++r_.checks;
    if (a_.peer->connection_type == "respond" && b_.peer->connection_type == "respond") {
      Add("connection-type", absl::StrCat("both sides only respond (", a_.Label(), ", ", b_.Label(),
                                          "): nobody initiates the tunnel"));
    }
  }

  void CheckIkeVersion() {
    ++r_.checks;
    if (a_.ike->ike_version != b_.ike->ike_version) {
      Add("ike-version",
          absl::StrCat("IKE version differs: ", a_.Label(), " ", VersionText(*a_.ike), ", ",
                       b_.Label(), " ", VersionText(*b_.ike)));
    }
  }

  // The IKE proposal both would agree on (the initiator's order), or null.
  const IkeProposal* CommonIkeProposal() const {
    for (const IkeProposal& p : a_.ike->proposals)
      for (const IkeProposal& q : b_.ike->proposals)
        if (SameIkeProposal(p, q)) return &p;
    return nullptr;
  }

  template <typename P, typename Field>
  void ReportFields(const std::string& check, const std::string& what, const std::vector<P>& pa,
                    const std::vector<P>& pb,
                    const std::vector<std::pair<std::string, Field>>& fields, const std::string& la,
                    const std::string& lb, const std::function<std::string(const P&)>& text) {
    bool any_field = false;
    for (const auto& [fname, get] : fields) {
      std::set<std::string> sa, sb;
      for (const P& p : pa) sa.insert(get(p));
      for (const P& p : pb) sb.insert(get(p));
      std::vector<std::string> common;
      std::set_intersection(sa.begin(), sa.end(), sb.begin(), sb.end(), std::back_inserter(common));
      if (common.empty()) {
        any_field = true;
        Add(check,
            absl::StrCat("no common ", what, " proposal: ", fname, " differs: ", la, " offers ",
                         absl::StrJoin(sa, ", "), ", ", lb, " offers ", absl::StrJoin(sb, ", ")));
      }
    }
    if (!any_field) {
      std::vector<std::string> ta, tb;
      for (const P& p : pa) ta.push_back(text(p));
      for (const P& p : pb) tb.push_back(text(p));
      Add(check, absl::StrCat("no common ", what, " proposal: no proposal matches as a whole: ", la,
                              " offers ", absl::StrJoin(ta, ", "), "; ", lb, " offers ",
                              absl::StrJoin(tb, ", ")));
    }
  }

  void CheckIkeProposals() {
    ++r_.checks;
    if (CommonIkeProposal() != nullptr) return;
    using Get = std::function<std::string(const IkeProposal&)>;
    std::vector<std::pair<std::string, Get>> fields = {
        {"encryption", [](const IkeProposal& p) { return p.encryption; }},
        {"hash", [](const IkeProposal& p) { return p.hash; }},
        {"dh-group", [](const IkeProposal& p) { return absl::StrCat(p.dh_group); }},
    };
    ReportFields<IkeProposal, Get>("ike-proposal", "IKE", a_.ike->proposals, b_.ike->proposals,
                                   fields, a_.Label() + " ike-group " + a_.ike->name,
                                   b_.Label() + " ike-group " + b_.ike->name, IkeProposalText);
  }

  void CheckLifetime(const std::string& check, const std::string& what, uint32_t la, uint32_t lb,
                     const std::string& where_a, const std::string& where_b) {
    ++r_.checks;
    if (la != lb) {
      Add(check, absl::StrCat(what, " differs: ", a_.Label(), " ", where_a, " lifetime ", la, ", ",
                              b_.Label(), " ", where_b, " lifetime ", lb));
    }
  }

  void CheckMakeBeforeBreak() {
    for (const Side* s : {&a_, &b_}) {
      ++r_.checks;
      if (s->ike->ike_version == "2" && !s->model->ike.make_before_break) {
        Add("make-before-break",
            absl::StrCat("IKEv2 without make-before-break on ", s->name,
                         " (omitting it can cause outages on reauthentication): set security "
                         "vpn ike make-before-break"));
      }
    }
  }

  void CheckDpd() {
    for (const Side* s : {&a_, &b_}) {
      ++r_.checks;
      if (!s->ike->dpd.enabled) {
        Add("dpd", absl::StrCat("DPD missing on ", s->Label(), ": ike-group ", s->ike->name,
                                " has no dead-peer-detection (the other side ",
                                (s == &a_ ? b_ : a_).ike->dpd.enabled ? "has it" : "neither", ")"));
      }
    }
  }

  void CheckRouting() {
    const Peer& pa = *a_.peer;
    const Peer& pb = *b_.peer;
    ++r_.checks;
    if (pa.route_based() != pb.route_based()) {
      auto kind = [](const Peer& p) {
        return p.route_based() ? absl::StrCat("route-based (vti bind ", p.vti_bind, ")")
                               : std::string("policy-based (tunnel selectors)");
      };
      Add("vti-vs-policy",
          absl::StrCat("one side is route-based and the other policy-based: ", a_.Label(), " is ",
                       kind(pa), ", ", b_.Label(), " is ", kind(pb)));
      std::string ea =
          pa.route_based() ? pa.vti_esp_group : (pa.tunnels.empty() ? "" : pa.tunnels[0].esp_group);
      std::string eb =
          pb.route_based() ? pb.vti_esp_group : (pb.tunnels.empty() ? "" : pb.tunnels[0].esp_group);
      AddChild("first child SA", ea, eb);
      return;
    }
    if (pa.route_based()) {
      AddChild("vti", pa.vti_esp_group, pb.vti_esp_group);
      return;
    }
    ++r_.checks;
    std::vector<bool> b_used(pb.tunnels.size(), false);
    for (const Tunnel& ta : pa.tunnels) {
      if (ta.disabled) continue;
      bool found = false;
      for (size_t j = 0; j < pb.tunnels.size(); ++j) {
        const Tunnel& tb = pb.tunnels[j];
        if (!tb.disabled && !b_used[j] && Mirrored(ta.selector, tb.selector)) {
          b_used[j] = true;
          found = true;
          AddChild(absl::StrCat("tunnel ", ta.id, " <-> tunnel ", tb.id), ta.esp_group,
                   tb.esp_group);
          break;
        }
      }
      if (!found) {
        std::vector<std::string> others;
        for (const Tunnel& tb : pb.tunnels)
          others.push_back(absl::StrCat("tunnel ", tb.id, " ", SelectorText(tb.selector)));
        Add("traffic-selectors",
            absl::StrCat("traffic selectors not swapped: ", a_.Label(), " tunnel ", ta.id, " ",
                         SelectorText(ta.selector), " has no mirror in ", b_.name, " (",
                         others.empty() ? "no tunnels" : absl::StrJoin(others, "; "), ")"));
      }
    }
    for (size_t j = 0; j < pb.tunnels.size(); ++j) {
      if (b_used[j] || pb.tunnels[j].disabled) continue;
      Add("traffic-selectors",
          absl::StrCat("traffic selectors not swapped: ", b_.Label(), " tunnel ", pb.tunnels[j].id,
                       " ", SelectorText(pb.tunnels[j].selector), " has no mirror in ", a_.name));
    }
  }

  void AddChild(const std::string& label, const std::string& ea, const std::string& eb) {
    Child c;
    c.label = label;
    c.a_name = ea;
    c.b_name = eb;
    c.a = Find(a_.model->esp_groups, ea);
    c.b = Find(b_.model->esp_groups, eb);
    children_.push_back(c);
  }

  void CheckChild(const Child& c) {
    if (c.a == nullptr || c.b == nullptr) {
      Add("esp-group", absl::StrCat(c.label, ": esp-group '", c.a ? c.b_name : c.a_name,
                                    "' is not configured, so ESP cannot be compared"));
      return;
    }
    std::string la = absl::StrCat(a_.Label(), " esp-group ", c.a->name);
    std::string lb = absl::StrCat(b_.Label(), " esp-group ", c.b->name);
    // ESP proposals.
    ++r_.checks;
    bool common = false;
    for (const EspProposal& p : c.a->proposals)
      for (const EspProposal& q : c.b->proposals)
        common |= p.encryption == q.encryption && p.hash == q.hash;
    if (!common) {
      using Get = std::function<std::string(const EspProposal&)>;
      std::vector<std::pair<std::string, Get>> fields = {
          {"encryption", [](const EspProposal& p) { return p.encryption; }},
          {"hash", [](const EspProposal& p) { return p.hash; }},
      };
      ReportFields<EspProposal, Get>(
          "esp-proposal", "ESP", c.a->proposals, c.b->proposals, fields, la, lb,
          [](const EspProposal& p) { return absl::StrCat(p.encryption, "-", p.hash); });
    }
    // ESN: one ESN transform per side (esn enable requires it), so a difference leaves no
    // common proposal.
    ++r_.checks;
    if (c.a->esn != c.b->esn) {
      Add("esn", absl::StrCat("ESN differs (no CHILD SA: NO_PROPOSAL_CHOSEN): ", la, " esn ",
                              c.a->esn ? "enable" : "disable", ", ", lb, " esn ",
                              c.b->esn ? "enable" : "disable"));
    }
    CheckLifetime("esp-lifetime", "ESP lifetime", c.a->lifetime, c.b->lifetime,
                  "esp-group " + c.a->name, "esp-group " + c.b->name);
    // IKE lifetime must outlast the CHILD SAs it rekeys.
    for (const auto& [side, esp] : {std::pair{&a_, c.a}, std::pair{&b_, c.b}}) {
      ++r_.checks;
      if (side->ike && side->ike->lifetime <= esp->lifetime) {
        Add("ike-vs-esp-lifetime",
            absl::StrCat("IKE lifetime not longer than ESP lifetime on ", side->Label(),
                         ": ike-group ", side->ike->name, " lifetime ", side->ike->lifetime,
                         " <= esp-group ", esp->name, " lifetime ", esp->lifetime));
      }
    }
    // PFS: the group each side will put in CREATE_CHILD_SA.
    if (a_.ike && b_.ike) {
      ++r_.checks;
      const IkeProposal* ike = CommonIkeProposal();
      int dh_a =
          ike ? ike->dh_group : (a_.ike->proposals.empty() ? 0 : a_.ike->proposals[0].dh_group);
      int dh_b =
          ike ? ike->dh_group : (b_.ike->proposals.empty() ? 0 : b_.ike->proposals[0].dh_group);
      int ga = c.a->PfsGroup(dh_a), gb = c.b->PfsGroup(dh_b);
      if (ga != gb) {
        auto text = [](const EspGroup& e, int g) {
          std::string t = absl::StrCat("pfs ", e.pfs);
          if (e.pfs == "enable") absl::StrAppend(&t, " (dh-group ", g, " of the IKE group)");
          return t;
        };
        Add("pfs", absl::StrCat("PFS differs (tunnels come up, then fail on rekey): ", la, " ",
                                text(*c.a, ga), ", ", lb, " ", text(*c.b, gb)));
      }
    }
  }

  Side a_, b_;
  PairReport& r_;
  std::vector<Child> children_;
};

// Which peers of A and B are the two ends of one tunnel: each points at the other's local
// address. With one peer on each side they are paired even if nothing matches, so the address
// mismatch is reported rather than "nothing to compare".
std::vector<std::pair<const Peer*, const Peer*>> MatchPeers(const Model& a, const Model& b) {
  std::vector<std::pair<const Peer*, const Peer*>> out;
  auto points_at = [](const Peer& x, const Peer& y) {
    return x.address && x.address->ToString() == y.local_address;
  };
  for (const Peer& pa : a.peers)
    for (const Peer& pb : b.peers)
      if (points_at(pa, pb) || points_at(pb, pa)) out.push_back({&pa, &pb});
  if (out.empty() && a.peers.size() == 1 && b.peers.size() == 1)
    out.push_back({&a.peers[0], &b.peers[0]});
  return out;
}

}  // namespace

PairReport CheckPair(const std::string& name_a, const Model& a, const std::string& name_b,
                     const Model& b) {
  PairReport report;
  auto pairs = MatchPeers(a, b);
  if (pairs.empty()) {
    auto list = [](const Model& m) {
      std::vector<std::string> out;
      for (const Peer& p : m.peers)
        out.push_back(absl::StrCat(p.key, " (local-address ", p.local_address, ")"));
      return out.empty() ? std::string("no peers") : absl::StrJoin(out, ", ");
    };
    report.mismatches.push_back(
        {"peer-address",
         absl::StrCat("no peer of ", name_a, " points at a local-address of ", name_b,
                      " or back: ", name_a, ": ", list(a), "; ", name_b, ": ", list(b))});
    return report;
  }
  for (const auto& [pa, pb] : pairs) {
    Side sa{name_a, &a, pa};
    Side sb{name_b, &b, pb};
    report.pairs.push_back(absl::StrCat(sa.Label(), " <-> ", sb.Label()));
    PairChecker(sa, sb, report).Run();
  }
  return report;
}

}  // namespace portcullis::config
