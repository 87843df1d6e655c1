#include "control/config/algorithm_names.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace portcullis::config {

namespace {

// Table order is the order the schema offers the values in (its errors and help list them so).
constexpr EncryptionName kEncryptions[] = {
    {"aes128", 12, 128, false, Support::kSupported},
    {"aes256", 12, 256, false, Support::kSupported},
    {"3des", 3, 0, false, Support::kInsecure},
    {"aes128gcm128", 20, 128, true, Support::kSupported},
    {"aes256gcm128", 20, 256, true, Support::kSupported},
};

constexpr uint8_t kNoVyos = 0xff;
constexpr HashName kHashes[] = {
    {"md5", "md5", 4, 1, 1, Support::kInsecure},
    {"sha1", "sha1", 3, 2, 2, Support::kSupported},
    {"sha1_160", "", kNoVyos, 7, 0, Support::kRetired},
    {"sha2_256", "sha256", 0, 12, 5, Support::kSupported},
    {"sha2_384", "sha384", 1, 13, 6, Support::kSupported},
    {"sha2_512", "sha512", 2, 14, 7, Support::kSupported},
    {"null", "null", 5, 0, 0, Support::kSupported},
};

constexpr PrfName kPrfs[] = {
    {"prfsha1", 2},
    {"prfsha256", 5},
    {"prfsha384", 6},
    {"prfsha512", 7},
};

constexpr DhGroupName kDhGroups[] = {
    {2, "MODP-1024", true, false},   {5, "MODP-1536", true, false},
    {14, "MODP-2048", false, true},  {15, "MODP-3072", false, false},
    {16, "MODP-4096", false, false}, {17, "MODP-6144", false, false},
    {18, "MODP-8192", false, false}, {19, "ECP-256", false, true},
    {20, "ECP-384", false, true},    {21, "ECP-521", false, false},
    {31, "Curve25519", false, true},
};

// "a, b, c or d".
std::string JoinOr(const std::vector<std::string>& items) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += i + 1 == items.size() ? " or " : ", ";
    out += items[i];
  }
  return out;
}

template <class T, class Pred>
const T* FindIf(absl::Span<const T> table, Pred pred) {
  auto it = std::find_if(table.begin(), table.end(), pred);
  return it == table.end() ? nullptr : &*it;
}

std::string RefusalOf(absl::string_view name, Support support,
                      const std::vector<std::string>& alternatives) {
  switch (support) {
    case Support::kSupported:
      return "";
    case Support::kInsecure:
      return absl::StrCat(name, " is not supported (insecure): use ", JoinOr(alternatives));
    case Support::kRetired:
      return absl::StrCat(name, " is no longer supported.");
  }
  return "";
}

}  // namespace

absl::Span<const EncryptionName> Encryptions() {
  return kEncryptions;
}
absl::Span<const HashName> Hashes() {
  return kHashes;
}
absl::Span<const PrfName> Prfs() {
  return kPrfs;
}
absl::Span<const DhGroupName> DhGroups() {
  return kDhGroups;
}

const EncryptionName* FindEncryption(absl::string_view vyatta) {
  return FindIf(Encryptions(), [&](const EncryptionName& e) { return e.vyatta == vyatta; });
}

const EncryptionName* FindEncryption(uint16_t transform_id, uint16_t key_bits) {
  return FindIf(Encryptions(), [&](const EncryptionName& e) {
    return e.transform_id == transform_id && e.key_bits == key_bits;
  });
}

const HashName* FindHash(absl::string_view vyatta) {
  return FindIf(Hashes(), [&](const HashName& h) { return h.vyatta == vyatta; });
}

const HashName* FindVyosHash(absl::string_view vyos) {
  if (vyos.empty()) return nullptr;
  return FindIf(Hashes(), [&](const HashName& h) { return h.vyos == vyos; });
}

const HashName* FindHashByInteg(uint16_t integ_id) {
  if (integ_id == 0) return FindHash("null");
  return FindIf(Hashes(), [&](const HashName& h) { return h.integ_id == integ_id; });
}

const HashName* FindHashByPrf(uint16_t prf_id) {
  if (prf_id == 0) return nullptr;
  return FindIf(Hashes(), [&](const HashName& h) { return h.prf_id == prf_id; });
}

const PrfName* FindPrf(absl::string_view vyatta) {
  return FindIf(Prfs(), [&](const PrfName& p) { return p.vyatta == vyatta; });
}

const DhGroupName* FindDhGroup(int group) {
  return FindIf(DhGroups(), [&](const DhGroupName& g) { return g.group == group; });
}

std::vector<std::string> EncryptionValues() {
  std::vector<std::string> out;
  for (const EncryptionName& e : Encryptions()) out.emplace_back(e.vyatta);
  return out;
}

std::vector<std::string> HashValues() {
  std::vector<std::string> out;
  for (const HashName& h : Hashes()) out.emplace_back(h.vyatta);
  return out;
}

std::vector<std::string> PrfValues() {
  std::vector<std::string> out;
  for (const PrfName& p : Prfs()) out.emplace_back(p.vyatta);
  return out;
}

std::vector<std::string> DhGroupValues() {
  std::vector<std::string> out;
  for (const DhGroupName& g : DhGroups()) out.push_back(absl::StrCat(g.group));
  return out;
}

std::vector<std::string> PfsValues() {
  std::vector<std::string> out = {"enable", "disable"};
  for (const DhGroupName& g : DhGroups()) out.push_back(absl::StrCat("dh-group", g.group));
  return out;
}

std::vector<std::string> VyosHashNames() {
  std::vector<const HashName*> named;
  for (const HashName& h : Hashes()) {
    if (!h.vyos.empty()) named.push_back(&h);
  }
  std::sort(named.begin(), named.end(),
            [](const HashName* a, const HashName* b) { return a->vyos_order < b->vyos_order; });
  std::vector<std::string> out;
  for (const HashName* h : named) out.emplace_back(h->vyos);
  return out;
}

std::string Refusal(const EncryptionName& e) {
  std::vector<std::string> supported;
  for (const EncryptionName& x : Encryptions()) {
    if (x.support == Support::kSupported) supported.emplace_back(x.vyatta);
  }
  return RefusalOf(e.vyatta, e.support, supported);
}

std::string Refusal(const HashName& h) {
  // The alternatives to an integrity algorithm are the other integrity algorithms: null is
  // only allowed with a combined-mode cipher.
  std::vector<std::string> supported;
  for (const HashName& x : Hashes()) {
    if (x.support == Support::kSupported && x.integ_id != 0) supported.emplace_back(x.vyatta);
  }
  return RefusalOf(h.vyatta, h.support, supported);
}

std::string PreferredDhGroups() {
  std::vector<std::string> preferred;
  for (const DhGroupName& g : DhGroups()) {
    if (g.preferred) preferred.push_back(absl::StrCat(g.group));
  }
  return JoinOr(preferred);
}

}  // namespace portcullis::config
