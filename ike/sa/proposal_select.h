// Choosing a proposal (RFC 7296 2.7, 3.3.6): the responder picks, in the order of its own
// configured proposals (strongSwan's "prefer configured"), the first offered proposal that has,
// for every transform type either side uses, one transform both sides list. The initiator checks
// that the one proposal it gets back is one it offered. The suites the key schedule needs are
// read off the chosen proposal.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "ike/crypto/crypto_suite.h"
#include "ike/encoding/payloads.h"

namespace portcullis::ike {

// `offered` as received, `configured` ours. With strip_dh, DH transforms are ignored on both
// sides (IKE_AUTH's first CHILD SA has no key exchange). The result keeps the offered proposal's
// number and SPI and holds exactly one transform per type.
std::optional<Proposal> SelectProposal(const std::vector<Proposal>& offered,
                                       const std::vector<Proposal>& configured,
                                       bool strip_dh = false);

// The initiator's check of the one proposal the responder sends back: at most one transform of
// each type (RFC 7296 3.3: the accepted proposal holds exactly one per type). The suites below
// read the first transform of each type, and SelectProposal accepts a reply if any transform of
// a type matches ours: [NO_ESN, ESN] or two ciphers would otherwise install one we never
// offered (or refused).
bool OneTransformPerType(const Proposal& p);

absl::StatusOr<IkeSaCryptoSuite> IkeSuiteFromProposal(const Proposal& p);
absl::StatusOr<ChildSaCryptoSuite> ChildSuiteFromProposal(const Proposal& p);

// "IKE:AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048, IKE:..." as charon logs
// offers ("received proposals: ...", "configured proposals: ...").
std::string ProposalListString(const std::vector<Proposal>& list);

// Copies with a DH transform added to every proposal (none added for kNone) or all removed.
std::vector<Proposal> WithDhGroup(const std::vector<Proposal>& list, DhGroup group);
std::vector<Proposal> StripDh(const std::vector<Proposal>& list);
// The DH groups the proposals list, in order, each once.
std::vector<DhGroup> DhGroupsOf(const std::vector<Proposal>& list);
// The given SPI in every proposal, and proposal numbers 1..n.
std::vector<Proposal> WithSpi(const std::vector<Proposal>& list, const Bytes& spi);

}  // namespace portcullis::ike
