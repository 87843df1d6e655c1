// ESP crypto through Intel IPsec-MB: AES-GCM with the direct per-packet functions (keys expanded
// once per SA, RFC 4106), AES-CBC/NULL + HMAC-SHA1/SHA2 through the job API in bursts.
// One backend object per worker thread: the job manager is not thread-safe.
#pragma once

#include <intel-ipsec-mb.h>

#include <cstdint>
#include <cstring>

#include "absl/status/status.h"
#include "drivers/crypto/algorithms.h"
#include "drivers/crypto/hmac_job.h"
#include "drivers/crypto/key_spec.h"
#include "drivers/crypto/tag_compare.h"

namespace portcullis::drivers::crypto {

class IpsecMbBackend {
 public:
  static constexpr uint8_t kId = 1;

  // Per-SA key material, laid out as IPsec-MB wants it, in storage the caller provides (the ESP
  // engine: inside its SA). AES-GCM's gcm_key_data lies gcm_offset bytes in (Gcm): 16 past the
  // line on IPsec-MB's SSE/AVX/AVX2 code, whose calls read the round keys from its start and
  // the GHASH powers H^b..H^1 ending 368 bytes in (GcmKeyLines), so that AES-128's 176 bytes of
  // round keys take lines 0-2 and a short packet's H^4..H^1 exactly line 5: four lines a
  // packet instead of five (docs/DESIGN.md, ESP). That code needs 16-byte alignment (what
  // IPsec-MB's SSE loads need); on AVX-512 the declared 64 is kept (offset 0), unverified here.
  static constexpr size_t kMaxGcmOffset = 16;
  struct alignas(64) Keys {
    union {
      alignas(64) uint8_t gcm_storage[kMaxGcmOffset + sizeof(gcm_key_data)];
      struct {
        alignas(16) uint32_t enc[60];
        alignas(16) uint32_t dec[60];
        alignas(16) uint32_t iv_key[60];  // AES-128: CBC IVs are E(iv_key, seq || spi)
        alignas(16) uint8_t ipad[64];     // HMAC state after the key ^ ipad block
        alignas(16) uint8_t opad[64];
      } cbc;
    };
    IMB_HASH_ALG hash_alg;
    uint8_t tag_len;
    uint8_t key_len;
  };
  // Where a Keys' gcm_key_data starts, for IPsec-MB code of this architecture.
  static size_t GcmOffset(IMB_ARCH arch) { return arch == IMB_ARCH_AVX512 ? 0 : kMaxGcmOffset; }
  const gcm_key_data* Gcm(const Keys& k) const {
    return reinterpret_cast<const gcm_key_data*>(k.gcm_storage + gcm_offset_);
  }
  size_t gcm_offset() const { return gcm_offset_; }

  static absl::Status InitKeys(void* storage, const KeySpec& spec);
  static void DestroyKeys(void* storage);

  IpsecMbBackend();
  ~IpsecMbBackend();
  IpsecMbBackend(const IpsecMbBackend&) = delete;
  IpsecMbBackend& operator=(const IpsecMbBackend&) = delete;

