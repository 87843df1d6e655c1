// SK payload protection for every supported IKE SA cipher suite: round trips in both
// directions, the wire format checked by decrypting with plain EVP calls here (IV placement,
// padding, ICV over the whole message, GCM nonce and AAD), every single-byte tamper refused, and
// the malformed bodies that must be told apart from integrity failures.
#include "ike/crypto/sk_cipher.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>

#include <catch2/catch.hpp>
#include <string>

#include "ike/encoding/ike_errors.h"
#include "test/unit/ike/ike_test_util.h"

using namespace portcullis::ike;
using portcullis::ike::testing::FromHex;
using portcullis::ike::testing::Repeat;
using portcullis::ike::testing::ToHex;

namespace {

constexpr IkeSpi kSpiI = {0x65, 0x96, 0x7e, 0xb4, 0xbe, 0xab, 0x85, 0x49};
constexpr IkeSpi kSpiR = {0x1e, 0xac, 0xdf, 0xa5, 0xf9, 0x26, 0xb9, 0xa3};

struct Suite {
  IkeSaCryptoSuite suite;
  const char* cipher;  // EVP name, for the independent check
  const char* digest;  // HMAC digest, "" for GCM
};

const Suite kSuites[] = {
    {{EncrId::kAesCbc, 128, IntegId::kHmacSha1_96, PrfId::kHmacSha1, DhGroup::kModp2048},
     "AES-128-CBC",
     "SHA1"},
    {{EncrId::kAesCbc, 256, IntegId::kHmacSha2_256_128, PrfId::kHmacSha2_256, DhGroup::kModp2048},
     "AES-256-CBC",
     "SHA2-256"},
    {{EncrId::kAesCbc, 192, IntegId::kHmacSha2_384_192, PrfId::kHmacSha2_384, DhGroup::kEcp384},
     "AES-192-CBC",
     "SHA2-384"},
    {{EncrId::kAesCbc, 256, IntegId::kHmacSha2_512_256, PrfId::kHmacSha2_512, DhGroup::kEcp521},
     "AES-256-CBC",
     "SHA2-512"},
    {{EncrId::kAesGcm16, 128, IntegId::kNone, PrfId::kHmacSha2_256, DhGroup::kCurve25519},
     "AES-128-GCM",
     ""},
    {{EncrId::kAesGcm16, 192, IntegId::kNone, PrfId::kHmacSha2_256, DhGroup::kEcp256},
     "AES-192-GCM",
     ""},
    {{EncrId::kAesGcm16, 256, IntegId::kNone, PrfId::kHmacSha2_384, DhGroup::kEcp384},
     "AES-256-GCM",
     ""},
};

IkeSaKeys Keys(const IkeSaCryptoSuite& suite) {
  SecretBytes skeyseed(FromHex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"));
  absl::StatusOr<IkeSaKeys> keys =
      DeriveIkeSaKeys(suite, skeyseed, Repeat(0xa1, 32), Repeat(0xb2, 32), kSpiI, kSpiR);
  REQUIRE(keys.ok());
  return std::move(*keys);
}

IkeHeader AuthHeader() {
  IkeHeader h;
  h.spi_i = kSpiI;
  h.spi_r = kSpiR;
  h.exchange = ExchangeType::kIkeAuth;
  h.initiator = true;
  h.message_id = 1;
  return h;
}

std::vector<Payload> AuthPayloads() {
  Proposal esp;
  esp.protocol = ProtocolId::kEsp;
  esp.spi = FromHex("9796e1b4");
  esp.transforms = {Transform::Encr(EncrId::kAesGcm16, 128), Transform::Esn(EsnId::kNoEsn)};
  TrafficSelector any{TsType::kIpv4AddrRange, 0, 0, 65535, {0, 0, 0, 0}, {255, 255, 255, 255}};
  return {
      {PayloadType::kIdi, IdPayload{IdType::kIpv4Addr, {159, 8, 98, 213}}},
      {PayloadType::kAuth, AuthPayload{AuthMethod::kSharedKeyMic, Repeat(0x3e, 32)}},
      {PayloadType::kSa, SaPayload{{esp}}},
      {PayloadType::kTsi, TsPayload{{any}}},
      {PayloadType::kTsr, TsPayload{{any}}},
  };
}

Bytes Evp(const char* cipher, bool encrypt, absl::Span<const uint8_t> key,
          absl::Span<const uint8_t> iv, absl::Span<const uint8_t> aad, absl::Span<const uint8_t> in,
          Bytes* tag) {
  EVP_CIPHER* c = EVP_CIPHER_fetch(nullptr, cipher, nullptr);
  REQUIRE(c != nullptr);
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  REQUIRE(EVP_CipherInit_ex2(ctx, c, key.data(), iv.data(), encrypt ? 1 : 0, nullptr) == 1);
  EVP_CIPHER_CTX_set_padding(ctx, 0);
  int len = 0;
  if (!aad.empty())
    REQUIRE(EVP_CipherUpdate(ctx, nullptr, &len, aad.data(), static_cast<int>(aad.size())) == 1);
  Bytes out(in.size() + 16);
  REQUIRE(EVP_CipherUpdate(ctx, out.data(), &len, in.data(), static_cast<int>(in.size())) == 1);
  if (tag != nullptr && !encrypt) {
    OSSL_PARAM p[] = {
        OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag->data(), tag->size()),
        OSSL_PARAM_construct_end()};
    REQUIRE(EVP_CIPHER_CTX_set_params(ctx, p) == 1);
  }
  int len2 = 0;
  int ok = EVP_CipherFinal_ex(ctx, out.data() + len, &len2);
  if (tag != nullptr && encrypt) {
    OSSL_PARAM p[] = {
        OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag->data(), tag->size()),
        OSSL_PARAM_construct_end()};
    REQUIRE(EVP_CIPHER_CTX_get_params(ctx, p) == 1);
  }
  EVP_CIPHER_CTX_free(ctx);
  EVP_CIPHER_free(c);
  REQUIRE(ok == 1);
  out.resize(len + len2);
  return out;
}

