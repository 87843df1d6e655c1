// The IPsec algorithm names of the configuration, in one table: how Vyatta 5600 spells each
// (the canonical model), how VyOS spells it, the IKEv2 transform it selects, and whether
// Portcullis negotiates it. The schema's accepted values, the commit rules' refusals and
// warnings, the VyOS dialect, vpnd's mapping to IKE and `show vpn`'s names all read it, so a
// name added here is accepted, translated, negotiated and shown alike.
//
// Transform ids are the IANA IKEv2 numbers as plain integers: this library is linked by
// vpnctl's offline commands and must not depend on ike/; control/vpnd converts them to ike::
// types (control/vpnd/ike_algorithm_names.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace portcullis::config {

enum class Support {
  kSupported,
  kInsecure,  // in the Vyatta tree, refused at commit: "is not supported (insecure): use ..."
  kRetired,   // Vyatta itself refuses it: "is no longer supported."
};

// `proposal N encryption`.
struct EncryptionName {
  absl::string_view vyatta;  // "aes128gcm128" (VyOS spells ciphers the same way)
  uint16_t transform_id;     // IKEv2 transform type 1 (ENCR): 3 3DES, 12 AES-CBC, 20 AES-GCM-16
  uint16_t key_bits;         // the Key Length attribute; 0 for fixed-size keys
  bool aead;                 // integrity included: ESP takes no hash, IKE's hash only picks the PRF
  Support support;
};

// `proposal N hash`: the integrity algorithm, and in IKE also the PRF unless `prf` is set.
struct HashName {
  absl::string_view vyatta;  // "sha2_256"
  absl::string_view vyos;    // "sha256"; empty when VyOS has no such hash
  // Where VyOS lists it: its error for an unknown hash names them in VyOS's documented order
  // (sha256, sha384, sha512, sha1, md5, null), which is not Vyatta's.
  uint8_t vyos_order;
  uint16_t integ_id;  // IKEv2 transform type 3 (INTEG); 0 = none
  uint16_t prf_id;    // IKEv2 transform type 2 (PRF) it selects; 0 = none
  Support support;
};

// `proposal N prf` (a Portcullis extension of the ike-group).
struct PrfName {
  absl::string_view vyatta;  // "prfsha256"
  uint16_t prf_id;           // IKEv2 transform type 2
};

// `proposal N dh-group G` and `pfs dh-groupG`: the group is its IKEv2 transform type 4 number.
struct DhGroupName {
  uint16_t group;
  absl::string_view kind;  // "MODP-1024", "ECP-256", "Curve25519"
  bool weak;               // warned about at commit
  bool preferred;          // what those warnings suggest instead
};

absl::Span<const EncryptionName> Encryptions();
absl::Span<const HashName> Hashes();
absl::Span<const PrfName> Prfs();
absl::Span<const DhGroupName> DhGroups();

// Null when the name or id is not in the table.
const EncryptionName* FindEncryption(absl::string_view vyatta);
const EncryptionName* FindEncryption(uint16_t transform_id, uint16_t key_bits);
const HashName* FindHash(absl::string_view vyatta);
const HashName* FindVyosHash(absl::string_view vyos);
const HashName* FindHashByInteg(uint16_t integ_id);
const HashName* FindHashByPrf(uint16_t prf_id);
const PrfName* FindPrf(absl::string_view vyatta);
const DhGroupName* FindDhGroup(int group);

// The schema's values, in table order: "aes128", ...; "2", "5", ...; pfs "enable", "disable",
// "dh-group2", ....
std::vector<std::string> EncryptionValues();
std::vector<std::string> HashValues();
std::vector<std::string> PrfValues();
std::vector<std::string> DhGroupValues();
std::vector<std::string> PfsValues();
// VyOS's hash names in VyOS's order.
std::vector<std::string> VyosHashNames();

// The commit error for a refused name: "3des is not supported (insecure): use aes128, aes256,
// aes128gcm128 or aes256gcm128"; empty when supported.
std::string Refusal(const EncryptionName& e);
std::string Refusal(const HashName& h);
// What the weak-group warnings suggest instead: "14, 19, 20 or 31".
std::string PreferredDhGroups();

}  // namespace portcullis::config
