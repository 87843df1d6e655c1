// IPsec-MB's burst API with a key per job against the direct per-packet GCM call (docs/DESIGN.md,
// ESP: many tunnels in one burst). Not built by default; a probe, not a test:
//   gcc -O2 -o /tmp/imb_burst_probe test/bench/imb_burst_probe.c -lIPSec_MB
//   /tmp/imb_burst_probe MODE ITERATIONS [KEYS]   MODE 0: IMB_AES128_GCM_ENC per packet,
//     1: IMB_SUBMIT_BURST, 2: IMB_SUBMIT_BURST_NOCHECK; 32 packets of 64 bytes per iteration,
//     each with the next of KEYS (10,000) keys in turn. Prints TSC cycles per packet; for
//     instructions run it under `valgrind --tool=callgrind` with ITERATIONS 0 and N and divide
//     the difference by 32 N. Every mode computes the same tags for equal ITERATIONS (the
//     buffers are encrypted in place again each iteration; the first tag is printed).
#include <intel-ipsec-mb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <x86intrin.h>
#define NKEYS 10000
#define BURST 32
#define LEN 64
static struct gcm_key_data* keys;
static uint8_t bufs[BURST][LEN + 64] __attribute__((aligned(64)));
static uint8_t tags[BURST][16];
int main(int argc, char** argv) {
  int mode = atoi(argv[1]);  // 0 direct, 1 burst, 2 burst nocheck
  long iters = atol(argv[2]);
  int nkeys = argc > 3 ? atoi(argv[3]) : NKEYS;
  IMB_MGR* mgr = alloc_mb_mgr(0);
  init_mb_mgr_auto(mgr, NULL);
  fprintf(stderr, "arch %u\n", mgr->used_arch);
  keys = aligned_alloc(64, sizeof(*keys) * nkeys);
  uint8_t k[16] = {1};
  for (int i = 0; i < nkeys; ++i) {
    k[1] = i;
    k[2] = i >> 8;
    IMB_AES128_GCM_PRE(mgr, k, &keys[i]);
  }
  uint8_t iv[12] = {0}, aad[8] = {0};
  struct gcm_context_data ctx;
  unsigned kk = 0;
  uint64_t t0 = __rdtsc();
  for (long it = 0; it < iters; ++it) {
    if (mode == 0) {
      for (int b = 0; b < BURST; ++b) {
        IMB_AES128_GCM_ENC(mgr, &keys[kk], &ctx, bufs[b], bufs[b], LEN, iv, aad, 8, tags[b], 16);
        if (++kk == (unsigned)nkeys) kk = 0;
      }
    } else {
      IMB_JOB* jobs[BURST];
      uint32_t n = IMB_GET_NEXT_BURST(mgr, BURST, jobs);
      if (n != BURST) {
        fprintf(stderr, "next burst %u\n", n);
        IMB_FLUSH_BURST(mgr, BURST, jobs);
        continue;
      }
      for (int b = 0; b < BURST; ++b) {
        IMB_JOB* j = jobs[b];
        j->cipher_mode = IMB_CIPHER_GCM;
        j->hash_alg = IMB_AUTH_AES_GMAC;
        j->cipher_direction = IMB_DIR_ENCRYPT;
        j->chain_order = IMB_ORDER_CIPHER_HASH;
        j->enc_keys = &keys[kk];
        j->dec_keys = &keys[kk];
        j->key_len_in_bytes = 16;
        j->src = bufs[b];
        j->dst = bufs[b];
        j->cipher_start_src_offset_in_bytes = 0;
        j->msg_len_to_cipher_in_bytes = LEN;
        j->hash_start_src_offset_in_bytes = 0;
        j->msg_len_to_hash_in_bytes = LEN;
        j->iv = iv;
        j->iv_len_in_bytes = 12;
        j->u.GCM.aad = aad;
        j->u.GCM.aad_len_in_bytes = 8;
        j->auth_tag_output = tags[b];
        j->auth_tag_output_len_in_bytes = 16;
        if (++kk == (unsigned)nkeys) kk = 0;
      }
      uint32_t done = mode == 1 ? IMB_SUBMIT_BURST(mgr, BURST, jobs)
                                : IMB_SUBMIT_BURST_NOCHECK(mgr, BURST, jobs);
      if (done != BURST) {
        fprintf(stderr, "done %u err %d\n", done, imb_get_errno(mgr));
        done = IMB_FLUSH_BURST(mgr, BURST, jobs);
      }
      for (uint32_t d = 0; d < done; ++d)
        if (jobs[d]->status != IMB_STATUS_COMPLETED) {
          fprintf(stderr, "status %d\n", jobs[d]->status);
          return 1;
        }
    }
  }
  uint64_t t1 = __rdtsc();
  printf("mode %d keys %d: %.1f cycles/packet (tsc) tag0 %02x\n", mode, nkeys,
         (double)(t1 - t0) / (iters * BURST), tags[0][0]);
  return 0;
}