Bytes HmacOf(const char* digest, absl::Span<const uint8_t> key, absl::Span<const uint8_t> data) {
  Bytes out(64);
  size_t len = 0;
  REQUIRE(EVP_Q_mac(nullptr, "HMAC", nullptr, digest, nullptr, key.data(), key.size(), data.data(),
                    data.size(), out.data(), out.size(), &len) != nullptr);
  out.resize(len);
  return out;
}

// Decrypts a sealed message with plain EVP calls, checking the RFC 7296 / RFC 5282 layout,
// and returns the inner chain.
Bytes IndependentOpen(const Suite& s, const IkeSaKeys& keys, const Bytes& wire, size_t body_size) {
  size_t body_at = wire.size() - body_size;
  absl::Span<const uint8_t> w(wire);
  Bytes plain;
  if (s.suite.encr == EncrId::kAesGcm16) {
    size_t key_size = s.suite.encr_key_bits / 8;
    absl::Span<const uint8_t> sk_ei = keys.sk_ei.span();
    Bytes nonce(sk_ei.begin() + key_size, sk_ei.end());  // salt: the last 4 bytes of SK_ei
    REQUIRE(nonce.size() == 4);
    nonce.insert(nonce.end(), w.begin() + body_at, w.begin() + body_at + 8);
    Bytes tag(w.end() - 16, w.end());
    plain = Evp(s.cipher, false, sk_ei.subspan(0, key_size), nonce,
                w.subspan(0, body_at),  // AAD: IKE header through the SK generic header
                w.subspan(body_at + 8, body_size - 8 - 16), &tag);
  } else {
    size_t icv = IntegIcvSize(s.suite.integ);
    Bytes mac = HmacOf(s.digest, keys.sk_ai.span(), w.subspan(0, wire.size() - icv));
    CHECK(ToHex(w.subspan(wire.size() - icv)) == ToHex(absl::MakeConstSpan(mac).subspan(0, icv)));
    plain = Evp(s.cipher, false, keys.sk_ei.span(), w.subspan(body_at, 16), {},
                w.subspan(body_at + 16, body_size - 16 - icv), nullptr);
    CHECK(plain.size() % 16 == 0);
    CHECK(plain.back() < 16);  // minimal padding
  }
  size_t pad = plain.back();
  REQUIRE(pad + 1 <= plain.size());
  plain.resize(plain.size() - pad - 1);
  return plain;
}

}  // namespace

