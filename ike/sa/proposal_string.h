// Proposals and negotiated suites as operators read them in strongSwan's `ipsec statusall`
// and the Vyatta `show vpn debug peer` output:
//   IKE SA:   "AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048"
//   CHILD SA: "AES_GCM_16_128", "AES_CBC_128/HMAC_SHA1_96/MODP_2048/ESN"
// Used for every log line that has to show what was offered and what was received.
#pragma once

#include <string>

#include "ike/crypto/crypto_suite.h"
#include "ike/encoding/payloads.h"

namespace portcullis::ike {

std::string SuiteString(const IkeSaCryptoSuite& suite);
std::string SuiteString(const ChildSaCryptoSuite& suite);

// Every transform of an offered proposal, grouped in the order ENCR, INTEG, PRF, DH, ESN:
// "AES_CBC_128/AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048/ECP_256". ESN is
// shown only when extended sequence numbers are on offer ("ESN", or "ESN/NO_ESN" when the
// peer may choose), matching the seeds' "AES_GCM_16_128" for a plain ESP proposal.
std::string ProposalString(const Proposal& proposal);

}  // namespace portcullis::ike
