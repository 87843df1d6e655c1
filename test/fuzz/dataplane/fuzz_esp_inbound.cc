// libFuzzer target: inbound ESP through the engine on IPsec-MB, the packet path's backend
// (esp_inbound_harness.h says how).
#include "drivers/crypto/ipsecmb_backend.h"
#include "test/fuzz/dataplane/esp_inbound_harness.h"

using Backend = portcullis::drivers::crypto::IpsecMbBackend;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  return esp_fuzz::Initialize<Backend>("fz");
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return esp_fuzz::TestOneInput<Backend>(data, size);
}
