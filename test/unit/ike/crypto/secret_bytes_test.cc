// SecretBytes: wiped before its memory is freed (observed through a replaced operator
// delete[]), emptied when moved from, never copied implicitly, never printable; and error
// messages from the crypto code never carry key bytes.
#include "ike/crypto/secret_bytes.h"

#include <cstdlib>
#include <new>
#include <ostream>
#include <string>
#include <type_traits>

#include <catch2/catch.hpp>

#include "ike/crypto/dh_group.h"
#include "ike/crypto/key_schedule.h"
#include "ike/crypto/sk_cipher.h"
#include "test/unit/ike/ike_test_util.h"

using namespace portcullis::ike;
using portcullis::ike::testing::Repeat;
using portcullis::ike::testing::ToHex;

// The test binary's array new/delete: plain malloc/free, plus a check that a buffer being freed
// is all zeros when it is the one a test is watching. This is how "wiped before free" can be
// seen without reading freed memory.
namespace {
const void* g_watched = nullptr;
size_t g_watched_size = 0;
int g_watched_freed = 0;
bool g_watched_was_zero = false;

void NoteFree(void* p) {
  if (p == nullptr || p != g_watched) return;
  const uint8_t* b = static_cast<const uint8_t*>(p);
  g_watched_was_zero = true;
  for (size_t i = 0; i < g_watched_size; ++i) {
    if (b[i] != 0) g_watched_was_zero = false;
  }
  ++g_watched_freed;
  g_watched = nullptr;
}

void Watch(const SecretBytes& s) {
  g_watched = s.data();
  g_watched_size = s.size();
  g_watched_freed = 0;
  g_watched_was_zero = false;
}
}  // namespace

void* operator new[](size_t n) {
  void* p = std::malloc(n ? n : 1);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
void operator delete[](void* p) noexcept {
  NoteFree(p);
  std::free(p);
}
void operator delete[](void* p, size_t) noexcept {
  NoteFree(p);
  std::free(p);
}

namespace {

template <typename T, typename = void>
struct Streamable : std::false_type {};
template <typename T>
struct Streamable<T, std::void_t<decltype(std::declval<std::ostream&>() << std::declval<T>())>>
    : std::true_type {};

}  // namespace

TEST_CASE("SecretBytes cannot be copied implicitly or streamed", "[secret]") {
  STATIC_REQUIRE_FALSE(std::is_copy_constructible_v<SecretBytes>);
  STATIC_REQUIRE_FALSE(std::is_copy_assignable_v<SecretBytes>);
  STATIC_REQUIRE(std::is_nothrow_move_constructible_v<SecretBytes>);
  STATIC_REQUIRE_FALSE(Streamable<SecretBytes>::value);
}

TEST_CASE("SecretBytes holds, compares and clones bytes", "[secret]") {
  Bytes raw = {1, 2, 3, 4, 5};
  SecretBytes a(raw);
  CHECK(a.size() == 5);
  CHECK(ToHex(a.span()) == "0102030405");
  SecretBytes b = a.Clone();
  CHECK(b == a);
  CHECK(b.data() != a.data());
  b.data()[0] = 9;
  CHECK_FALSE(b == a);
  CHECK(ToHex(a.Sub(1, 3).span()) == "020304");
  CHECK(SecretBytes(3).span()[2] == 0);
  CHECK(SecretBytes().empty());
}

TEST_CASE("SecretBytes is wiped before its memory is freed", "[secret]") {
  SECTION("on destruction") {
    {
      SecretBytes s(Repeat(0xa5, 48));
      Watch(s);
    }
    CHECK(g_watched_freed == 1);
    CHECK(g_watched_was_zero);
  }
  SECTION("when assigned over") {
    SecretBytes target(Repeat(0x3c, 32));
    Watch(target);
    target = SecretBytes(Repeat(0x77, 16));
    CHECK(g_watched_freed == 1);
    CHECK(g_watched_was_zero);
    CHECK(ToHex(target.span()) == ToHex(Repeat(0x77, 16)));
  }
  SECTION("moved from: the buffer moves, nothing is left behind") {
    SecretBytes source(Repeat(0x42, 20));
    const uint8_t* buffer = source.data();
    SecretBytes dest(std::move(source));
    CHECK(dest.data() == buffer);
    CHECK(source.size() == 0);  // NOLINT(bugprone-use-after-move): the point of the test
    CHECK(source.data() == nullptr);
    SecretBytes other;
    other = std::move(dest);
    CHECK(other.data() == buffer);
    CHECK(dest.data() == nullptr);  // NOLINT(bugprone-use-after-move)
    Watch(other);
  }
  g_watched = nullptr;
}

TEST_CASE("no key byte ends up in an error message", "[secret]") {
  // Distinctive key bytes; every failing call below must not echo them, raw or in hex.
  const Bytes key = Repeat(0x5a, 32);
  const std::string raw(key.begin(), key.end());
  const std::string hex = ToHex(key);
  auto check = [&](const absl::Status& s) {
    INFO(s.ToString());
    REQUIRE_FALSE(s.ok());
    CHECK(std::string(s.message()).find(raw.substr(0, 4)) == std::string::npos);
    CHECK(std::string(s.message()).find(hex.substr(0, 8)) == std::string::npos);
    CHECK(std::string(s.message()).find("5A5A") == std::string::npos);
  };
  check(DhKeyPairFromPrivateKey(DhGroup::kEcp384, key).status());                  // wrong size
  check(DhKeyPairFromPrivateKey(DhGroup::kModp2048, Repeat(0xff, 256)).status());  // >= p-1
  absl::StatusOr<std::unique_ptr<DhKeyPair>> kp = GenerateDhKeyPair(DhGroup::kEcp256);
  REQUIRE(kp.ok());
  Bytes off_curve = Repeat(0x5a, 64);
  check((*kp)->ComputeSharedSecret(off_curve).status());
  IkeSaCryptoSuite suite;
  check(SkCipher::Create(suite, key, Repeat(0x5a, 31)).status());
  SecretBytes sk_d(key);
  check(DeriveChildSaKeys(PrfId::kHmacSha2_256, sk_d, ChildSaCryptoSuite{}, &sk_d, key, key)
            .status());
}
