// Choosing a proposal (ike/sa/proposal_select.cc): the responder goes through its configured
// proposals in order and takes the first offered one that has, for each transform type, a
// transform both list; everything IKE_SA_INIT, IKE_AUTH and CREATE_CHILD_SA agree on, and every
// NO_PROPOSAL_CHOSEN, comes from here.
#include "ike/sa/proposal_select.h"

#include <catch2/catch.hpp>

using namespace portcullis::ike;

namespace {

Proposal Ike(std::vector<Transform> t, uint8_t number = 1) {
  Proposal p;
  p.number = number;
  p.protocol = ProtocolId::kIke;
  p.transforms = std::move(t);
  return p;
}

Proposal Esp(std::vector<Transform> t, uint8_t number = 1) {
  Proposal p = Ike(std::move(t), number);
  p.protocol = ProtocolId::kEsp;
  return p;
}

const Transform kCbc128 = Transform::Encr(EncrId::kAesCbc, 128);
const Transform kCbc256 = Transform::Encr(EncrId::kAesCbc, 256);
const Transform kGcm128 = Transform::Encr(EncrId::kAesGcm16, 128);
const Transform kSha1 = Transform::Integ(IntegId::kHmacSha1_96);
const Transform kSha256 = Transform::Integ(IntegId::kHmacSha2_256_128);
const Transform kPrf256 = Transform::Prf(PrfId::kHmacSha2_256);
const Transform kModp2048 = Transform::Dh(DhGroup::kModp2048);
const Transform kEcp256 = Transform::Dh(DhGroup::kEcp256);
const Transform kX25519 = Transform::Dh(DhGroup::kCurve25519);
const Transform kNoEsn = Transform::Esn(EsnId::kNoEsn);
const Transform kEsn = Transform::Esn(EsnId::kEsn);

}  // namespace

TEST_CASE("the first configured proposal the offer matches wins, whatever the offer's order",
          "[proposal_select]") {
  Proposal cbc = Ike({kCbc256, kSha256, kPrf256, kX25519}, 1);
  Proposal gcm = Ike({Transform::Encr(EncrId::kAesGcm16, 256), kPrf256, kEcp256}, 2);
  Proposal other = Ike({kCbc128, kSha1, kPrf256, kModp2048});
  auto r = SelectProposal({cbc, gcm}, {other, gcm, cbc});
  REQUIRE(r.has_value());
  CHECK(r->number == 2);  // the offered number, as the answer must echo it
  CHECK(r->transforms == gcm.transforms);
  r = SelectProposal({cbc, gcm}, {other, cbc, gcm});
  REQUIRE(r.has_value());
  CHECK(r->number == 1);
  CHECK_FALSE(SelectProposal({cbc, gcm}, {other}).has_value());
  CHECK_FALSE(SelectProposal({}, {cbc}).has_value());
  CHECK_FALSE(SelectProposal({cbc}, {}).has_value());
}

TEST_CASE("transform matching: one per type both list, the offer's order, key lengths exact",
          "[proposal_select]") {
  // The peer offers several of each type; we accept fewer.
  Proposal offered = Ike({kCbc128, kCbc256, kSha1, kSha256, kPrf256, kModp2048, kEcp256});
  offered.spi = {1, 2, 3, 4, 5, 6, 7, 8};
  offered.number = 3;
  Proposal ours = Ike({kCbc256, kSha256, kSha1, kPrf256, kEcp256});
  auto r = SelectProposal({offered}, {ours});
  REQUIRE(r.has_value());
  // ENCR, PRF, INTEG, DH: the first offered one we also list (AES-CBC-128 is another key size).
  CHECK(r->transforms == std::vector<Transform>{kCbc256, kPrf256, kSha1, kEcp256});
  CHECK(r->number == 3);
  CHECK(r->spi == offered.spi);
  CHECK(r->protocol == ProtocolId::kIke);

  SECTION("a key length must be the same") {
    CHECK_FALSE(SelectProposal({Ike({kCbc128, kSha256, kPrf256, kEcp256})}, {ours}));
    // No Key Length attribute is not "any length".
    CHECK_FALSE(SelectProposal({Ike({Transform::Encr(EncrId::kAesCbc), kSha256, kPrf256, kEcp256})},
                               {ours}));
  }
  SECTION("a type used by one side only is a mismatch") {
    CHECK_FALSE(SelectProposal({Ike({kCbc256, kPrf256, kEcp256})}, {ours}));  // no INTEG
    CHECK_FALSE(SelectProposal({Ike({kCbc256, kSha256, kPrf256})}, {ours}));  // no DH
  }
  SECTION("no transform of a type in common is a mismatch") {
    CHECK_FALSE(SelectProposal({Ike({kCbc256, kSha256, kPrf256, kModp2048})}, {ours}));
    CHECK_FALSE(SelectProposal(
        {Ike({kCbc256, kSha256, Transform::Prf(PrfId::kHmacSha2_384), kEcp256})}, {ours}));
  }
  SECTION("another protocol is a mismatch") {
    Proposal esp = offered;
    esp.protocol = ProtocolId::kEsp;
    CHECK_FALSE(SelectProposal({esp}, {ours}));
  }
}

