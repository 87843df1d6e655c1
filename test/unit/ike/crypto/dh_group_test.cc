// Diffie-Hellman: RFC 5903 section 8 vectors for ECP groups 19/20/21, RFC 7748 X25519
// vectors, and for the MODP groups the primes rebuilt from their defining formula with pi, the
// generator, agreement, padding, and rejection of every peer value the RFCs tell us to refuse.
#include "ike/crypto/dh_group.h"

#include <openssl/bn.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <string>
#include <thread>
#include <vector>

#include "ike/crypto/dh_key_pool.h"
#include "test/unit/ike/ike_test_util.h"

using namespace portcullis::ike;
using portcullis::ike::testing::FromHex;
using portcullis::ike::testing::Repeat;
using portcullis::ike::testing::ToHex;

namespace {

struct EcpVector {
  DhGroup group;
  const char* i;
  const char* gix;
  const char* giy;
  const char* r;
  const char* grx;
  const char* gry;
  const char* girx;
};

// RFC 5903 8.1, 8.2 and 8.3.
const EcpVector kRfc5903[] = {
    {DhGroup::kEcp256, "C88F01F5 10D9AC3F 70A292DA A2316DE5 44E9AAB8 AFE84049 C62A9C57 862D1433",
     "DAD0B653 94221CF9 B051E1FE CA5787D0 98DFE637 FC90B9EF 945D0C37 72581180",
     "5271A046 1CDB8252 D61F1C45 6FA3E59A B1F45B33 ACCF5F58 389E0577 B8990BB3",
     "C6EF9C5D 78AE012A 011164AC B397CE20 88685D8F 06BF9BE0 B283AB46 476BEE53",
     "D12DFB52 89C8D4F8 1208B702 70398C34 2296970A 0BCCB74C 736FC755 4494BF63",
     "56FBF3CA 366CC23E 8157854C 13C58D6A AC23F046 ADA30F83 53E74F33 039872AB",
     "D6840F6B 42F6EDAF D13116E0 E1256520 2FEF8E9E CE7DCE03 812464D0 4B9442DE"},
    {DhGroup::kEcp384,
     "099F3C70 34D4A2C6 99884D73 A375A67F 7624EF7C 6B3C0F16 0647B674 14DCE655 E35B5380 41E649EE "
     "3FAEF896 783AB194",
     "667842D7 D180AC2C DE6F74F3 7551F557 55C7645C 20EF73E3 1634FE72 B4C55EE6 DE3AC808 ACB4BDB4 "
     "C88732AE E95F41AA",
     "9482ED1F C0EEB9CA FC498462 5CCFC23F 65032149 E0E144AD A0241815 35A0F38E EB9FCFF3 C2C947DA "
     "E69B4C63 4573A81C",
     "41CB0779 B4BDB85D 47846725 FBEC3C94 30FAB46C C8DC5060 855CC9BD A0AA2942 E0308312 916B8ED2 "
     "960E4BD5 5A7448FC",
     "E558DBEF 53EECDE3 D3FCCFC1 AEA08A89 A987475D 12FD950D 83CFA417 32BC509D 0D1AC43A 0336DEF9 "
     "6FDA41D0 774A3571",
     "DCFBEC7A ACF31964 72169E83 8430367F 66EEBE3C 6E70C416 DD5F0C68 759DD1FF F83FA401 42209DFF "
     "5EAAD96D B9E6386C",
     "11187331 C279962D 93D60424 3FD592CB 9D0A926F 422E4718 7521287E 7156C5C4 D6031355 69B9E9D0 "
     "9CF5D4A2 70F59746"},
    {DhGroup::kEcp521,
     "0037ADE9 319A89F4 DABDB3EF 411AACCC A5123C61 ACAB57B5 393DCE47 608172A0 95AA85A3 0FE1C295 "
     "2C6771D9 37BA9777 F5957B26 39BAB072 462F68C2 7A57382D 4A52",
     "0015417E 84DBF28C 0AD3C278 713349DC 7DF153C8 97A1891B D98BAB43 57C9ECBE E1E3BF42 E00B8E38 "
     "0AEAE57C 2D107564 94188594 2AF5A7F4 601723C4 195D176C ED3E",
     "017CAE20 B6641D2E EB695786 D8C94614 6239D099 E18E1D5A 514C739D 7CB4A10A D8A78801 5AC405D7 "
     "799DC75E 7B7D5B6C F2261A6A 7F150743 8BF01BEB 6CA3926F 9582",
     "0145BA99 A847AF43 793FDD0E 872E7CDF A16BE30F DC780F97 BCCC3F07 8380201E 9C677D60 0B343757 "
     "A3BDBF2A 3163E4C2 F869CCA7 458AA4A4 EFFC311F 5CB15168 5EB9",
     "00D0B397 5AC4B799 F5BEA16D 5E13E9AF 971D5E9B 984C9F39 728B5E57 39735A21 9B97C356 436ADC6E "
     "95BB0352 F6BE64A6 C2912D4E F2D0433C ED2B6171 640012D9 460F",
     "015C6822 6383956E 3BD066E7 97B623C2 7CE0EAC2 F551A10C 2C724D98 52077B87 220B6536 C5C408A1 "
     "D2AEBB8E 86D678AE 49CB5709 1F473229 6579AB44 FCD17F0F C56A",
     "01144C7D 79AE6956 BC8EDB8E 7C787C45 21CB086F A64407F9 7894E5E6 B2D79B04 D1427E73 CA4BAA24 "
     "0A347868 59810C06 B3C715A3 A8CC3151 F2BEE417 996D19F3 DDEA"},
};

std::unique_ptr<DhKeyPair> FromPrivate(DhGroup g, const Bytes& priv) {
  absl::StatusOr<std::unique_ptr<DhKeyPair>> kp = DhKeyPairFromPrivateKey(g, priv);
  INFO(kp.status().ToString());
  REQUIRE(kp.ok());
  return std::move(*kp);
}

std::unique_ptr<DhKeyPair> Generate(DhGroup g) {
  absl::StatusOr<std::unique_ptr<DhKeyPair>> kp = GenerateDhKeyPair(g);
  INFO(kp.status().ToString());
  REQUIRE(kp.ok());
  return std::move(*kp);
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string SecretHex(const DhKeyPair& kp, const Bytes& peer) {
  absl::StatusOr<SecretBytes> s = kp.ComputeSharedSecret(peer);
  INFO(s.status().ToString());
  REQUIRE(s.ok());
  return ToHex(s->span());
}

using BnPtr = std::unique_ptr<BIGNUM, decltype(&BN_free)>;
BnPtr Bn(BIGNUM* b) {
  return BnPtr(b, &BN_free);
}

Bytes BnBytes(const BIGNUM* b, size_t size) {
  Bytes out(size);
  REQUIRE(BN_bn2binpad(b, out.data(), static_cast<int>(size)) == static_cast<int>(size));
  return out;
}

// floor(pi * 2^bits) by Machin's formula, pi = 16 atan(1/5) - 4 atan(1/239), in fixed point with
// 64 guard bits. Independent of any table of constants.
BnPtr PiTimesTwoTo(int bits, BN_CTX* ctx) {
  const int guard = 64;
  BnPtr one = Bn(BN_new());
  BN_one(one.get());
  BN_lshift(one.get(), one.get(), bits + guard);
  // atan(1/x) * ONE = sum (-1)^k ONE / ((2k+1) x^(2k+1))
  auto atan_inv = [&](unsigned x) {
    BnPtr sum = Bn(BN_new());
    BnPtr power = Bn(BN_dup(one.get()));  // ONE / x^(2k+1)
    BnPtr term = Bn(BN_new());
    BN_zero(sum.get());
    BN_div_word(power.get(), x);
    for (unsigned k = 0; !BN_is_zero(power.get()); ++k) {
      BN_copy(term.get(), power.get());
      BN_div_word(term.get(), 2 * k + 1);
      if (k % 2 == 0) {
        BN_add(sum.get(), sum.get(), term.get());
      } else {
        BN_sub(sum.get(), sum.get(), term.get());
      }
      BN_div_word(power.get(), x * x);
    }
    return sum;
  };
  BnPtr a = atan_inv(5), b = atan_inv(239);
  BN_mul_word(a.get(), 16);
  BN_mul_word(b.get(), 4);
  BnPtr pi = Bn(BN_new());
  BN_sub(pi.get(), a.get(), b.get());
  BN_rshift(pi.get(), pi.get(), guard);
  (void)ctx;
  return pi;
}

// RFC 2409 6.2 / RFC 3526: p = 2^n - 2^(n-64) - 1 + 2^64 * ( floor(2^(n-130) pi) + k ).
BnPtr ModpFromFormula(int n, unsigned long k, BN_CTX* ctx) {
  BnPtr p = Bn(BN_new());
  BnPtr t = Bn(BN_new());
  BN_one(p.get());
  BN_lshift(p.get(), p.get(), n);
  BN_one(t.get());
  BN_lshift(t.get(), t.get(), n - 64);
  BN_sub(p.get(), p.get(), t.get());
  BN_sub_word(p.get(), 1);
  BnPtr pi = PiTimesTwoTo(n - 130, ctx);
  BN_add_word(pi.get(), k);
  BN_lshift(pi.get(), pi.get(), 64);
  BN_add(p.get(), p.get(), pi.get());
  return p;
}

}  // namespace

TEST_CASE("ECP groups 19, 20, 21 match the RFC 5903 section 8 vectors", "[dh]") {
  for (const EcpVector& v : kRfc5903) {
    INFO(TransformName(TransformType::kDh, static_cast<uint16_t>(v.group)));
    auto initiator = FromPrivate(v.group, FromHex(v.i));
    auto responder = FromPrivate(v.group, FromHex(v.r));
    CHECK(ToHex(initiator->public_value()) == Lower(ToHex(FromHex(std::string(v.gix) + v.giy))));
    CHECK(ToHex(responder->public_value()) == Lower(ToHex(FromHex(std::string(v.grx) + v.gry))));
    CHECK(initiator->public_value().size() == DhPublicValueSize(v.group));
    Bytes gr(responder->public_value().begin(), responder->public_value().end());
    Bytes gi(initiator->public_value().begin(), initiator->public_value().end());
    // g^ir is the x coordinate alone (RFC 5903 section 7).
    CHECK(SecretHex(*initiator, gr) == Lower(ToHex(FromHex(v.girx))));
    CHECK(SecretHex(*responder, gi) == Lower(ToHex(FromHex(v.girx))));
  }
}

TEST_CASE("ECP peer values off the curve or of the wrong size are refused", "[dh]") {
  for (DhGroup g : {DhGroup::kEcp256, DhGroup::kEcp384, DhGroup::kEcp521}) {
    INFO(TransformName(TransformType::kDh, static_cast<uint16_t>(g)));
    auto self = Generate(g);
    auto peer = Generate(g);
    Bytes good(peer->public_value().begin(), peer->public_value().end());
    CHECK(self->ComputeSharedSecret(good).ok());

    Bytes off_curve = good;
    off_curve.back() ^= 1;
    CHECK_FALSE(self->ComputeSharedSecret(off_curve).ok());
    CHECK_FALSE(self->ComputeSharedSecret(Bytes(good.size(), 0)).ok());     // (0, 0)
    CHECK_FALSE(self->ComputeSharedSecret(Bytes(good.size(), 0xff)).ok());  // x, y >= p
    Bytes shorter(good.begin(), good.end() - 1);
    CHECK_FALSE(self->ComputeSharedSecret(shorter).ok());
    Bytes longer = good;
    longer.push_back(0);
    CHECK_FALSE(self->ComputeSharedSecret(longer).ok());
    // The SEC1 form (0x04 prefix) is not the IKE wire form.
    Bytes sec1(good.size() + 1, 0x04);
    std::copy(good.begin(), good.end(), sec1.begin() + 1);
    CHECK_FALSE(self->ComputeSharedSecret(sec1).ok());
  }
}

TEST_CASE("Curve25519 matches RFC 7748", "[dh]") {
  SECTION("6.1: Alice and Bob") {
    auto alice =
        FromPrivate(DhGroup::kCurve25519,
                    FromHex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"));
    auto bob =
        FromPrivate(DhGroup::kCurve25519,
                    FromHex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"));
    CHECK(ToHex(alice->public_value()) ==
          "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
    CHECK(ToHex(bob->public_value()) ==
          "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
    const std::string shared = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";
    CHECK(SecretHex(*alice, Bytes(bob->public_value().begin(), bob->public_value().end())) ==
          shared);
    CHECK(SecretHex(*bob, Bytes(alice->public_value().begin(), alice->public_value().end())) ==
          shared);
  }
  SECTION("5.2: scalar multiplication") {
    auto k1 =
        FromPrivate(DhGroup::kCurve25519,
                    FromHex("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4"));
    CHECK(SecretHex(*k1,
                    FromHex("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c")) ==
          "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552");
    auto k2 =
        FromPrivate(DhGroup::kCurve25519,
                    FromHex("4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d"));
    // The input u has its top bit set; X25519 masks it.
    CHECK(SecretHex(*k2,
                    FromHex("e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493")) ==
          "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957");
  }
  SECTION("5.2: iterated, 1 and 1000 times") {
    Bytes k = FromHex("0900000000000000000000000000000000000000000000000000000000000000");
    Bytes u = k;
    for (int i = 1; i <= 1000; ++i) {
      auto kp = FromPrivate(DhGroup::kCurve25519, k);
      absl::StatusOr<SecretBytes> r = kp->ComputeSharedSecret(u);
      REQUIRE(r.ok());
      u = k;
      k.assign(r->span().begin(), r->span().end());
      if (i == 1) {
        CHECK(ToHex(k) == "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079");
      }
    }
    CHECK(ToHex(k) == "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51");
  }
}

TEST_CASE("Curve25519 keys from the per-thread generation context are fresh and consistent",
          "[dh]") {
  // One context makes every key of a thread (dh_x25519.cc): each key must still be new, and
  // its public value the one RFC 7748's X25519(k, 9) gives for its private key, which OpenSSL
  // computes again from the imported private key alone.
  auto check = [](int n, std::vector<std::string>* publics) {
    for (int i = 0; i < n; ++i) {
      absl::StatusOr<std::unique_ptr<DhKeyPair>> kp = GenerateDhKeyPairNow(DhGroup::kCurve25519);
      REQUIRE(kp.ok());
      absl::StatusOr<SecretBytes> priv = (*kp)->PrivateKey();
      REQUIRE(priv.ok());
      auto again = FromPrivate(DhGroup::kCurve25519, Bytes(priv->data(), priv->data() + 32));
      CHECK(ToHex(again->public_value()) == ToHex((*kp)->public_value()));
      publics->push_back(ToHex((*kp)->public_value()));
    }
  };
  std::vector<std::string> here, there;
  check(64, &here);
  std::thread other([&] { check(64, &there); });  // its own context
  other.join();
  here.insert(here.end(), there.begin(), there.end());
  std::sort(here.begin(), here.end());
  CHECK(std::adjacent_find(here.begin(), here.end()) == here.end());
  CHECK(here.size() == 128);
}

TEST_CASE("Curve25519 refuses low-order points (all-zero shared secret)", "[dh]") {
  auto self = Generate(DhGroup::kCurve25519);
  // 0, 1, and a point of order 8 (from the list of small-order points on Curve25519).
  for (const char* u : {"0000000000000000000000000000000000000000000000000000000000000000",
                        "0100000000000000000000000000000000000000000000000000000000000000",
                        "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"}) {
    INFO(u);
    absl::StatusOr<SecretBytes> s = self->ComputeSharedSecret(FromHex(u));
    REQUIRE_FALSE(s.ok());
    CHECK_THAT(std::string(s.status().message()), Catch::Contains("all zero"));
  }
  CHECK_FALSE(self->ComputeSharedSecret(Repeat(9, 31)).ok());
  CHECK_FALSE(DhKeyPairFromPrivateKey(DhGroup::kCurve25519, Repeat(1, 31)).ok());
}

TEST_CASE("CheckPeerPublicValue refuses without a key what the key exchange would refuse", "[dh]") {
  SECTION("Curve25519: the seven small-order encodings, with and without the top bit") {
    auto self = Generate(DhGroup::kCurve25519);
    const char* p_minus_1 = "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f";
    for (std::string u :
         {"0000000000000000000000000000000000000000000000000000000000000000",
          "0100000000000000000000000000000000000000000000000000000000000000",
          "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
          "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157", p_minus_1,
          "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
          "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"}) {
      for (bool top : {false, true}) {
        Bytes v = FromHex(u);
        if (top) v[31] |= 0x80;
        INFO(ToHex(v));
        absl::Status c = CheckPeerPublicValue(DhGroup::kCurve25519, v);
        CHECK(c.code() == absl::StatusCode::kInvalidArgument);
        CHECK_THAT(std::string(c.message()), Catch::Contains("small order"));
        // Each really is one: the key exchange itself fails on it.
        CHECK_FALSE(self->ComputeSharedSecret(v).ok());
      }
    }
    auto peer = Generate(DhGroup::kCurve25519);
    CHECK(CheckPeerPublicValue(DhGroup::kCurve25519, peer->public_value()).ok());
    CHECK(CheckPeerPublicValue(DhGroup::kCurve25519, FromHex("09" + std::string(62, '0'))).ok());
    CHECK_FALSE(CheckPeerPublicValue(DhGroup::kCurve25519, Repeat(9, 31)).ok());
  }
  SECTION("MODP: outside 1 < y < p-1 or the wrong size") {
    DhGroup g = DhGroup::kModp2048;
    size_t size = DhPublicValueSize(g);
    Bytes zero(size, 0), one(size, 0), two(size, 0), p_minus_1 = DhModpPrime(g);
    one.back() = 1;
    two.back() = 2;
    p_minus_1.back() -= 1;
    for (const Bytes& bad : {zero, one, p_minus_1, DhModpPrime(g), Bytes(size, 0xff),
                             Bytes(size - 1, 7), Bytes(size + 1, 7)}) {
      CHECK(CheckPeerPublicValue(g, bad).code() == absl::StatusCode::kInvalidArgument);
    }
    CHECK(CheckPeerPublicValue(g, two).ok());
    CHECK(CheckPeerPublicValue(g, Generate(g)->public_value()).ok());
  }
  SECTION("ECP: off the curve, the origin, the wrong size") {
    for (DhGroup g : {DhGroup::kEcp256, DhGroup::kEcp384, DhGroup::kEcp521}) {
      INFO(TransformName(TransformType::kDh, static_cast<uint16_t>(g)));
      auto peer = Generate(g);
      Bytes good(peer->public_value().begin(), peer->public_value().end());
      CHECK(CheckPeerPublicValue(g, good).ok());
      Bytes off_curve = good;
      off_curve.back() ^= 1;
      CHECK_FALSE(CheckPeerPublicValue(g, off_curve).ok());
      CHECK_FALSE(CheckPeerPublicValue(g, Bytes(good.size(), 0)).ok());
      CHECK_FALSE(CheckPeerPublicValue(g, Bytes(good.begin(), good.end() - 1)).ok());
    }
  }
  CHECK(CheckPeerPublicValue(static_cast<DhGroup>(1), Bytes(96, 7)).code() ==
        absl::StatusCode::kInvalidArgument);
}

TEST_CASE("MODP primes are the RFC 2409 / RFC 3526 primes", "[dh]") {
  struct Modp {
    DhGroup group;
    int bits;
    unsigned long k;  // the constant in the RFC's formula
  };
  const Modp groups[] = {
      {DhGroup::kModp1024, 1024, 129093},  {DhGroup::kModp1536, 1536, 741804},
      {DhGroup::kModp2048, 2048, 124476},  {DhGroup::kModp3072, 3072, 1690314},
      {DhGroup::kModp4096, 4096, 240904},  {DhGroup::kModp6144, 6144, 929484},
      {DhGroup::kModp8192, 8192, 4743158},
  };
  std::unique_ptr<BN_CTX, decltype(&BN_CTX_free)> ctx(BN_CTX_new(), &BN_CTX_free);
  for (const Modp& m : groups) {
    INFO(m.bits << "-bit MODP group");
    Bytes prime = DhModpPrime(m.group);
    REQUIRE(prime.size() == static_cast<size_t>(m.bits / 8));
    BnPtr p = Bn(BN_bin2bn(prime.data(), static_cast<int>(prime.size()), nullptr));
    CHECK(BN_num_bits(p.get()) == m.bits);
    // The top and bottom 64 bits are all ones by construction.
    for (int i = 0; i < 8; ++i) {
      CHECK(prime[i] == 0xff);
      CHECK(prime[prime.size() - 1 - i] == 0xff);
    }
    BnPtr expected = ModpFromFormula(m.bits, m.k, ctx.get());
    CHECK(BN_cmp(p.get(), expected.get()) == 0);
    // Safe prime: p and (p-1)/2 prime. Checked for the sizes where it takes well under a second.
    if (m.bits <= 2048) {
      BnPtr q = Bn(BN_dup(p.get()));
      BN_rshift1(q.get(), q.get());
      CHECK(BN_check_prime(p.get(), ctx.get(), nullptr) == 1);
      CHECK(BN_check_prime(q.get(), ctx.get(), nullptr) == 1);
    }
    CHECK(DhPublicValueSize(m.group) == prime.size());
    CHECK(DhSharedSecretSize(m.group) == prime.size());
  }
}

TEST_CASE("MODP: generator 2, agreement, padding and known answers", "[dh]") {
  for (DhGroup g : {DhGroup::kModp1024, DhGroup::kModp1536, DhGroup::kModp2048, DhGroup::kModp3072,
                    DhGroup::kModp4096}) {
    INFO(TransformName(TransformType::kDh, static_cast<uint16_t>(g)));
    size_t size = DhPublicValueSize(g);
    Bytes prime = DhModpPrime(g);
    std::unique_ptr<BN_CTX, decltype(&BN_CTX_free)> ctx(BN_CTX_new(), &BN_CTX_free);
    BnPtr p = Bn(BN_bin2bn(prime.data(), static_cast<int>(prime.size()), nullptr));

    // x = 3 gives g^3 = 8 when the generator is 2.
    auto three = FromPrivate(g, {3});
    Bytes eight(size, 0);
    eight.back() = 8;
    CHECK(ToHex(three->public_value()) == ToHex(eight));

    // Random key pairs agree, in the full length of the prime.
    auto a = Generate(g);
    auto b = Generate(g);
    CHECK(a->public_value().size() == size);
    Bytes ga(a->public_value().begin(), a->public_value().end());
    Bytes gb(b->public_value().begin(), b->public_value().end());
    CHECK(SecretHex(*a, gb) == SecretHex(*b, ga));
    CHECK(SecretHex(*a, gb).size() == 2 * size);

    // Known answer: (g^b)^3 mod p, computed here with BN_mod_exp.
    BnPtr y = Bn(BN_bin2bn(gb.data(), static_cast<int>(gb.size()), nullptr));
    BnPtr three_bn = Bn(BN_new());
    BN_set_word(three_bn.get(), 3);
    BnPtr want = Bn(BN_new());
    BN_mod_exp(want.get(), y.get(), three_bn.get(), p.get(), ctx.get());
    CHECK(SecretHex(*three, gb) == ToHex(BnBytes(want.get(), size)));

    // Leading zeros are kept: with x = 2 and y = 2^100 the secret is 2^200, mostly zero bytes.
    auto two = FromPrivate(g, {2});
    BnPtr y_small = Bn(BN_new());
    BN_one(y_small.get());
    BN_lshift(y_small.get(), y_small.get(), 100);
    BnPtr expect_small = Bn(BN_new());
    BN_one(expect_small.get());
    BN_lshift(expect_small.get(), expect_small.get(), 200);
    CHECK(SecretHex(*two, BnBytes(y_small.get(), size)) ==
          ToHex(BnBytes(expect_small.get(), size)));
  }
}

TEST_CASE("MODP peer values outside 1 < y < p-1, or of the wrong size, are refused", "[dh]") {
  for (DhGroup g : {DhGroup::kModp1024, DhGroup::kModp2048}) {
    INFO(TransformName(TransformType::kDh, static_cast<uint16_t>(g)));
    auto self = Generate(g);
    size_t size = DhPublicValueSize(g);
    Bytes prime = DhModpPrime(g);
    BnPtr p = Bn(BN_bin2bn(prime.data(), static_cast<int>(prime.size()), nullptr));
    auto value = [&](long delta) {  // p + delta
      BnPtr v = Bn(BN_dup(p.get()));
      if (delta < 0) BN_sub_word(v.get(), static_cast<BN_ULONG>(-delta));
      if (delta > 0) BN_add_word(v.get(), static_cast<BN_ULONG>(delta));
      return BnBytes(v.get(), size);
    };
    Bytes zero(size, 0), one(size, 0);
    one.back() = 1;
    for (const Bytes& bad : {zero, one, value(-1), value(0), value(1), Bytes(size, 0xff)}) {
      absl::StatusOr<SecretBytes> s = self->ComputeSharedSecret(bad);
      INFO(ToHex(bad).substr(0, 16) << "..." << ToHex(bad).substr(2 * size - 16));
      REQUIRE_FALSE(s.ok());
      CHECK(s.status().code() == absl::StatusCode::kInvalidArgument);
    }
    // The range ends are the only values refused: with a safe prime the only small subgroups
    // are {1} and {1, p-1} (RFC 6989 2.1), so 2 and p-2 are acceptable.
    Bytes two(size, 0);
    two.back() = 2;
    CHECK(self->ComputeSharedSecret(two).ok());
    CHECK(self->ComputeSharedSecret(value(-2)).ok());
    CHECK_FALSE(self->ComputeSharedSecret(Bytes(size - 1, 7)).ok());
    CHECK_FALSE(self->ComputeSharedSecret(Bytes(size + 1, 7)).ok());
    CHECK_FALSE(DhKeyPairFromPrivateKey(g, {1}).ok());
    CHECK_FALSE(DhKeyPairFromPrivateKey(g, {}).ok());
  }
}

TEST_CASE("MODP 6144 and 8192 generate and agree", "[dh]") {
  for (DhGroup g : {DhGroup::kModp6144, DhGroup::kModp8192}) {
    auto a = Generate(g);
    auto b = Generate(g);
    Bytes ga(a->public_value().begin(), a->public_value().end());
    Bytes gb(b->public_value().begin(), b->public_value().end());
    CHECK(SecretHex(*a, gb) == SecretHex(*b, ga));
  }
}

TEST_CASE("unsupported groups and bad private keys are refused", "[dh]") {
  for (DhGroup g : {DhGroup::kNone, DhGroup::kModp768, DhGroup::kModp1024s160, DhGroup::kCurve448,
                    static_cast<DhGroup>(1234)}) {
    CHECK_FALSE(IsSupportedDhGroup(g));
    CHECK(DhPublicValueSize(g) == 0);
    CHECK_FALSE(GenerateDhKeyPair(g).ok());
  }
  CHECK(DhModpPrime(DhGroup::kEcp256).empty());
  CHECK_FALSE(DhKeyPairFromPrivateKey(DhGroup::kEcp256, Repeat(1, 31)).ok());
  CHECK_FALSE(DhKeyPairFromPrivateKey(DhGroup::kEcp256, Repeat(0, 32)).ok());
  CHECK_FALSE(DhKeyPairFromPrivateKey(DhGroup::kEcp256, Repeat(0xff, 32)).ok());  // >= order
}

// The hitless restart saves an exchange's private key and makes the pair again from it: the
// same public value and the same g^ir with the peer.
TEST_CASE("a key pair made again from its saved private key is the same pair", "[dh]") {
  for (DhGroup g : {DhGroup::kModp2048, DhGroup::kEcp256, DhGroup::kEcp521, DhGroup::kCurve25519}) {
    INFO(static_cast<int>(g));
    auto ours = GenerateDhKeyPair(g);
    auto peer = GenerateDhKeyPair(g);
    REQUIRE(ours.ok());
    REQUIRE(peer.ok());
    absl::StatusOr<SecretBytes> priv = (*ours)->PrivateKey();
    REQUIRE(priv.ok());
    auto again = DhKeyPairFromPrivateKey(g, priv->span());
    REQUIRE(again.ok());
    CHECK(ToHex((*again)->public_value()) == ToHex((*ours)->public_value()));
    auto a = (*ours)->ComputeSharedSecret((*peer)->public_value());
    auto b = (*again)->ComputeSharedSecret((*peer)->public_value());
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    CHECK(*a == *b);
  }
}
