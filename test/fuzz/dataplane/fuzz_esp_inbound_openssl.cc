// libFuzzer target: inbound ESP through the engine on OpenSSL, the reference backend the tests
// check IPsec-MB against (esp_inbound_harness.h says how). Its GCM, CBC and HMAC paths differ
// from IPsec-MB's (tag checked after decryption, CBC and HMAC in separate calls).
#include "drivers/crypto/openssl_backend.h"
#include "test/fuzz/dataplane/esp_inbound_harness.h"

using Backend = portcullis::drivers::crypto::OpenSslBackend;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  return esp_fuzz::Initialize<Backend>("fzo");
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return esp_fuzz::TestOneInput<Backend>(data, size);
}