  // In place. iv = salt || explicit IV (12 bytes). tag: 16 bytes.
  void GcmEncrypt(const Keys& k, bool aes256, uint8_t* data, uint64_t len, const uint8_t* iv,
                  const uint8_t* aad, uint64_t aad_len, uint8_t* tag) {
    if (aes256) {
      IMB_AES256_GCM_ENC(mgr_, Gcm(k), &ctx_, data, data, len, iv, aad, aad_len, tag, 16);
    } else {
      IMB_AES128_GCM_ENC(mgr_, Gcm(k), &ctx_, data, data, len, iv, aad, aad_len, tag, 16);
    }
  }
  // The cache lines (64-byte aligned addresses inside the keys) an AES-GCM call over `len`
  // bytes of ciphertext reads: the round keys, and the lines of the GHASH powers H^1..H^b for
  // its b blocks (at most 8: longer packets are bound by the cipher, not the misses). Every
  // layout keeps H^1 last: the VAES (AVX-512) code's 48 powers end the table, the SSE/AVX/AVX2
  // code's 8 (H^8 first) end 128 bytes in. Found by tracing what IPsec-MB 1.3's calls read
  // under valgrind's lackey (test/bench/gcm_key_lines_probe.c): AVX2 reads H^b..H^1 for b =
  // ceil(len / 16) up to 8; SSE and AVX only H^1 up to 64 bytes, and from 128 bytes on the
  // Karatsuba halves after the powers too (not listed). Returns how many were written to
  // `lines`.
  static constexpr int kMaxGcmKeyLines = 4 + 3;
  int GcmKeyLines(const Keys& k, bool aes256, uint32_t len, const uint8_t** lines) const {
    const auto* p = reinterpret_cast<const uint8_t*>(Gcm(k));
    auto line = [](const uint8_t* a) {
      return reinterpret_cast<const uint8_t*>(reinterpret_cast<uintptr_t>(a) & ~uintptr_t{63});
    };
    int n = 0;
    const uint8_t* keys_end = p + (aes256 ? 15 : 11) * 16;
    const uint8_t* q = line(p);
    for (; q < keys_end; q += 64) lines[n++] = q;
    const uint32_t blocks = len > 7 * 16 ? 8 : len <= 16 ? 1 : (len + 15) / 16;
    const uint8_t* table = p + offsetof(gcm_key_data, ghash_keys);
    // One past H^1, and the first byte of H^blocks.
    const uint8_t* end = table + (hkeys_at_end_ ? 48 : 8) * 16;
    const uint8_t* first = end - blocks * 16;
    // H^b may share the last round keys' line (AES-256 on SSE/AVX/AVX2): that line once.
    for (const uint8_t* g = line(first) < q ? q : line(first); g < end; g += 64) lines[n++] = g;
    return n;
  }
  // Which layout GcmKeyLines assumes (for tests).
  bool hkeys_at_end() const { return hkeys_at_end_; }

  // In place; true when the computed tag equals `expected_tag` (compared in constant time).
  bool GcmDecrypt(const Keys& k, bool aes256, uint8_t* data, uint64_t len, const uint8_t* iv,
                  const uint8_t* aad, uint64_t aad_len, const uint8_t* expected_tag) {
    alignas(16) uint8_t tag[16];
    if (aes256) {
      IMB_AES256_GCM_DEC(mgr_, Gcm(k), &ctx_, data, data, len, iv, aad, aad_len, tag, 16);
    } else {
      IMB_AES128_GCM_DEC(mgr_, Gcm(k), &ctx_, data, data, len, iv, aad, aad_len, tag, 16);
    }
    return TagsEqual(tag, expected_tag, 16);
  }

  // Encrypt: cipher then HMAC. Decrypt: HMAC then decipher (the caller compares tags).
  void HmacBurst(const Keys& k, Cipher cipher, bool encrypt, HmacJob* jobs, uint16_t n);

  // An unpredictable CBC IV (RFC 3602 §3) from the SA's IV key and the sequence number.
  void CbcIv(const Keys& k, uint32_t spi, uint64_t seq, uint8_t* iv) {
    alignas(16) uint8_t in[16];
    std::memcpy(in, &seq, 8);
    std::memcpy(in + 8, &spi, 4);
    std::memset(in + 12, 0, 4);
    alignas(16) static constexpr uint8_t kZero[16] = {};
    IMB_AES128_CFB_ONE(mgr_, iv, kZero, in, k.cbc.iv_key, 16);
  }

 private:
  IMB_MGR* mgr_;
  gcm_context_data ctx_;
  // The VAES (AVX-512) GCM code's GHASH table: H^48 first, H^1 last.
  bool hkeys_at_end_ = false;
  size_t gcm_offset_ = kMaxGcmOffset;
};

}  // namespace portcullis::drivers::crypto
