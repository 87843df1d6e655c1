// Wipes a buffer when the scope ends, whichever way the function returns. The chained-packet
// paths build plaintext (outbound) or decrypt (inbound, before the ICV is known to be good) in
// the engine's scratch buffer: no return path may leave it there for whatever reads that memory
// next (a core dump, a later bug).
#pragma once

#include <string.h>

#include <cstddef>

namespace portcullis::dp::esp {

class WipeOnExit {
 public:
  WipeOnExit(void* p, size_t n) : p_(p), n_(n) {}
  ~WipeOnExit() { explicit_bzero(p_, n_); }
  WipeOnExit(const WipeOnExit&) = delete;
  WipeOnExit& operator=(const WipeOnExit&) = delete;

 private:
  void* const p_;
  const size_t n_;
};

}  // namespace portcullis::dp::esp
