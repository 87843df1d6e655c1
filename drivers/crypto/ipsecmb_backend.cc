#include "drivers/crypto/ipsecmb_backend.h"

#include <openssl/rand.h>

#include <cstring>
#include <mutex>
#include <new>

#include "absl/strings/str_cat.h"

namespace portcullis::drivers::crypto {

namespace {

// Key expansion happens on the control path; one manager serves it for the whole process.
IMB_MGR* KeyMgr() {
  static IMB_MGR* mgr = [] {
    IMB_MGR* m = alloc_mb_mgr(0);
    if (m != nullptr) init_mb_mgr_auto(m, nullptr);
    return m;
  }();
  return mgr;
}
std::mutex key_mgr_mu;

struct HashInfo {
  IMB_HASH_ALG alg;
  int block;
};

HashInfo HashFor(Auth a) {
  switch (a) {
    case Auth::kHmacSha1_96:
      return {IMB_AUTH_HMAC_SHA_1, 64};
    case Auth::kHmacSha256_128:
      return {IMB_AUTH_HMAC_SHA_256, 64};
    case Auth::kHmacSha384_192:
      return {IMB_AUTH_HMAC_SHA_384, 128};
    case Auth::kHmacSha512_256:
      return {IMB_AUTH_HMAC_SHA_512, 128};
    case Auth::kNone:
      break;
  }
  return {IMB_AUTH_NULL, 0};
}

void OneBlock(IMB_MGR* m, Auth a, const uint8_t* block, uint8_t* state) {
  switch (a) {
    case Auth::kHmacSha1_96:
      IMB_SHA1_ONE_BLOCK(m, block, state);
      break;
    case Auth::kHmacSha256_128:
      IMB_SHA256_ONE_BLOCK(m, block, state);
      break;
    case Auth::kHmacSha384_192:
      IMB_SHA384_ONE_BLOCK(m, block, state);
      break;
    case Auth::kHmacSha512_256:
      IMB_SHA512_ONE_BLOCK(m, block, state);
      break;
    case Auth::kNone:
      break;
  }
}

}  // namespace

absl::Status IpsecMbBackend::InitKeys(void* storage, const KeySpec& spec) {
  std::lock_guard<std::mutex> lock(key_mgr_mu);
  IMB_MGR* m = KeyMgr();
  if (m == nullptr) return absl::InternalError("IPsec-MB: cannot allocate a manager");
  Keys* k = new (storage) Keys;
  std::memset(k, 0, sizeof *k);
  k->key_len = spec.enc_key_len;
  if (IsAead(spec.cipher)) {
    // At the offset every worker's backend reads it from (GcmOffset: the same auto-detected
    // architecture).
    auto* gcm = reinterpret_cast<gcm_key_data*>(k->gcm_storage +
                                                GcmOffset(static_cast<IMB_ARCH>(m->used_arch)));
    if (spec.cipher == Cipher::kAesGcm256) {
      IMB_AES256_GCM_PRE(m, spec.enc_key, gcm);
    } else {
      IMB_AES128_GCM_PRE(m, spec.enc_key, gcm);
    }
    k->tag_len = 16;
    return absl::OkStatus();
  }
  if (spec.cipher == Cipher::kAesCbc256) {
    IMB_AES_KEYEXP_256(m, spec.enc_key, k->cbc.enc, k->cbc.dec);
  } else if (spec.cipher == Cipher::kAesCbc128) {
    IMB_AES_KEYEXP_128(m, spec.enc_key, k->cbc.enc, k->cbc.dec);
  }
  if (IsCbc(spec.cipher)) {
    alignas(16) uint8_t iv_key[16];
    alignas(16) uint32_t unused_dec[60];
    if (RAND_bytes(iv_key, sizeof iv_key) != 1)
      return absl::InternalError("no randomness for the CBC IV key");
    IMB_AES_KEYEXP_128(m, iv_key, k->cbc.iv_key, unused_dec);
    explicit_bzero(iv_key, sizeof iv_key);
    explicit_bzero(unused_dec, sizeof unused_dec);
  }
  HashInfo h = HashFor(spec.auth);
  k->hash_alg = h.alg;
  k->tag_len = static_cast<uint8_t>(AuthTagLen(spec.auth));
  // HMAC: the states after hashing one block of key ^ ipad and key ^ opad (RFC 2104). Keys are
  // never longer than the block here (RFC 4868 sizes).
  alignas(16) uint8_t block[128];
  for (auto [pad, out] :
       {std::pair{uint8_t{0x36}, k->cbc.ipad}, std::pair{uint8_t{0x5c}, k->cbc.opad}}) {
    std::memset(block, pad, h.block);
    for (int i = 0; i < spec.auth_key_len; ++i) block[i] ^= spec.auth_key[i];
    OneBlock(m, spec.auth, block, out);
  }
  explicit_bzero(block, sizeof block);
  return absl::OkStatus();
}

void IpsecMbBackend::DestroyKeys(void* storage) {
  explicit_bzero(storage, sizeof(Keys));
}

IpsecMbBackend::IpsecMbBackend() {
  mgr_ = alloc_mb_mgr(0);
  if (mgr_ == nullptr) throw std::bad_alloc();
  IMB_ARCH arch = IMB_ARCH_NONE;
  init_mb_mgr_auto(mgr_, &arch);
  constexpr uint64_t kVaes = IMB_FEATURE_VAES | IMB_FEATURE_VPCLMULQDQ;
  hkeys_at_end_ = arch == IMB_ARCH_AVX512 && (mgr_->features & kVaes) == kVaes;
  gcm_offset_ = GcmOffset(arch);
  std::memset(&ctx_, 0, sizeof ctx_);
}

IpsecMbBackend::~IpsecMbBackend() {
  explicit_bzero(&ctx_, sizeof ctx_);
  free_mb_mgr(mgr_);
}

void IpsecMbBackend::HmacBurst(const Keys& k, Cipher cipher, bool encrypt, HmacJob* jobs,
                               uint16_t n) {
  auto complete = [](IMB_JOB* j) {
    auto* hj = static_cast<HmacJob*>(j->user_data);
    hj->ok = j->status == IMB_STATUS_COMPLETED;
  };
  const bool cbc = IsCbc(cipher);
  for (uint16_t i = 0; i < n; ++i) {
    HmacJob& hj = jobs[i];
    hj.ok = false;
    IMB_JOB* j = IMB_GET_NEXT_JOB(mgr_);
    // The buffer starts at the ESP header (hashed) and the cipher region follows it.
    uint8_t* base = const_cast<uint8_t*>(hj.hash_start);
    j->src = base;
    j->dst = hj.cipher_start;
    j->cipher_start_src_offset_in_bytes = static_cast<uint64_t>(hj.cipher_start - base);
    j->msg_len_to_cipher_in_bytes = cbc ? hj.cipher_len : 0;
    j->cipher_mode = cbc ? IMB_CIPHER_CBC : IMB_CIPHER_NULL;
    j->cipher_direction = encrypt ? IMB_DIR_ENCRYPT : IMB_DIR_DECRYPT;
    j->chain_order = encrypt ? IMB_ORDER_CIPHER_HASH : IMB_ORDER_HASH_CIPHER;
    j->enc_keys = k.cbc.enc;
    j->dec_keys = k.cbc.dec;
    j->key_len_in_bytes = cbc ? k.key_len : 0;
    j->iv = hj.iv;
    j->iv_len_in_bytes = cbc ? 16 : 0;
    j->hash_alg = k.hash_alg;
    j->hash_start_src_offset_in_bytes = 0;
    j->msg_len_to_hash_in_bytes = hj.hash_len;
    j->auth_tag_output = hj.tag_out;
    j->auth_tag_output_len_in_bytes = k.tag_len;
    j->u.HMAC._hashed_auth_key_xor_ipad = k.cbc.ipad;
    j->u.HMAC._hashed_auth_key_xor_opad = k.cbc.opad;
    j->user_data = &hj;
    j = IMB_SUBMIT_JOB(mgr_);
    while (j != nullptr) {
      complete(j);
      j = IMB_GET_COMPLETED_JOB(mgr_);
    }
  }
  while (IMB_JOB* j = IMB_FLUSH_JOB(mgr_)) complete(j);
}

}  // namespace portcullis::drivers::crypto
