// PSK AUTH (RFC 7296 2.15) checked against the formula computed here with plain HMAC calls and
// a hand-written ID payload body, then both roles signing and verifying each other.
#include "ike/crypto/psk_auth.h"

#include <openssl/evp.h>

#include <catch2/catch.hpp>
#include <string>

#include "ike/crypto/prf.h"
#include "test/unit/ike/ike_test_util.h"

using namespace portcullis::ike;
using portcullis::ike::testing::FromHex;
using portcullis::ike::testing::Repeat;
using portcullis::ike::testing::Text;
using portcullis::ike::testing::ToHex;

namespace {

Bytes HmacOf(const char* digest, absl::Span<const uint8_t> key, absl::Span<const uint8_t> data) {
  Bytes out(64);
  size_t len = 0;
  REQUIRE(EVP_Q_mac(nullptr, "HMAC", nullptr, digest, nullptr, key.data(), key.size(), data.data(),
                    data.size(), out.data(), out.size(), &len) != nullptr);
  out.resize(len);
  return out;
}

Bytes Cat(std::initializer_list<absl::Span<const uint8_t>> parts) {
  Bytes out;
  for (auto p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

IkeSaKeys TestKeys() {
  IkeSaKeys k;
  k.sk_pi = SecretBytes(Repeat(0x71, 32));
  k.sk_pr = SecretBytes(Repeat(0x72, 32));
  return k;
}

const Bytes kInitRequest = FromHex("65967eb4beab8549 0000000000000000 2120 2208 00000000 0000001c");
const Bytes kInitResponse =
    FromHex("65967eb4beab8549 1eacdfa5f926b9a3 2120 2220 00000000 0000001c");
const Bytes kNi = Repeat(0x0a, 32);
const Bytes kNr = Repeat(0x0b, 32);
const IdPayload kIdi{IdType::kIpv4Addr, {192, 0, 2, 1}};
const IdPayload kIdr{IdType::kFqdn, Text("east.example")};

}  // namespace

TEST_CASE("PSK AUTH follows RFC 7296 2.15", "[psk]") {
  SecretBytes psk(Text("s3cret"));
  IkeSaKeys keys = TestKeys();
  absl::StatusOr<Bytes> auth =
      ComputePskAuth(PrfId::kHmacSha2_256, psk, Role::kInitiator, keys, kInitRequest, kNr, kIdi);
  REQUIRE(auth.ok());
  // RestOfInitIDPayload: ID type, three reserved zero octets, the address.
  Bytes id_body = FromHex("01 000000 c0000201");
  Bytes maced_id = HmacOf("SHA2-256", keys.sk_pi.span(), id_body);
  Bytes key = HmacOf("SHA2-256", psk.span(), Text("Key Pad for IKEv2"));
  Bytes want = HmacOf("SHA2-256", key, Cat({kInitRequest, kNr, maced_id}));
  CHECK(ToHex(*auth) == ToHex(want));

  // The responder signs its own message, the initiator's nonce, IDr, with SK_pr.
  absl::StatusOr<Bytes> r_auth =
      ComputePskAuth(PrfId::kHmacSha2_256, psk, Role::kResponder, keys, kInitResponse, kNi, kIdr);
  REQUIRE(r_auth.ok());
  Bytes r_id_body = Cat({FromHex("02 000000"), Text("east.example")});
  Bytes r_want = HmacOf(
      "SHA2-256", key, Cat({kInitResponse, kNi, HmacOf("SHA2-256", keys.sk_pr.span(), r_id_body)}));
  CHECK(ToHex(*r_auth) == ToHex(r_want));
}

TEST_CASE("each role verifies the other's PSK AUTH", "[psk]") {
  for (PrfId prf :
       {PrfId::kHmacSha1, PrfId::kHmacSha2_256, PrfId::kHmacSha2_384, PrfId::kHmacSha2_512}) {
    INFO(TransformName(TransformType::kPrf, static_cast<uint16_t>(prf)));
    SecretBytes psk(Text("correct horse battery staple"));
    IkeSaKeys keys = TestKeys();
    absl::StatusOr<Bytes> i_auth =
        OwnPskAuth(prf, psk, Role::kInitiator, keys, kInitRequest, kNr, kIdi);
    REQUIRE(i_auth.ok());
    CHECK(i_auth->size() == PrfOutputSize(prf));
    CHECK(
        VerifyPeerPskAuth(prf, psk, Role::kResponder, keys, kInitRequest, kNr, kIdi, *i_auth).ok());

    absl::StatusOr<Bytes> r_auth =
        OwnPskAuth(prf, psk, Role::kResponder, keys, kInitResponse, kNi, kIdr);
    REQUIRE(r_auth.ok());
    CHECK(VerifyPeerPskAuth(prf, psk, Role::kInitiator, keys, kInitResponse, kNi, kIdr, *r_auth)
              .ok());
    // The two directions differ even with the same inputs otherwise.
    CHECK(*i_auth != *r_auth);

    SecretBytes wrong_psk(Text("correct horse battery stapler"));
    absl::Status s =
        VerifyPeerPskAuth(prf, wrong_psk, Role::kResponder, keys, kInitRequest, kNr, kIdi, *i_auth);
    CHECK(s.code() == absl::StatusCode::kUnauthenticated);
    CHECK_FALSE(
        VerifyPeerPskAuth(prf, psk, Role::kResponder, keys, kInitRequest, kNi, kIdi, *i_auth).ok());
    CHECK_FALSE(
        VerifyPeerPskAuth(prf, psk, Role::kResponder, keys, kInitResponse, kNr, kIdi, *i_auth)
            .ok());
    CHECK_FALSE(
        VerifyPeerPskAuth(prf, psk, Role::kResponder, keys, kInitRequest, kNr, kIdr, *i_auth).ok());
    // The initiator must not accept its own AUTH reflected back at it.
    CHECK_FALSE(
        VerifyPeerPskAuth(prf, psk, Role::kInitiator, keys, kInitRequest, kNr, kIdi, *i_auth).ok());
    Bytes truncated(i_auth->begin(), i_auth->end() - 1);
    CHECK_FALSE(
        VerifyPeerPskAuth(prf, psk, Role::kResponder, keys, kInitRequest, kNr, kIdi, truncated)
            .ok());
  }
}

TEST_CASE("PSK AUTH refuses an ID that cannot be encoded", "[psk]") {
  SecretBytes psk(Text("x"));
  IdPayload bad{IdType::kIpv4Addr, {1, 2, 3}};
  CHECK_FALSE(
      ComputePskAuth(PrfId::kHmacSha1, psk, Role::kInitiator, TestKeys(), kInitRequest, kNr, bad)
          .ok());
}

TEST_CASE("a SharedSecret keeps its padded key per PRF, and AUTH is the same", "[psk]") {
  IkeSaKeys keys = TestKeys();
  SharedSecret psk("correct horse battery staple");
  SharedSecret copy = psk;  // a config copy shares the kept keys
  SharedSecret other("correct horse battery stapler");
  // Twice each, so the second AUTH of every PRF uses the kept padded key; PRFs alternate so a
  // key kept for one is never taken for another.
  for (int round = 0; round < 2; ++round) {
    for (PrfId prf :
         {PrfId::kHmacSha1, PrfId::kHmacSha2_256, PrfId::kHmacSha2_384, PrfId::kHmacSha2_512}) {
      INFO(TransformName(TransformType::kPrf, static_cast<uint16_t>(prf)) << " round " << round);
      // RFC 2.15 as computed here with EVP_Q_mac, independently of the kept key.
      const char* digest = prf == PrfId::kHmacSha1       ? "SHA1"
                           : prf == PrfId::kHmacSha2_256 ? "SHA2-256"
                           : prf == PrfId::kHmacSha2_384 ? "SHA2-384"
                                                         : "SHA2-512";
      Bytes key = HmacOf(digest, psk.bytes().span(), Text("Key Pad for IKEv2"));
      Bytes id_body = FromHex("01 000000 c0000201");
      Bytes want =
          HmacOf(digest, key, Cat({kInitRequest, kNr, HmacOf(digest, keys.sk_pi.span(), id_body)}));
      absl::StatusOr<Bytes> auth =
          OwnPskAuth(prf, psk, Role::kInitiator, keys, kInitRequest, kNr, kIdi);
      REQUIRE(auth.ok());
      CHECK(ToHex(*auth) == ToHex(want));
      CHECK(VerifyPeerPskAuth(prf, copy, Role::kResponder, keys, kInitRequest, kNr, kIdi, *auth)
                .ok());
      CHECK(VerifyPeerPskAuth(prf, other, Role::kResponder, keys, kInitRequest, kNr, kIdi, *auth)
                .code() == absl::StatusCode::kUnauthenticated);
      absl::StatusOr<Bytes> other_auth =
          OwnPskAuth(prf, other, Role::kInitiator, keys, kInitRequest, kNr, kIdi);
      REQUIRE(other_auth.ok());
      CHECK(*other_auth != *auth);
    }
  }
  // Without a secret nothing is kept: the empty key's AUTH, as before.
  SharedSecret none;
  absl::StatusOr<Bytes> a =
      OwnPskAuth(PrfId::kHmacSha2_256, none, Role::kInitiator, keys, kInitRequest, kNr, kIdi);
  absl::StatusOr<Bytes> b = ComputePskAuth(PrfId::kHmacSha2_256, SecretBytes(), Role::kInitiator,
                                           keys, kInitRequest, kNr, kIdi);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(*a == *b);
}
