#include "ike/crypto/key_schedule.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "ike/crypto/prf.h"

namespace portcullis::ike {

namespace {

// Cuts consecutive keys out of prf+ output, in the order they are asked for.
class KeySlicer {
 public:
  explicit KeySlicer(const SecretBytes& keymat) : keymat_(keymat) {}
  SecretBytes Next(size_t size) {
    SecretBytes key = keymat_.Sub(offset_, size);
    offset_ += size;
    return key;
  }
  size_t used() const { return offset_; }

 private:
  const SecretBytes& keymat_;
  size_t offset_ = 0;
};

}  // namespace

absl::StatusOr<SecretBytes> ComputeSkeyseed(PrfId prf, absl::Span<const uint8_t> ni,
                                            absl::Span<const uint8_t> nr, const SecretBytes& g_ir) {
  // prf(Ni | Nr, g^ir): the nonces are the key. HMAC takes a key of any length, so the
  // concatenation is used whole (2.14 cuts it only for fixed-key PRFs such as AES-XCBC).
  std::vector<uint8_t> key(ni.begin(), ni.end());
  key.insert(key.end(), nr.begin(), nr.end());
  return Prf(prf, key, {g_ir.span()});
}

absl::StatusOr<SecretBytes> ComputeRekeySkeyseed(PrfId old_prf, const SecretBytes& old_sk_d,
                                                 const SecretBytes& g_ir_new,
                                                 absl::Span<const uint8_t> ni,
                                                 absl::Span<const uint8_t> nr) {
  return Prf(old_prf, old_sk_d.span(), {g_ir_new.span(), ni, nr});
}

absl::StatusOr<IkeSaKeys> DeriveIkeSaKeys(const IkeSaCryptoSuite& suite,
                                          const SecretBytes& skeyseed, absl::Span<const uint8_t> ni,
                                          absl::Span<const uint8_t> nr, const IkeSpi& spi_i,
                                          const IkeSpi& spi_r) {
  absl::Status valid = ValidateIkeSuite(suite);
  if (!valid.ok()) return valid;
  size_t prf_size = PrfOutputSize(suite.prf);
  size_t integ_size = IntegKeySize(suite.integ);
  size_t encr_size = EncrKeyMaterialSize(suite.encr, suite.encr_key_bits);
  size_t total = 3 * prf_size + 2 * integ_size + 2 * encr_size;
  absl::StatusOr<SecretBytes> keymat =
      PrfPlus(suite.prf, skeyseed.span(), {ni, nr, spi_i, spi_r}, total);
  if (!keymat.ok()) return keymat.status();
  KeySlicer slice(*keymat);
  IkeSaKeys keys;
  keys.sk_d = slice.Next(prf_size);
  keys.sk_ai = slice.Next(integ_size);
  keys.sk_ar = slice.Next(integ_size);
  keys.sk_ei = slice.Next(encr_size);
  keys.sk_er = slice.Next(encr_size);
  keys.sk_pi = slice.Next(prf_size);
  keys.sk_pr = slice.Next(prf_size);
  return keys;
}

absl::StatusOr<ChildSaKeys> DeriveChildSaKeys(PrfId prf, const SecretBytes& sk_d,
                                              const ChildSaCryptoSuite& suite,
                                              const SecretBytes* g_ir_new,
                                              absl::Span<const uint8_t> ni,
                                              absl::Span<const uint8_t> nr) {
  absl::Status valid = ValidateChildSuite(suite);
  if (!valid.ok()) return valid;
  if ((suite.pfs != DhGroup::kNone) != (g_ir_new != nullptr)) {
    return absl::InvalidArgumentError(
        "CHILD SA keys: a PFS group needs its shared secret, and only then");
  }
  size_t encr_size = EncrKeyMaterialSize(suite.encr, suite.encr_key_bits);
  size_t integ_size = IntegKeySize(suite.integ);
  absl::Span<const uint8_t> pfs =
      g_ir_new != nullptr ? g_ir_new->span() : absl::Span<const uint8_t>();
  absl::StatusOr<SecretBytes> keymat =
      PrfPlus(prf, sk_d.span(), {pfs, ni, nr}, 2 * (encr_size + integ_size));
  if (!keymat.ok()) return keymat.status();
  KeySlicer slice(*keymat);
  ChildSaKeys keys;
  keys.encr_i = slice.Next(encr_size);
  keys.integ_i = slice.Next(integ_size);
  keys.encr_r = slice.Next(encr_size);
  keys.integ_r = slice.Next(integ_size);
  return keys;
}

}  // namespace portcullis::ike
