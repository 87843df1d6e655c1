// Which bytes of IPsec-MB's gcm_key_data one AES-GCM encryption reads (docs/DESIGN.md, ESP: the
// key lines EncryptEach asks for; drivers/crypto/ipsecmb_backend.h GcmKeyLines). Not built by
// default; a probe, not a test:
//   gcc -O2 -o /tmp/gcm_key_lines_probe test/bench/gcm_key_lines_probe.c -lIPSec_MB
//   valgrind --tool=lackey --trace-mem=yes --log-file=/tmp/lk /tmp/gcm_key_lines_probe LEN AES256
// It prints the keys' address and size and the marker's; the accesses between the first and
// the second store to the marker are the second call's (the first warms nothing that matters,
// it is there so that no lazy set-up shows up in the traced one). ARCH=sse or ARCH=avx picks
// that code instead of the one IPsec-MB detects (AVX2 on this machine, also under valgrind).
// Offsets read, IPsec-MB 1.3 (2026-12-07): AVX2 round keys [0, 176) (AES-256: [0, 240)) and
// H^b..H^1 ending at 368 for b = ceil(LEN / 16) up to 8; SSE and AVX H^1 only ([352, 368)) up
// to 64 bytes, from 128 bytes [240, 496) (the powers and their Karatsuba halves).
#include <intel-ipsec-mb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

volatile uint64_t marker;

int main(int argc, char** argv) {
  const int len = argc > 1 ? atoi(argv[1]) : 64;
  const int aes256 = argc > 2 ? atoi(argv[2]) : 0;
  const char* arch = getenv("ARCH");
  IMB_MGR* mgr = alloc_mb_mgr(0);
  if (arch != NULL && strcmp(arch, "sse") == 0) {
    init_mb_mgr_sse(mgr);
  } else if (arch != NULL && strcmp(arch, "avx") == 0) {
    init_mb_mgr_avx(mgr);
  } else {
    init_mb_mgr_auto(mgr, NULL);
  }
  struct gcm_key_data* k = aligned_alloc(64, sizeof *k);
  uint8_t key[32] = {1, 2, 3};
  if (aes256) {
    IMB_AES256_GCM_PRE(mgr, key, k);
  } else {
    IMB_AES128_GCM_PRE(mgr, key, k);
  }
  static uint8_t buf[9216] __attribute__((aligned(64)));
  uint8_t iv[12] = {0}, aad[8] = {0}, tag[16];
  struct gcm_context_data ctx;
  if (len < 0 || len > (int)sizeof buf) return 2;
  fprintf(stderr, "arch %u key %p size %zu marker %p\n", mgr->used_arch, (void*)k, sizeof *k,
          (void*)&marker);
  for (int round = 1; round <= 2; ++round) {
    if (aes256) {
      IMB_AES256_GCM_ENC(mgr, k, &ctx, buf, buf, len, iv, aad, 8, tag, 16);
    } else {
      IMB_AES128_GCM_ENC(mgr, k, &ctx, buf, buf, len, iv, aad, 8, tag, 16);
    }
    marker = round;
  }
  free(k);
  free_mb_mgr(mgr);
  return tag[0] == 7;  // keeps the calls
}
