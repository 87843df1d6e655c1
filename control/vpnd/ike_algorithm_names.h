// The configuration's algorithm names (control/config/algorithm_names.h) as IKE transforms, and
// back: vpnd's mapping of proposals to IKEv2 and the names `show vpn` prints. Only names
// Portcullis supports map to a transform.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "ike/encoding/ike_types.h"

namespace portcullis::vpnd {

struct IkeCipher {
  ike::EncrId id;
  uint16_t key_bits;
  bool aead;
};

// `encryption aes256` -> AES-CBC 256.
std::optional<IkeCipher> CipherOf(absl::string_view encryption);
// `hash sha2_256` -> HMAC-SHA2-256-128; none for null.
std::optional<ike::IntegId> IntegOf(absl::string_view hash);
// A hash (`sha2_256`) or a prf (`prfsha256`) -> PRF-HMAC-SHA2-256.
std::optional<ike::PrfId> PrfOf(absl::string_view hash_or_prf);

// Vyatta's names, as `show vpn` prints them: "aes256", "aes128gcm128", "sha2_256", "null".
// A transform outside the table (which no configuration can select) keeps its IKE name.
std::string VyattaEncryption(ike::EncrId e, uint16_t bits);
std::string VyattaHash(ike::IntegId i);
// The hash that selects the PRF ("sha2_256"): the IKE SA's Hash column when AEAD leaves no
// integrity algorithm.
std::string VyattaPrf(ike::PrfId p);

}  // namespace portcullis::vpnd
