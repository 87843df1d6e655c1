// Ephemeral Diffie-Hellman key pairs made ahead of time on worker threads, so that the IKE
// event loop takes a ready pair instead of spending a key generation (a MODP-2048
// exponentiation, a Curve25519 scalar multiplication) on the message it is answering. The pool
// only computes: the loop owns every IKE SA and takes pairs here as it takes random bytes.
// GenerateDhKeyPair (dh_group.h) takes from the pool when it runs and makes a pair itself when
// the pool has none of that group ready (it is then asked to keep that group stocked); without
// Start (tests, tools) nothing changes. Each pair is handed out once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "ike/crypto/dh_group.h"

namespace portcullis::ike {

class DhKeyPool {
 public:
  // `threads` workers keep up to `depth` pairs ready for every group asked for so far.
  static void Start(int threads, size_t depth);
  // Joins the workers and frees the pairs they made (tests; vpnd exits without).
  static void Stop();
  // A ready pair of `group`, or nullptr if none (or the pool is not running).
  static std::unique_ptr<DhKeyPair> Take(DhGroup group);

  struct Stats {
    uint64_t taken = 0;   // handed out ready
    uint64_t missed = 0;  // asked for while none was ready: made on the caller's thread
    uint64_t made = 0;    // by the workers
  };
  static Stats GetStats();
};

// The key generation itself, on the calling thread (what the workers run).
absl::StatusOr<std::unique_ptr<DhKeyPair>> GenerateDhKeyPairNow(DhGroup group);

}  // namespace portcullis::ike
