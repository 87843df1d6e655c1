// Big-endian reading and writing over byte buffers for the codec. The reader never reads past
// its span: every read says whether the bytes were there, and callers turn "not there" into a
// syntax error that names the field.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/types/span.h"

namespace portcullis::ike::wire {

class Reader {
 public:
  explicit Reader(absl::Span<const uint8_t> data) : data_(data) {}

  size_t remaining() const { return data_.size() - pos_; }
  size_t position() const { return pos_; }
  bool empty() const { return remaining() == 0; }

  bool U8(uint8_t* v) {
    if (remaining() < 1) return false;
    *v = data_[pos_++];
    return true;
  }
  bool U16(uint16_t* v) {
    if (remaining() < 2) return false;
    *v = static_cast<uint16_t>(data_[pos_] << 8 | data_[pos_ + 1]);
    pos_ += 2;
    return true;
  }
  bool U32(uint32_t* v) {
    if (remaining() < 4) return false;
    *v = static_cast<uint32_t>(data_[pos_]) << 24 | static_cast<uint32_t>(data_[pos_ + 1]) << 16 |
         static_cast<uint32_t>(data_[pos_ + 2]) << 8 | data_[pos_ + 3];
    pos_ += 4;
    return true;
  }
  bool Take(size_t n, absl::Span<const uint8_t>* out) {
    if (remaining() < n) return false;
    *out = data_.subspan(pos_, n);
    pos_ += n;
    return true;
  }
  bool Copy(size_t n, std::vector<uint8_t>* out) {
    absl::Span<const uint8_t> s;
    if (!Take(n, &s)) return false;
    out->assign(s.begin(), s.end());
    return true;
  }
  bool Skip(size_t n) {
    if (remaining() < n) return false;
    pos_ += n;
    return true;
  }
  absl::Span<const uint8_t> Rest() const { return data_.subspan(pos_); }

 private:
  absl::Span<const uint8_t> data_;
  size_t pos_ = 0;
};

class Writer {
 public:
  explicit Writer(std::vector<uint8_t>* out) : out_(out) {}

  size_t size() const { return out_->size(); }
  void U8(uint8_t v) { out_->push_back(v); }
  void U16(uint16_t v) {
    out_->push_back(static_cast<uint8_t>(v >> 8));
    out_->push_back(static_cast<uint8_t>(v));
  }
  void U32(uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) out_->push_back(static_cast<uint8_t>(v >> shift));
  }
  void Bytes(absl::Span<const uint8_t> b) { out_->insert(out_->end(), b.begin(), b.end()); }
  void Zeros(size_t n) { out_->insert(out_->end(), n, 0); }
  // Writes a length field reserved earlier (by writing zeros at `at`).
  void PatchU16(size_t at, uint16_t v) {
    (*out_)[at] = static_cast<uint8_t>(v >> 8);
    (*out_)[at + 1] = static_cast<uint8_t>(v);
  }
  void PatchU32(size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) (*out_)[at + i] = static_cast<uint8_t>(v >> (24 - 8 * i));
  }

 private:
  std::vector<uint8_t>* out_;
};

}  // namespace portcullis::ike::wire
