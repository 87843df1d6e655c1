#include "ike/sa/proposal_select.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "ike/sa/proposal_string.h"

namespace portcullis::ike {

namespace {

constexpr TransformType kTypes[] = {TransformType::kEncr, TransformType::kPrf,
                                    TransformType::kInteg, TransformType::kDh, TransformType::kEsn};

std::vector<const Transform*> OfType(const Proposal& p, TransformType t, bool strip_dh) {
  std::vector<const Transform*> out;
  if (strip_dh && t == TransformType::kDh) return out;
  for (const Transform& x : p.transforms) {
    if (x.type != t) continue;
    // "NONE" integrity / DH transforms say the same as no transform of that type.
    if ((t == TransformType::kInteg || t == TransformType::kDh) && x.id == 0) continue;
    out.push_back(&x);
  }
  return out;
}

bool SameTransform(const Transform& a, const Transform& b) {
  return a.type == b.type && a.id == b.id && a.KeyLength() == b.KeyLength();
}

std::optional<Proposal> Match(const Proposal& offered, const Proposal& ours, bool strip_dh) {
  if (offered.protocol != ours.protocol) return std::nullopt;
  Proposal r;
  r.number = offered.number;
  r.protocol = offered.protocol;
  r.spi = offered.spi;
  for (TransformType t : kTypes) {
    auto theirs = OfType(offered, t, strip_dh);
    auto mine = OfType(ours, t, strip_dh);
    if (t == TransformType::kEsn && offered.protocol != ProtocolId::kIke) {
      // A missing ESN transform means "no ESN".
      static const Transform kNoEsn = Transform::Esn(EsnId::kNoEsn);
      if (theirs.empty()) theirs.push_back(&kNoEsn);
      if (mine.empty()) mine.push_back(&kNoEsn);
    }
    if (theirs.empty() && mine.empty()) continue;
    if (theirs.empty() || mine.empty()) return std::nullopt;
    const Transform* chosen = nullptr;
    for (const Transform* x : theirs) {
      for (const Transform* y : mine) {
        if (SameTransform(*x, *y)) {
          chosen = x;
          break;
        }
      }
      if (chosen != nullptr) break;
    }
    if (chosen == nullptr) return std::nullopt;
    r.transforms.push_back(*chosen);
  }
  return r;
}

const Transform* First(const Proposal& p, TransformType t) {
  for (const Transform& x : p.transforms) {
    if (x.type == t) return &x;
  }
  return nullptr;
}

}  // namespace

bool OneTransformPerType(const Proposal& p) {
  for (size_t i = 0; i < p.transforms.size(); ++i) {
    for (size_t j = i + 1; j < p.transforms.size(); ++j) {
      if (p.transforms[i].type == p.transforms[j].type) return false;
    }
  }
  return true;
}

std::optional<Proposal> SelectProposal(const std::vector<Proposal>& offered,
                                       const std::vector<Proposal>& configured, bool strip_dh) {
  for (const Proposal& ours : configured) {
    for (const Proposal& theirs : offered) {
      if (auto r = Match(theirs, ours, strip_dh)) return r;
    }
  }
  return std::nullopt;
}

absl::StatusOr<IkeSaCryptoSuite> IkeSuiteFromProposal(const Proposal& p) {
  IkeSaCryptoSuite s;
  const Transform* e = First(p, TransformType::kEncr);
  const Transform* prf = First(p, TransformType::kPrf);
  const Transform* i = First(p, TransformType::kInteg);
  const Transform* dh = First(p, TransformType::kDh);
  if (e == nullptr || prf == nullptr || dh == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("incomplete IKE proposal ", ProposalString(p)));
  }
  s.encr = static_cast<EncrId>(e->id);
  s.encr_key_bits = e->KeyLength().value_or(0);
  s.prf = static_cast<PrfId>(prf->id);
  s.integ = i ? static_cast<IntegId>(i->id) : IntegId::kNone;
  s.dh = static_cast<DhGroup>(dh->id);
  absl::Status st = ValidateIkeSuite(s);
  if (!st.ok()) return st;
  return s;
}

absl::StatusOr<ChildSaCryptoSuite> ChildSuiteFromProposal(const Proposal& p) {
  ChildSaCryptoSuite s;
  const Transform* e = First(p, TransformType::kEncr);
  if (e == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("ESP proposal without encryption ", ProposalString(p)));
  }
  const Transform* i = First(p, TransformType::kInteg);
  const Transform* dh = First(p, TransformType::kDh);
  const Transform* esn = First(p, TransformType::kEsn);
  s.encr = static_cast<EncrId>(e->id);
  s.encr_key_bits = e->KeyLength().value_or(0);
  s.integ = i ? static_cast<IntegId>(i->id) : IntegId::kNone;
  s.pfs = dh ? static_cast<DhGroup>(dh->id) : DhGroup::kNone;
  s.esn = esn ? static_cast<EsnId>(esn->id) : EsnId::kNoEsn;
  absl::Status st = ValidateChildSuite(s);
  if (!st.ok()) return st;
  return s;
}

std::string ProposalListString(const std::vector<Proposal>& list) {
  std::vector<std::string> parts;
  for (const Proposal& p : list) {
    parts.push_back(absl::StrCat(ProtocolIdName(p.protocol), ":", ProposalString(p)));
  }
  return parts.empty() ? "(none)" : absl::StrJoin(parts, ", ");
}

std::vector<Proposal> WithDhGroup(const std::vector<Proposal>& list, DhGroup group) {
  std::vector<Proposal> out = StripDh(list);
  if (group == DhGroup::kNone) return out;
  for (Proposal& p : out) {
    // Before the ESN transform, where strongSwan puts it.
    auto it = std::find_if(p.transforms.begin(), p.transforms.end(),
                           [](const Transform& t) { return t.type == TransformType::kEsn; });
    p.transforms.insert(it, Transform::Dh(group));
  }
  return out;
}

std::vector<Proposal> StripDh(const std::vector<Proposal>& list) {
  std::vector<Proposal> out = list;
  for (Proposal& p : out) {
    std::erase_if(p.transforms, [](const Transform& t) { return t.type == TransformType::kDh; });
  }
  return out;
}

std::vector<DhGroup> DhGroupsOf(const std::vector<Proposal>& list) {
  std::vector<DhGroup> out;
  for (const Proposal& p : list) {
    for (const Transform& t : p.transforms) {
      if (t.type != TransformType::kDh || t.id == 0) continue;
      auto g = static_cast<DhGroup>(t.id);
      if (std::find(out.begin(), out.end(), g) == out.end()) out.push_back(g);
    }
  }
  return out;
}

std::vector<Proposal> WithSpi(const std::vector<Proposal>& list, const Bytes& spi) {
  std::vector<Proposal> out = list;
  uint8_t n = 1;
  for (Proposal& p : out) {
    p.spi = spi;
    p.number = n++;
  }
  return out;
}

}  // namespace portcullis::ike