TEST_CASE("SK round trip in both directions for every suite", "[sk]") {
  for (const Suite& s : kSuites) {
    INFO(s.cipher << " " << s.digest);
    IkeSaKeys keys = Keys(s.suite);
    auto initiator = MakeSkCiphers(s.suite, keys, Role::kInitiator);
    auto responder = MakeSkCiphers(s.suite, keys, Role::kResponder);
    REQUIRE(initiator.ok());
    REQUIRE(responder.ok());

    std::vector<Payload> inner = AuthPayloads();
    absl::StatusOr<Bytes> request = SealMessage(initiator->outbound, AuthHeader(), inner);
    REQUIRE(request.ok());
    absl::StatusOr<OpenedMessage> opened = OpenMessage(responder->inbound, *request);
    REQUIRE(opened.ok());
    CHECK(opened->inner == inner);
    CHECK(opened->outer.header == AuthHeader());

    IkeHeader reply = AuthHeader();
    reply.initiator = false;
    reply.response = true;
    std::vector<Payload> reply_inner = {inner[1], inner[2]};
    absl::StatusOr<Bytes> response = SealMessage(responder->outbound, reply, reply_inner);
    REQUIRE(response.ok());
    absl::StatusOr<OpenedMessage> back = OpenMessage(initiator->inbound, *response);
    REQUIRE(back.ok());
    CHECK(back->inner == reply_inner);

    // Keys are per direction: our own message does not open with the peer's keys.
    absl::StatusOr<OpenedMessage> wrong = OpenMessage(initiator->inbound, *request);
    REQUIRE_FALSE(wrong.ok());
    CHECK(IsIntegrityFailure(wrong.status()));
  }
}

TEST_CASE("the SK wire format matches RFC 7296 3.14 / RFC 5282, checked with plain EVP", "[sk]") {
  for (const Suite& s : kSuites) {
    INFO(s.cipher << " " << s.digest);
    IkeSaKeys keys = Keys(s.suite);
    auto initiator = MakeSkCiphers(s.suite, keys, Role::kInitiator);
    REQUIRE(initiator.ok());
    std::vector<Payload> inner = AuthPayloads();
    absl::StatusOr<Bytes> chain = EncodePayloadChain(inner);
    REQUIRE(chain.ok());
    absl::StatusOr<Bytes> wire = SealMessage(initiator->outbound, AuthHeader(), inner);
    REQUIRE(wire.ok());
    absl::StatusOr<Message> outer = DecodeMessage(*wire);
    REQUIRE(outer.ok());
    REQUIRE(outer->sk.has_value());
    CHECK(outer->sk->first_inner == PayloadType::kIdi);
    CHECK(ToHex(IndependentOpen(s, keys, *wire, outer->sk->body.size())) == ToHex(*chain));
    CHECK(wire->size() ==
          kIkeHeaderSize + chain->size() + initiator->outbound.Overhead(chain->size()));
  }
}

TEST_CASE("every inner length from 0 to 40 bytes pads and unpads", "[sk]") {
  for (const Suite& s : {kSuites[1], kSuites[4]}) {
    IkeSaKeys keys = Keys(s.suite);
    auto i = MakeSkCiphers(s.suite, keys, Role::kInitiator);
    auto r = MakeSkCiphers(s.suite, keys, Role::kResponder);
    REQUIRE(i.ok());
    REQUIRE(r.ok());
    for (size_t n = 0; n <= 40; ++n) {
      INFO(s.cipher << " inner " << n);
      Bytes inner(n, static_cast<uint8_t>(n));
      Message outer;
      outer.header = AuthHeader();
      absl::StatusOr<Bytes> wire = i->outbound.Seal(outer, PayloadType::kVendorId, inner);
      REQUIRE(wire.ok());
      absl::StatusOr<SkPlaintext> plain = r->inbound.Open(*wire);
      REQUIRE(plain.ok());
      CHECK(plain->inner == inner);
      CHECK(plain->first_inner == PayloadType::kVendorId);
    }
  }
}

