#include "control/vpnd/ike_algorithm_names.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "control/config/algorithm_names.h"

namespace portcullis::vpnd {

using config::Support;

std::optional<IkeCipher> CipherOf(absl::string_view encryption) {
  const config::EncryptionName* e = config::FindEncryption(encryption);
  if (e == nullptr || e->support != Support::kSupported) return std::nullopt;
  return IkeCipher{static_cast<ike::EncrId>(e->transform_id), e->key_bits, e->aead};
}

std::optional<ike::IntegId> IntegOf(absl::string_view hash) {
  const config::HashName* h = config::FindHash(hash);
  if (h == nullptr || h->support != Support::kSupported || h->integ_id == 0) return std::nullopt;
  return static_cast<ike::IntegId>(h->integ_id);
}

std::optional<ike::PrfId> PrfOf(absl::string_view hash_or_prf) {
  if (const config::PrfName* p = config::FindPrf(hash_or_prf)) {
    return static_cast<ike::PrfId>(p->prf_id);
  }
  const config::HashName* h = config::FindHash(hash_or_prf);
  if (h == nullptr || h->support != Support::kSupported || h->prf_id == 0) return std::nullopt;
  return static_cast<ike::PrfId>(h->prf_id);
}

std::string VyattaEncryption(ike::EncrId e, uint16_t bits) {
  const config::EncryptionName* n = config::FindEncryption(static_cast<uint16_t>(e), bits);
  if (n != nullptr && n->support == Support::kSupported) return std::string(n->vyatta);
  return absl::AsciiStrToLower(
      ike::TransformName(ike::TransformType::kEncr, static_cast<uint16_t>(e), bits));
}

std::string VyattaHash(ike::IntegId i) {
  const config::HashName* n = config::FindHashByInteg(static_cast<uint16_t>(i));
  if (n != nullptr && n->support == Support::kSupported) return std::string(n->vyatta);
  return absl::StrCat(static_cast<int>(i));
}

std::string VyattaPrf(ike::PrfId p) {
  const config::HashName* n = config::FindHashByPrf(static_cast<uint16_t>(p));
  if (n != nullptr && n->support == Support::kSupported) return std::string(n->vyatta);
  return absl::StrCat("prf", static_cast<int>(p));
}

}  // namespace portcullis::vpnd
