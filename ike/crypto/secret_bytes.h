// Key material: a heap buffer that is wiped with OPENSSL_cleanse() when it is destroyed,
// assigned over or moved from, and that cannot be copied by accident or printed. Nothing in
// this type can put key bytes into a log line or an error message; code that needs the bytes
// asks for span() explicitly.
#pragma once

#include <openssl/crypto.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <utility>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace portcullis::ike {

class SecretBytes {
 public:
  SecretBytes() = default;
  // `size` zero bytes, to be filled through data().
  explicit SecretBytes(size_t size) : data_(size ? new uint8_t[size]() : nullptr), size_(size) {}
  explicit SecretBytes(absl::Span<const uint8_t> bytes) : SecretBytes(bytes.size()) {
    if (size_ != 0) std::memcpy(data_.get(), bytes.data(), size_);
  }

  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  SecretBytes(SecretBytes&& other) noexcept { Steal(other); }
  SecretBytes& operator=(SecretBytes&& other) noexcept {
    if (this != &other) {
      Wipe();
      Steal(other);
    }
    return *this;
  }
  ~SecretBytes() { Wipe(); }

  // A deliberate copy, for the rare holder that must keep its own (e.g. SK_d across a rekey).
  SecretBytes Clone() const { return SecretBytes(span()); }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const uint8_t* data() const { return data_.get(); }
  uint8_t* data() { return data_.get(); }
  absl::Span<const uint8_t> span() const { return {data_.get(), size_}; }
  absl::Span<uint8_t> mutable_span() { return {data_.get(), size_}; }

  // Bytes [offset, offset + length) as a new secret; the caller checks the bounds.
  SecretBytes Sub(size_t offset, size_t length) const {
    return SecretBytes(span().subspan(offset, length));
  }

  // Constant time in the contents (the sizes are not secret).
  bool operator==(const SecretBytes& other) const {
    return size_ == other.size_ && (size_ == 0 || CRYPTO_memcmp(data(), other.data(), size_) == 0);
  }

 private:
  void Wipe() {
    if (data_ != nullptr) OPENSSL_cleanse(data_.get(), size_);
    data_.reset();
    size_ = 0;
  }
  // Takes other's buffer; other is left empty, so no second copy of the bytes exists.
  void Steal(SecretBytes& other) {
    data_ = std::move(other.data_);
    size_ = std::exchange(other.size_, 0);
  }

  std::unique_ptr<uint8_t[]> data_;
  size_t size_ = 0;
};

// A secret that configuration objects carry and copy around (a peer's pre-shared key): every copy
// refers to the same SecretBytes buffer, so copying a config never duplicates the bytes, and the
// buffer is wiped when the last holder goes. Equality compares the contents (in constant time),
// so two configs built from the same text are equal.
class SharedSecret {
 public:
  SharedSecret() = default;
  explicit SharedSecret(absl::string_view text)
      : SharedSecret(
            absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(text.data()), text.size())) {}
  explicit SharedSecret(absl::Span<const uint8_t> bytes)
      : state_(std::make_shared<const State>(bytes)) {}

  // Empty when nothing was set.
  const SecretBytes& bytes() const {
    static const SecretBytes kEmpty;
    return state_ ? state_->bytes : kEmpty;
  }

  // A value derived from the secret alone, made by `make` the first time `slot` is asked for
  // and kept beside the secret (shared by its copies, wiped with it); a copy is returned. PSK
  // AUTH's padded key prf(PSK, "Key Pad for IKEv2") per PRF (psk_auth.cc), which is the same for
  // every IKE SA of the peer. A failure is returned and not kept. Safe from several threads.
  static constexpr size_t kDerivedSlots = 8;
  absl::StatusOr<SecretBytes> Derived(size_t slot,
                                      absl::FunctionRef<absl::StatusOr<SecretBytes>()> make) const {
    if (!state_ || slot >= kDerivedSlots) return make();
    std::lock_guard<std::mutex> lock(state_->mu);
    SecretBytes& kept = state_->derived[slot];
    if (kept.empty()) {
      absl::StatusOr<SecretBytes> made = make();
      if (!made.ok() || made->empty()) return made;
      kept = std::move(*made);
    }
    return kept.Clone();
  }
  size_t size() const { return bytes().size(); }
  bool empty() const { return bytes().empty(); }

  bool operator==(const SharedSecret& other) const { return bytes() == other.bytes(); }

 private:
  struct State {
    explicit State(absl::Span<const uint8_t> b) : bytes(b) {}
    SecretBytes bytes;
    mutable std::mutex mu;
    mutable std::array<SecretBytes, kDerivedSlots> derived;
  };
  std::shared_ptr<const State> state_;
};

}  // namespace portcullis::ike