TEST_CASE("an empty INFORMATIONAL (liveness check) seals and opens", "[sk]") {
  IkeSaKeys keys = Keys(kSuites[4].suite);
  auto i = MakeSkCiphers(kSuites[4].suite, keys, Role::kInitiator);
  auto r = MakeSkCiphers(kSuites[4].suite, keys, Role::kResponder);
  REQUIRE(i.ok());
  REQUIRE(r.ok());
  IkeHeader h = AuthHeader();
  h.exchange = ExchangeType::kInformational;
  absl::StatusOr<Bytes> wire = SealMessage(i->outbound, h, {});
  REQUIRE(wire.ok());
  absl::StatusOr<OpenedMessage> opened = OpenMessage(r->inbound, *wire);
  REQUIRE(opened.ok());
  CHECK(opened->inner.empty());
}

TEST_CASE("every single-byte change to a sealed message is refused", "[sk][tamper]") {
  for (const Suite& s : kSuites) {
    INFO(s.cipher << " " << s.digest);
    IkeSaKeys keys = Keys(s.suite);
    auto i = MakeSkCiphers(s.suite, keys, Role::kInitiator);
    auto r = MakeSkCiphers(s.suite, keys, Role::kResponder);
    REQUIRE(i.ok());
    REQUIRE(r.ok());
    absl::StatusOr<Bytes> wire = SealMessage(i->outbound, AuthHeader(), AuthPayloads());
    REQUIRE(wire.ok());
    for (size_t at = 0; at < wire->size(); ++at) {
      Bytes bad = *wire;
      bad[at] ^= 0x01;
      absl::StatusOr<OpenedMessage> opened = OpenMessage(r->inbound, bad);
      INFO("byte " << at);
      REQUIRE_FALSE(opened.ok());
      // Bytes the decoder reads as structure (lengths, next payload) may break the syntax first;
      // everything else - SPIs, exchange, flags, message ID, IV, ciphertext, ICV - is caught by
      // the integrity check.
      bool structural =
          at == 16 || (at >= 24 && at < 28) || at == 28 || (at >= 30 && at < 32) || at == 17;
      if (!structural) CHECK(IsIntegrityFailure(opened.status()));
    }
  }
}

TEST_CASE("malformed SK bodies are syntax errors, not integrity failures", "[sk][malformed]") {
  const Suite& cbc = kSuites[1];
  const Suite& gcm = kSuites[4];
  IkeSaKeys cbc_keys = Keys(cbc.suite);
  IkeSaKeys gcm_keys = Keys(gcm.suite);
  auto cbc_r = MakeSkCiphers(cbc.suite, cbc_keys, Role::kResponder);
  auto gcm_r = MakeSkCiphers(gcm.suite, gcm_keys, Role::kResponder);
  REQUIRE(cbc_r.ok());
  REQUIRE(gcm_r.ok());
  auto wire_with_body = [](const Bytes& body) {
    Message m;
    m.header = AuthHeader();
    m.sk = SkPayload{PayloadType::kIdi, body};
    absl::StatusOr<Bytes> w = EncodeMessage(m);
    REQUIRE(w.ok());
    return *w;
  };
  auto expect_syntax = [](const absl::Status& st, const std::string& what) {
    INFO(st.ToString());
    REQUIRE_FALSE(st.ok());
    CHECK(IsInvalidSyntax(st));
    CHECK_THAT(std::string(st.message()), Catch::Contains(what));
  };

  expect_syntax(cbc_r->inbound.Open(wire_with_body(Repeat(0, 16 + 16))).status(), "too short");
  expect_syntax(cbc_r->inbound.Open(wire_with_body(Repeat(0, 16 + 20 + 16))).status(),
                "not whole AES blocks");
  expect_syntax(gcm_r->inbound.Open(wire_with_body(Repeat(0, 8 + 16))).status(), "too short");
  Message clear;
  clear.header = AuthHeader();
  Payload vendor{PayloadType::kVendorId, VendorIdPayload{{1, 2, 3}}};
  clear.payloads.push_back(vendor);
  absl::StatusOr<Bytes> clear_wire = EncodeMessage(clear);
  REQUIRE(clear_wire.ok());
  expect_syntax(cbc_r->inbound.Open(*clear_wire).status(), "no SK payload");

  SECTION("a pad length beyond the plaintext, behind a valid ICV") {
    // Built by hand with the initiator's keys: 16 zero bytes whose last byte says 200.
    Bytes plain(16, 0);
    plain.back() = 200;
    Bytes iv = Repeat(0x11, 16);
    Bytes ct = Evp(cbc.cipher, true, cbc_keys.sk_ei.span(), iv, {}, plain, nullptr);
    Bytes body = iv;
    body.insert(body.end(), ct.begin(), ct.end());
    body.resize(body.size() + 16);  // ICV placeholder
    Bytes w = wire_with_body(body);
    Bytes mac =
        HmacOf(cbc.digest, cbc_keys.sk_ai.span(), absl::MakeConstSpan(w).subspan(0, w.size() - 16));
    std::copy(mac.begin(), mac.begin() + 16, w.end() - 16);
    expect_syntax(cbc_r->inbound.Open(w).status(), "pad length 200");
  }
  SECTION("an inner chain that does not parse, behind a valid tag") {
    auto gcm_i = MakeSkCiphers(gcm.suite, gcm_keys, Role::kInitiator);
    REQUIRE(gcm_i.ok());
    Message outer;
    outer.header = AuthHeader();
    absl::StatusOr<Bytes> w = gcm_i->outbound.Seal(outer, PayloadType::kIdi, FromHex("0000 0003"));
    REQUIRE(w.ok());
    absl::StatusOr<OpenedMessage> opened = OpenMessage(gcm_r->inbound, *w);
    REQUIRE_FALSE(opened.ok());
    CHECK(IsInvalidSyntax(opened.status()));
    CHECK_THAT(std::string(opened.status().message()), Catch::Contains("inside SK"));
  }
}

