// KeySpec carries an SA's key bytes from the ESP engine to a crypto backend: it must leave no
// copy behind when it goes (the stack of whoever built it, freed heap memory).
#include "drivers/crypto/key_spec.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <new>

using portcullis::drivers::crypto::Cipher;
using portcullis::drivers::crypto::KeySpec;

namespace {

bool AllZero(const uint8_t* p, size_t n) {
  return std::all_of(p, p + n, [](uint8_t b) { return b == 0; });
}

}  // namespace

TEST_CASE("a KeySpec wipes its keys when it is destroyed", "[crypto][keys]") {
  alignas(KeySpec) unsigned char storage[sizeof(KeySpec)];
  auto* spec = new (storage) KeySpec();
  spec->cipher = Cipher::kAesCbc128;
  std::memset(spec->enc_key, 0xa5, sizeof spec->enc_key);
  std::memset(spec->auth_key, 0x5a, sizeof spec->auth_key);
  spec->enc_key_len = 16;
  spec->auth_key_len = 32;
  const size_t enc_at = offsetof(KeySpec, enc_key), auth_at = offsetof(KeySpec, auth_key);
  spec->~KeySpec();
  CHECK(AllZero(storage + enc_at, sizeof(KeySpec::enc_key)));
  CHECK(AllZero(storage + auth_at, sizeof(KeySpec::auth_key)));
}

TEST_CASE("Wipe clears the keys of a KeySpec that lives on", "[crypto][keys]") {
  KeySpec spec;
  std::memset(spec.enc_key, 0xff, sizeof spec.enc_key);
  std::memset(spec.auth_key, 0xff, sizeof spec.auth_key);
  spec.Wipe();
  CHECK(AllZero(spec.enc_key, sizeof spec.enc_key));
  CHECK(AllZero(spec.auth_key, sizeof spec.auth_key));
}
