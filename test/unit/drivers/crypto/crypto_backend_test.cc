// The two crypto backends against published vectors, and against each other.
#include <catch2/catch.hpp>
#include <memory>
#include <random>
#include <set>

#include "drivers/crypto/ipsecmb_backend.h"
#include "drivers/crypto/key_spec.h"
#include "drivers/crypto/openssl_backend.h"
#include "test/unit/support/dpdk_test_env.h"

using namespace portcullis;
using drivers::crypto::Auth;
using drivers::crypto::Cipher;
using drivers::crypto::KeySpec;
using test::Hex;

namespace {

struct GcmVector {
  const char* key;
  const char* nonce;
  const char* aad;
  const char* plaintext;
  const char* ciphertext_tag;
};

// draft-mcgrew-gcm-test-01 §4 (the AES-128 and AES-256 cases; the key excludes the salt, which
// is the first 4 bytes of the nonce).
const GcmVector kGcm[] = {
    {"4c80cdefbb5d10da906ac73c3613a634", "2e443b684956ed7e3b244cfe", "000043218765432100000000",
     "45000048699a000080114db7c0a80102c0a801010a9bf15638d3010000010000"
     "00000000045f736970045f756470037369700963796265726369747902646b00"
     "0021000101020201",
     "fecf537e729d5b07dc30df528dd22b768d1b98736696a6fd348509fa13ceac34"
     "cfa2436f14a3f3cf65925bf1f4a13c5d15b21e1884f5ff6247aeabb786b93bce"
     "61bc17d768fd9732459018148f6cbe722fd04796562dfdb4"},
    {"feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888", "0000a5f80000000a",
     "4500003e698f000080114dccc0a80102c0a801010a980035002a2343b2d00100"
     "0001000000000000037369700963796265726369747902646b00000100010001",
     "deb22cd9b07c72c16e3a65beeb8df304a5a5897d33ae530f1ba76d5d114d2a5c"
     "3de81827c10e9a4f51330d0eec416642cfbb85a5b47e48a4ec3b9ba95d918bd1"
     "83b70d3aa8bc6ee4c309e9d85a41ad4a"},
    {"abbccddef00112233445566778899aababbccddef00112233445566778899aab", "112233440102030405060708",
     "4a2cbfe300000002",
     "4500003069a6400080062690c0a801029389155e0a9e008b2dc57ee000000000"
     "7002400020bf0000020405b40101040201020201",
     "ff425c9b724599df7a3bcd510194e00d6a78107f1b0b1cbf06efae9d65a5d763"
     "748a637985771d347f0545659f14e99def842d8eb335f4eecfdbf831824b4c49"
     "15956c96"},
    {"3de09874b388e6491988d0c3607eae1f", "57690e434e280000a2fca1a3", "42f67e3f1010101010101010",
     "4500003c99c300008001cb7c40679318010101010800085c0200430061626364"
     "65666768696a6b6c6d6e6f707172737475767761626364656667686901020201",
     "fba2caa4853cf9f0f22cb10d86dd83b0fec75691cf1a04b00d1138ec9c357917"
     "65acbd8701ad79845bf9fe3fba487bc91755e6662b4c8d0d1f5e22739530320a"
     "e0d731cc978ecafaeae88f00e80d6e48"},
    {"abbccddef00112233445566778899aab", "decaf888cafedebaceface74", "000001000000000000000001",
     "4500004933ba00007f119106c3fb1d10c2b1d326c02831ce0035dd7b800302d5"
     "00004e20001e8c18d75b81dc91baa0476b91b924b280389d92c963bac046ec95"
     "9b6266c04722b14923010101",
     "18a6fd42f72cbf4ab2a2ea901f73d814e3e7f243d95412e1c349c1d2fbec168f"
     "9190feebaf2cb01984e65863965d7472b79da345e0e780191f0d2f0e0f496c22"
     "6f2127b27db35724e7845d68651f57e65f354f75ff17015769623436"},
    {"7d773d00c144c525ac619d18c84a3f47", "d966426743457e9182443bc6", "335467aeffffffff", "01020201",
     "437f866bcb3f699fe9b0822bac961c4504bef270"},
    {"6c6567616c697a656d6172696a75616e61616e64646f69746265666f72656961", "7475726e333021696765746d",
     "796b6963ffffffffffffffff",
     "45000030da3a00008001df3bc0a80005c0a800010800c6cd0200070061626364"
     "65666768696a6b6c6d6e6f707172737401020201",
     "f97ab2aa356d8edce17644ac8c78e25dd24dedbb29ebf1b64a274b39b49c3a86"
     "4cd3d78ca4ae68a32b42458fb57dbe821dcc63b9d0937ba2945f669368661a32"
     "9fb4c053"},
};

template <class B>
struct KeyBox {
  alignas(64) uint8_t storage[sizeof(typename B::Keys)];
  typename B::Keys& keys() { return *reinterpret_cast<typename B::Keys*>(storage); }
  ~KeyBox() { B::DestroyKeys(storage); }
};

KeySpec GcmSpec(const std::vector<uint8_t>& key) {
  KeySpec c;
  c.cipher = key.size() == 32 ? Cipher::kAesGcm256 : Cipher::kAesGcm128;
  std::memcpy(c.enc_key, key.data(), key.size());
  c.enc_key_len = static_cast<uint8_t>(key.size());
  return c;
}

template <class B>
void GcmKnownAnswers() {
  B be;
  for (const GcmVector& v : kGcm) {
    auto key = Hex(v.key), nonce = Hex(v.nonce), aad = Hex(v.aad), pt = Hex(v.plaintext),
         expect = Hex(v.ciphertext_tag);
    INFO("key " << v.key);
    KeyBox<B> box;
    REQUIRE(B::InitKeys(box.storage, GcmSpec(key)).ok());
    std::vector<uint8_t> buf = pt;
    buf.resize(pt.size() + 16);
    be.GcmEncrypt(box.keys(), key.size() == 32, buf.data(), pt.size(), nonce.data(), aad.data(),
                  aad.size(), buf.data() + pt.size());
    CHECK(test::ToHex(buf) == test::ToHex(expect));
    std::vector<uint8_t> dec = expect;
    CHECK(be.GcmDecrypt(box.keys(), key.size() == 32, dec.data(), pt.size(), nonce.data(),
                        aad.data(), aad.size(), expect.data() + pt.size()));
    CHECK(std::equal(pt.begin(), pt.end(), dec.begin()));
    dec = expect;
    dec[3] ^= 1;
    CHECK_FALSE(be.GcmDecrypt(box.keys(), key.size() == 32, dec.data(), pt.size(), nonce.data(),
                              aad.data(), aad.size(), expect.data() + pt.size()));
  }
}

struct CbcVector {
  const char* key;
  const char* iv;
  const char* plaintext;
  const char* ciphertext;
};

// RFC 3602 §4, cases 1-3.
const CbcVector kCbc[] = {
    {"06a9214036b8a15b512e03d534120006", "3dafba429d9eb430b422da802c9fac41",
     "53696e676c6520626c6f636b206d7367", "e353779c1079aeb82708942dbe77181a"},
    {"c286696d887c9aa0611bbb3e2025a45a", "562e17996d093d28ddb3ba695a2e6f58",
     "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
     "d296cd94c2cccf8a3a863028b5e1dc0a7586602d253cfff91b8266bea6d61ab1"},
    {"6c3ea0477630ce21a2ce334aa746c2cd", "c782dc4c098c66cbd9cd27d825682c81",
     "5468697320697320612034382d62797465206d657373616765202865786163746c7920332041455320626c6f636b7"
     "329",
     "d0a02b3836451753d493665d33f0e8862dea54cdb293abc7506939276772f8d5021c19216bad525c8579695d83ba2"
     "684"},
};

struct HmacVector {
  Auth auth;
  const char* key;
  const char* data;
  const char* mac;  // full length; the ESP tag is its truncation
};

// RFC 2202 §3 (SHA-1) and RFC 4231 §4.2-4.3 (SHA-2), test cases 1 and 2.
const HmacVector kHmac[] = {
    {Auth::kHmacSha1_96, "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "4869205468657265",
     "b617318655057264e28bc0b6fb378c8ef146be00"},
    {Auth::kHmacSha1_96, "4a656665", "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
     "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"},
    {Auth::kHmacSha256_128, "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "4869205468657265",
     "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
    {Auth::kHmacSha256_128, "4a656665", "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
     "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
    {Auth::kHmacSha384_192, "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "4869205468657265",
     "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9"
     "cb6"},
    {Auth::kHmacSha512_256, "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "4869205468657265",
     "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f"
     "4e4be9d914eeb61f1702e696c203a126854"},
    {Auth::kHmacSha512_256, "4a656665", "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
     "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e"
     "6fdcaeab1a34d4a6b4b636e070a38bce737"},
};

template <class B>
void CbcAndHmacKnownAnswers() {
  B be;
  for (const CbcVector& v : kCbc) {
    auto key = Hex(v.key), iv = Hex(v.iv), pt = Hex(v.plaintext), ct = Hex(v.ciphertext);
    KeySpec c;
    c.cipher = Cipher::kAesCbc128;
    c.auth = Auth::kHmacSha1_96;
    std::memcpy(c.enc_key, key.data(), 16);
    c.enc_key_len = 16;
    c.auth_key_len = 20;
    KeyBox<B> box;
    REQUIRE(B::InitKeys(box.storage, c).ok());
    std::vector<uint8_t> buf = pt;
    uint8_t tag[32];
    drivers::crypto::HmacJob j{buf.data(), static_cast<uint32_t>(buf.size()), iv.data(),
                               buf.data(), static_cast<uint32_t>(buf.size()), tag,
                               false};
    be.HmacBurst(box.keys(), c.cipher, true, &j, 1);
    REQUIRE(j.ok);
    CHECK(test::ToHex(buf) == test::ToHex(ct));
    drivers::crypto::HmacJob d{buf.data(), static_cast<uint32_t>(buf.size()), iv.data(),
                               buf.data(), static_cast<uint32_t>(buf.size()), tag,
                               false};
    be.HmacBurst(box.keys(), c.cipher, false, &d, 1);
    CHECK(test::ToHex(buf) == test::ToHex(pt));
  }
  for (const HmacVector& v : kHmac) {
    auto key = Hex(v.key), data = Hex(v.data), mac = Hex(v.mac);
    KeySpec c;
    c.cipher = Cipher::kNull;
    c.auth = v.auth;
    std::memcpy(c.auth_key, key.data(), key.size());
    c.auth_key_len = static_cast<uint8_t>(key.size());  // RFC key sizes, not the ESP ones
    KeyBox<B> box;
    REQUIRE(B::InitKeys(box.storage, c).ok());
    uint8_t tag[32] = {};
    drivers::crypto::HmacJob j{
        data.data(), 0, nullptr, data.data(), static_cast<uint32_t>(data.size()), tag, false};
    be.HmacBurst(box.keys(), c.cipher, true, &j, 1);
    REQUIRE(j.ok);
    size_t n = drivers::crypto::AuthTagLen(v.auth);
    INFO("auth " << static_cast<int>(v.auth) << " key " << v.key);
    CHECK(test::ToHex({tag, tag + n}) == test::ToHex({mac.begin(), mac.begin() + n}));
  }
}

}  // namespace

TEST_CASE("IPsec-MB AES-GCM: draft-mcgrew-gcm-test vectors", "[crypto][kat]") {
  GcmKnownAnswers<drivers::crypto::IpsecMbBackend>();
}
TEST_CASE("OpenSSL AES-GCM: draft-mcgrew-gcm-test vectors", "[crypto][kat]") {
  GcmKnownAnswers<drivers::crypto::OpenSslBackend>();
}
TEST_CASE("IPsec-MB AES-CBC (RFC 3602) and HMAC (RFC 2202/4231)", "[crypto][kat]") {
  CbcAndHmacKnownAnswers<drivers::crypto::IpsecMbBackend>();
}
TEST_CASE("OpenSSL AES-CBC (RFC 3602) and HMAC (RFC 2202/4231)", "[crypto][kat]") {
  CbcAndHmacKnownAnswers<drivers::crypto::OpenSslBackend>();
}

TEST_CASE("IPsec-MB and OpenSSL agree on random inputs", "[crypto]") {
  drivers::crypto::IpsecMbBackend mb;
  drivers::crypto::OpenSslBackend os;
  std::mt19937 rng(42);
  auto rnd = [&](size_t n) {
    std::vector<uint8_t> v(n);
    for (auto& b : v) b = static_cast<uint8_t>(rng());
    return v;
  };
  for (Cipher cipher : {Cipher::kAesGcm128, Cipher::kAesGcm256}) {
    for (int i = 0; i < 200; ++i) {
      KeySpec c;
      c.cipher = cipher;
      c.enc_key_len = static_cast<uint8_t>(drivers::crypto::CipherKeyLen(cipher));
      auto key = rnd(c.enc_key_len);
      std::memcpy(c.enc_key, key.data(), key.size());
      KeyBox<drivers::crypto::IpsecMbBackend> kb;
      KeyBox<drivers::crypto::OpenSslBackend> ko;
      REQUIRE(drivers::crypto::IpsecMbBackend::InitKeys(kb.storage, c).ok());
      REQUIRE(drivers::crypto::OpenSslBackend::InitKeys(ko.storage, c).ok());
      size_t len = rng() % 2000 + 1;
      auto pt = rnd(len), nonce = rnd(12), aad = rnd(rng() % 2 ? 8 : 12);
      std::vector<uint8_t> a = pt, b = pt;
      uint8_t ta[16], tb[16];
      bool aes256 = cipher == Cipher::kAesGcm256;
      mb.GcmEncrypt(kb.keys(), aes256, a.data(), len, nonce.data(), aad.data(), aad.size(), ta);
      os.GcmEncrypt(ko.keys(), aes256, b.data(), len, nonce.data(), aad.data(), aad.size(), tb);
      REQUIRE(a == b);
      REQUIRE(std::equal(ta, ta + 16, tb));
    }
  }
  for (Cipher cipher : {Cipher::kAesCbc128, Cipher::kAesCbc256, Cipher::kNull}) {
    for (Auth auth : {Auth::kHmacSha1_96, Auth::kHmacSha256_128, Auth::kHmacSha384_192,
                      Auth::kHmacSha512_256}) {
      for (int i = 0; i < 50; ++i) {
        KeySpec c;
        c.cipher = cipher;
        c.auth = auth;
        c.enc_key_len = static_cast<uint8_t>(drivers::crypto::CipherKeyLen(cipher));
        c.auth_key_len = static_cast<uint8_t>(drivers::crypto::AuthKeyLen(auth));
        auto key = rnd(32), akey = rnd(64);
        std::memcpy(c.enc_key, key.data(), 32);
        std::memcpy(c.auth_key, akey.data(), 64);
        KeyBox<drivers::crypto::IpsecMbBackend> kb;
        KeyBox<drivers::crypto::OpenSslBackend> ko;
        REQUIRE(drivers::crypto::IpsecMbBackend::InitKeys(kb.storage, c).ok());
        REQUIRE(drivers::crypto::OpenSslBackend::InitKeys(ko.storage, c).ok());
        size_t blocks = rng() % 100 + 1;
        auto buf = rnd(24 + blocks * 16), iv = rnd(16);
        std::vector<uint8_t> a = buf, b = buf;
        uint8_t ta[32], tb[32];
        uint32_t ct = drivers::crypto::IsCbc(cipher) ? static_cast<uint32_t>(blocks * 16) : 0;
        drivers::crypto::HmacJob ja{
            a.data() + 24, ct, iv.data(), a.data(), static_cast<uint32_t>(a.size()), ta, false};
        drivers::crypto::HmacJob jb{
            b.data() + 24, ct, iv.data(), b.data(), static_cast<uint32_t>(b.size()), tb, false};
        mb.HmacBurst(kb.keys(), cipher, true, &ja, 1);
        os.HmacBurst(ko.keys(), cipher, true, &jb, 1);
        REQUIRE(ja.ok);
        REQUIRE(jb.ok);
        REQUIRE(a == b);
        REQUIRE(std::equal(ta, ta + drivers::crypto::AuthTagLen(auth), tb));
      }
    }
  }
}

TEST_CASE("a burst of many jobs completes every job", "[crypto]") {
  drivers::crypto::IpsecMbBackend mb;
  KeySpec c;
  c.cipher = Cipher::kAesCbc128;
  c.auth = Auth::kHmacSha256_128;
  c.enc_key_len = 16;
  c.auth_key_len = 32;
  KeyBox<drivers::crypto::IpsecMbBackend> kb;
  REQUIRE(drivers::crypto::IpsecMbBackend::InitKeys(kb.storage, c).ok());
  std::vector<std::vector<uint8_t>> bufs(64, std::vector<uint8_t>(24 + 1024));
  uint8_t iv[16] = {};
  std::vector<drivers::crypto::HmacJob> jobs(64);
  uint8_t tags[64][32];
  for (int i = 0; i < 64; ++i)
    jobs[i] = {bufs[i].data() + 24, 1024, iv, bufs[i].data(), 24 + 1024, tags[i], false};
  mb.HmacBurst(kb.keys(), c.cipher, true, jobs.data(), 64);
  for (const auto& j : jobs) CHECK(j.ok);
  // Same input, same key, same IV: same tags.
  for (int i = 1; i < 64; ++i) CHECK(std::equal(tags[0], tags[0] + 16, tags[i]));
}

// What the ESP engine prefetches for a burst over many SAs: the lines of the key material the
// GCM call reads, all inside the SA's keys (a mask that cut the address to 32 bits once sent
// every GHASH prefetch elsewhere), covering the round keys and H^1..H^b of the layout in use
// (H^1 last; traced under valgrind's lackey, test/bench/gcm_key_lines_probe.c).
TEST_CASE("IPsec-MB: the GCM key lines to prefetch lie in the keys", "[crypto]") {
  drivers::crypto::IpsecMbBackend be;
  auto keys = std::make_unique<drivers::crypto::IpsecMbBackend::Keys>();
  const auto* base = reinterpret_cast<const uint8_t*>(be.Gcm(*keys));
  CHECK(reinterpret_cast<uintptr_t>(base) % 16 == 0);
  CHECK(base == reinterpret_cast<const uint8_t*>(keys.get()) + be.gcm_offset());
  const uint8_t* end = base + sizeof(gcm_key_data);
  CHECK(end <= reinterpret_cast<const uint8_t*>(keys.get()) +
                   offsetof(drivers::crypto::IpsecMbBackend::Keys, hash_alg));
  const uint8_t* table = base + offsetof(gcm_key_data, ghash_keys);
  const uint8_t* h1 = table + (be.hkeys_at_end() ? 47 : 7) * 16;
  // The layout GcmKeyLines models was traced on IPsec-MB 1.3 (test/bench/gcm_key_lines_probe.c):
  // another version may order its table otherwise and leave the prefetches useless unnoticed;
  // re-run the probe and update the model (and this version) when it changes.
  CHECK(IMB_VERSION_NUM == 0x10300);
  auto line = [](const uint8_t* a) {
    return reinterpret_cast<const uint8_t*>(reinterpret_cast<uintptr_t>(a) & ~uintptr_t{63});
  };
  for (bool aes256 : {false, true}) {
    for (uint32_t len : {0u, 1u, 52u, 64u, 100u, 1500u}) {
      INFO("aes256 " << aes256 << " len " << len);
      const uint8_t* lines[drivers::crypto::IpsecMbBackend::kMaxGcmKeyLines];
      const int n = be.GcmKeyLines(*keys, aes256, len, lines);
      REQUIRE(n >= 4);
      REQUIRE(n <= drivers::crypto::IpsecMbBackend::kMaxGcmKeyLines);
      std::set<const uint8_t*> got(lines, lines + n);
      CHECK(got.size() == static_cast<size_t>(n));
      for (const uint8_t* l : got) {
        CHECK(reinterpret_cast<uintptr_t>(l) % 64 == 0);
        CHECK(l >= line(base));
        CHECK(l < end);
      }
      CHECK(got.count(line(base)));
      CHECK(got.count(line(base + (aes256 ? 14 : 10) * 16)));  // the last round key
      CHECK(got.count(line(h1)));
      // A 64-byte packet's four blocks: H^4..H^1; longer ones' up to H^8.
      if (len >= 64) CHECK(got.count(line(h1 - 3 * 16)));
      if (len >= 1500) CHECK(got.count(line(h1 - 7 * 16)));
      // With the keys 16 bytes past a line (not AVX-512), AES-128's round keys take three lines
      // and a short packet's H^4..H^1 one: four.
      if (be.gcm_offset() == 16 && !aes256 && len <= 64) CHECK(n == 4);
    }
  }
}

// IpsecMbBackend keeps gcm_key_data 16 bytes past a cache line on IPsec-MB's SSE/AVX/AVX2 code
// (GcmOffset: one key line fewer a packet), below the 64 its header declares: each of those
// code paths this CPU has must expand and use keys there exactly as at a line's start (an
// IPsec-MB whose loads needed more alignment would fault or differ here; checked on 1.3).
TEST_CASE("IPsec-MB: GCM keys 16 bytes past a line work as aligned ones", "[crypto]") {
  struct Arch {
    const char* name;
    uint64_t needs;
    void (*init)(IMB_MGR*);
  };
  const Arch archs[] = {{"sse", IMB_CPUFLAGS_SSE, init_mb_mgr_sse},
                        {"avx", IMB_CPUFLAGS_AVX, init_mb_mgr_avx},
                        {"avx2", IMB_CPUFLAGS_AVX2, init_mb_mgr_avx2}};
  std::unique_ptr<IMB_MGR, void (*)(IMB_MGR*)> mgr(alloc_mb_mgr(0), free_mb_mgr);
  REQUIRE(mgr != nullptr);
  const uint64_t has = mgr->features;
  CHECK(drivers::crypto::IpsecMbBackend::GcmOffset(IMB_ARCH_AVX2) == 16);
  int tried = 0;
  for (const Arch& a : archs) {
    if ((has & a.needs) != a.needs) continue;
    ++tried;
    a.init(mgr.get());
    for (const bool aes256 : {false, true}) {
      uint8_t key[32];
      for (int i = 0; i < 32; ++i) key[i] = static_cast<uint8_t>(7 * i + aes256);
      for (const uint32_t len : {0u, 1u, 16u, 52u, 64u, 100u, 128u, 1500u}) {
        INFO(a.name << " aes256 " << aes256 << " len " << len);
        uint8_t out[2][1500];
        uint8_t tag[2][16];
        for (const size_t off : {size_t{0}, size_t{16}}) {
          alignas(64) uint8_t storage[16 + sizeof(gcm_key_data)];
          auto* k = reinterpret_cast<gcm_key_data*>(storage + off);
          if (aes256) {
            IMB_AES256_GCM_PRE(mgr.get(), key, k);
          } else {
            IMB_AES128_GCM_PRE(mgr.get(), key, k);
          }
          uint8_t* buf = out[off != 0];
          for (uint32_t i = 0; i < len; ++i) buf[i] = static_cast<uint8_t>(i);
          const uint8_t iv[12] = {1, 2, 3}, aad[8] = {4, 5};
          gcm_context_data ctx;
          if (aes256) {
            IMB_AES256_GCM_ENC(mgr.get(), k, &ctx, buf, buf, len, iv, aad, 8, tag[off != 0], 16);
          } else {
            IMB_AES128_GCM_ENC(mgr.get(), k, &ctx, buf, buf, len, iv, aad, 8, tag[off != 0], 16);
          }
        }
        CHECK(std::equal(out[0], out[0] + len, out[1]));
        CHECK(std::equal(tag[0], tag[0] + 16, tag[1]));
      }
    }
  }
  CHECK(tried >= 1);
}
