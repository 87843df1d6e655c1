#include "ike/sa/proposal_string.h"

#include <vector>

#include "absl/strings/str_join.h"

namespace portcullis::ike {

namespace {

std::string Name(TransformType type, uint16_t id, int key_bits = 0) {
  return TransformName(type, id, key_bits);
}

}  // namespace

std::string SuiteString(const IkeSaCryptoSuite& s) {
  std::vector<std::string> parts;
  parts.push_back(Name(TransformType::kEncr, static_cast<uint16_t>(s.encr), s.encr_key_bits));
  if (s.integ != IntegId::kNone) {
    parts.push_back(Name(TransformType::kInteg, static_cast<uint16_t>(s.integ)));
  }
  parts.push_back(Name(TransformType::kPrf, static_cast<uint16_t>(s.prf)));
  parts.push_back(Name(TransformType::kDh, static_cast<uint16_t>(s.dh)));
  return absl::StrJoin(parts, "/");
}

std::string SuiteString(const ChildSaCryptoSuite& s) {
  std::vector<std::string> parts;
  parts.push_back(Name(TransformType::kEncr, static_cast<uint16_t>(s.encr), s.encr_key_bits));
  if (s.integ != IntegId::kNone) {
    parts.push_back(Name(TransformType::kInteg, static_cast<uint16_t>(s.integ)));
  }
  if (s.pfs != DhGroup::kNone) {
    parts.push_back(Name(TransformType::kDh, static_cast<uint16_t>(s.pfs)));
  }
  if (s.esn == EsnId::kEsn) parts.push_back("ESN");
  return absl::StrJoin(parts, "/");
}

std::string ProposalString(const Proposal& proposal) {
  std::vector<std::string> parts;
  for (TransformType type :
       {TransformType::kEncr, TransformType::kInteg, TransformType::kPrf, TransformType::kDh}) {
    for (const Transform& t : proposal.transforms) {
      if (t.type != type) continue;
      // INTEG "NONE" (id 0) beside an AEAD cipher says nothing an operator needs.
      if (type == TransformType::kInteg && t.id == 0) continue;
      parts.push_back(Name(type, t.id, t.KeyLength().value_or(0)));
    }
  }
  bool esn = false, no_esn = false;
  for (const Transform& t : proposal.transforms) {
    if (t.type != TransformType::kEsn) continue;
    if (t.id == static_cast<uint16_t>(EsnId::kEsn)) esn = true;
    if (t.id == static_cast<uint16_t>(EsnId::kNoEsn)) no_esn = true;
  }
  if (esn) parts.push_back(no_esn ? "ESN/NO_ESN" : "ESN");
  // Transform types beyond ESN (RFC 9370 additional key exchanges, or unknown ones) are shown
  // by number rather than dropped, so a log never hides part of an offer.
  for (const Transform& t : proposal.transforms) {
    if (static_cast<uint8_t>(t.type) > static_cast<uint8_t>(TransformType::kEsn) ||
        static_cast<uint8_t>(t.type) == 0) {
      parts.push_back(Name(t.type, t.id));
    }
  }
  return absl::StrJoin(parts, "/");
}

}  // namespace portcullis::ike