TEST_CASE("INTEG and DH NONE say the same as no such transform", "[proposal_select]") {
  Proposal offered = Esp({kGcm128, Transform::Integ(IntegId::kNone), kNoEsn});
  Proposal ours = Esp({kGcm128, kNoEsn});
  auto r = SelectProposal({offered}, {ours});
  REQUIRE(r.has_value());
  CHECK(r->transforms == std::vector<Transform>{kGcm128, kNoEsn});
  r = SelectProposal({Esp({kGcm128, Transform::Dh(DhGroup::kNone), kNoEsn})}, {ours});
  REQUIRE(r.has_value());
  CHECK(r->transforms == std::vector<Transform>{kGcm128, kNoEsn});
}

TEST_CASE("ESP: a missing ESN transform means no ESN", "[proposal_select]") {
  auto r = SelectProposal({Esp({kGcm128})}, {Esp({kGcm128, kNoEsn})});
  REQUIRE(r.has_value());
  CHECK(r->transforms == std::vector<Transform>{kGcm128, kNoEsn});
  CHECK(SelectProposal({Esp({kGcm128, kNoEsn})}, {Esp({kGcm128})}).has_value());
  CHECK_FALSE(SelectProposal({Esp({kGcm128, kEsn})}, {Esp({kGcm128})}).has_value());
  r = SelectProposal({Esp({kGcm128, kEsn, kNoEsn})}, {Esp({kGcm128, kNoEsn, kEsn})});
  REQUIRE(r.has_value());
  CHECK(r->transforms == std::vector<Transform>{kGcm128, kEsn});  // the offer's first
}

TEST_CASE("strip_dh ignores DH on both sides (IKE_AUTH's CHILD SA has no key exchange)",
          "[proposal_select]") {
  Proposal offered = Esp({kGcm128, kX25519, kNoEsn});
  Proposal ours = Esp({kGcm128, kNoEsn});
  CHECK_FALSE(SelectProposal({offered}, {ours}).has_value());
  auto r = SelectProposal({offered}, {ours}, /*strip_dh=*/true);
  REQUIRE(r.has_value());
  CHECK(r->transforms == std::vector<Transform>{kGcm128, kNoEsn});
  r = SelectProposal({ours}, {Esp({kGcm128, kEcp256, kNoEsn})}, /*strip_dh=*/true);
  REQUIRE(r.has_value());
  CHECK(r->transforms == std::vector<Transform>{kGcm128, kNoEsn});
}