TEST_CASE("SK cipher construction and IVs", "[sk]") {
  IkeSaCryptoSuite cbc = kSuites[1].suite;
  CHECK_FALSE(SkCipher::Create(cbc, Repeat(1, 16), Repeat(2, 32)).ok());
  CHECK_FALSE(SkCipher::Create(cbc, Repeat(1, 32), Repeat(2, 20)).ok());
  IkeSaCryptoSuite gcm = kSuites[4].suite;
  CHECK_FALSE(SkCipher::Create(gcm, Repeat(1, 16), {}).ok());  // salt missing
  CHECK(SkCipher::Create(gcm, Repeat(1, 20), {}).ok());

  SECTION("AES-GCM never reuses an IV within a cipher") {
    absl::StatusOr<SkCipher> c = SkCipher::Create(gcm, Repeat(1, 20), {});
    REQUIRE(c.ok());
    Message outer;
    outer.header = AuthHeader();
    absl::StatusOr<Bytes> a = c->Seal(outer, PayloadType::kNone, {});
    absl::StatusOr<Bytes> b = c->Seal(outer, PayloadType::kNone, {});
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    Bytes iv_a(a->begin() + 32, a->begin() + 40), iv_b(b->begin() + 32, b->begin() + 40);
    CHECK(iv_a != iv_b);
    CHECK(ToHex(iv_a).substr(0, 8) == ToHex(iv_b).substr(0, 8));  // same random prefix
  }
  SECTION("AES-CBC IVs are random") {
    absl::StatusOr<SkCipher> c = SkCipher::Create(cbc, Repeat(1, 32), Repeat(2, 32));
    REQUIRE(c.ok());
    Message outer;
    outer.header = AuthHeader();
    absl::StatusOr<Bytes> a = c->Seal(outer, PayloadType::kNone, {});
    absl::StatusOr<Bytes> b = c->Seal(outer, PayloadType::kNone, {});
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    CHECK(Bytes(a->begin() + 32, a->begin() + 48) != Bytes(b->begin() + 32, b->begin() + 48));
  }
  SECTION("a message that already has an SK body is not sealed again") {
    absl::StatusOr<SkCipher> c = SkCipher::Create(cbc, Repeat(1, 32), Repeat(2, 32));
    REQUIRE(c.ok());
    Message outer;
    outer.header = AuthHeader();
    outer.sk = SkPayload{};
    CHECK_FALSE(c->Seal(outer, PayloadType::kNone, {}).ok());
  }
}