TEST_CASE("suites are read off the chosen proposal; incomplete or unsupported ones are refused",
          "[proposal_select]") {
  auto ike = IkeSuiteFromProposal(Ike({kCbc256, kPrf256, kSha256, kEcp256}));
  REQUIRE(ike.ok());
  CHECK(*ike == IkeSaCryptoSuite{EncrId::kAesCbc, 256, IntegId::kHmacSha2_256_128,
                                 PrfId::kHmacSha2_256, DhGroup::kEcp256});
  CHECK_FALSE(IkeSuiteFromProposal(Ike({kCbc256, kPrf256, kSha256})).ok());  // no DH
  CHECK_FALSE(IkeSuiteFromProposal(Ike({kCbc256, kSha256, kEcp256})).ok());  // no PRF
  CHECK_FALSE(IkeSuiteFromProposal(Ike({kCbc256, kPrf256, kEcp256})).ok());  // CBC needs INTEG

  auto esp = ChildSuiteFromProposal(Esp({kCbc128, kSha1, kModp2048, kEsn}));
  REQUIRE(esp.ok());
  CHECK(*esp == ChildSaCryptoSuite{EncrId::kAesCbc, 128, IntegId::kHmacSha1_96, EsnId::kEsn,
                                   DhGroup::kModp2048});
  auto gcm = ChildSuiteFromProposal(Esp({kGcm128}));
  REQUIRE(gcm.ok());
  CHECK(gcm->pfs == DhGroup::kNone);
  CHECK(gcm->esn == EsnId::kNoEsn);
  CHECK_FALSE(ChildSuiteFromProposal(Esp({kSha1, kNoEsn})).ok());             // no ENCR
  CHECK_FALSE(ChildSuiteFromProposal(Esp({kGcm128, kSha256, kNoEsn})).ok());  // AEAD + INTEG
}

TEST_CASE("proposal lists for logs, and the DH/SPI rewrites CREATE_CHILD_SA needs",
          "[proposal_select]") {
  std::vector<Proposal> esp = {Esp({kGcm128, kNoEsn}), Esp({kCbc128, kSha1, kModp2048, kEsn})};
  CHECK(ProposalListString({}) == "(none)");
  CHECK(ProposalListString(esp) ==
        "ESP:AES_GCM_16_128, ESP:AES_CBC_128/HMAC_SHA1_96/MODP_2048/ESN");

  std::vector<Proposal> pfs = WithDhGroup(esp, DhGroup::kEcp256);
  // One DH per proposal, the old one replaced, before the ESN transform.
  CHECK(pfs[0].transforms == std::vector<Transform>{kGcm128, kEcp256, kNoEsn});
  CHECK(pfs[1].transforms == std::vector<Transform>{kCbc128, kSha1, kEcp256, kEsn});
  CHECK(WithDhGroup(esp, DhGroup::kNone) == StripDh(esp));
  CHECK(StripDh(esp)[1].transforms == std::vector<Transform>{kCbc128, kSha1, kEsn});

  CHECK(DhGroupsOf({Ike({kCbc256, kEcp256, kModp2048}), Ike({kX25519, kEcp256}),
                    Ike({Transform::Dh(DhGroup::kNone)})}) ==
        std::vector<DhGroup>{DhGroup::kEcp256, DhGroup::kModp2048, DhGroup::kCurve25519});

  std::vector<Proposal> spi = WithSpi({Esp({kGcm128}, 7), Esp({kCbc128, kSha1}, 7)}, {1, 2, 3, 4});
  CHECK(spi[0].number == 1);
  CHECK(spi[1].number == 2);
  CHECK(spi[0].spi == Bytes{1, 2, 3, 4});
  CHECK(spi[1].spi == Bytes{1, 2, 3, 4});
}

TEST_CASE("a reply with two transforms of one type is not the one proposal we accept",
          "[proposal_select][esn]") {
  // The check passes when any transform of each type matches ours, and the suite reads the
  // first: [ESN, NO_ESN] back to an offer of NO_ESN would install ESN.
  const Proposal forged = Esp({kGcm128, kEsn, kNoEsn});
  CHECK(SelectProposal({forged}, {Esp({kGcm128, kNoEsn})}).has_value());
  auto suite = ChildSuiteFromProposal(forged);
  REQUIRE(suite.ok());
  CHECK(suite->esn == EsnId::kEsn);
  CHECK_FALSE(OneTransformPerType(forged));
  CHECK_FALSE(OneTransformPerType(Esp({kCbc128, kGcm128, kSha1, kNoEsn})));
  CHECK_FALSE(OneTransformPerType(Ike({kCbc256, kSha256, kPrf256, kModp2048, kX25519})));
  CHECK(OneTransformPerType(Esp({kGcm128, kEsn})));
  CHECK(OneTransformPerType(Esp({kGcm128})));
  CHECK(OneTransformPerType(Ike({kCbc256, kSha256, kPrf256, kModp2048})));
}
