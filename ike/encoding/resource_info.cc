#include "ike/encoding/resource_info.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace portcullis::ike {

namespace {

const NotifyPayload* Find(const std::vector<Payload>& in, NotifyType type) {
  for (const Payload& p : in) {
    if (p.type != PayloadType::kNotify) continue;
    const auto* n = p.As<NotifyPayload>();
    if (n != nullptr && n->type == type) return n;
  }
  return nullptr;
}

Payload Notify(NotifyType type, Bytes data) {
  return Payload{PayloadType::kNotify, NotifyPayload{ProtocolId::kNone, {}, type, std::move(data)}};
}

}  // namespace

Bytes WorkerResourceId(uint32_t worker) {
  std::string s = absl::StrCat(worker);
  return Bytes(s.begin(), s.end());
}

Payload SaResourceInfoNotify(const Bytes& resource_id) {
  return Notify(NotifyType::kSaResourceInfo, resource_id);
}

Payload TsMaxQueueNotify() {
  return Notify(NotifyType::kTsMaxQueue, {});
}

std::optional<Bytes> FindSaResourceInfo(const std::vector<Payload>& in) {
  const NotifyPayload* n = Find(in, NotifyType::kSaResourceInfo);
  if (n == nullptr) return std::nullopt;
  return n->data;
}

bool HasTsMaxQueue(const std::vector<Payload>& in) {
  return Find(in, NotifyType::kTsMaxQueue) != nullptr;
}

std::string ResourceIdForLog(const Bytes& id) {
  if (id.empty()) return "(none)";
  bool printable = id.size() <= 64;
  for (uint8_t b : id) printable = printable && b >= 0x20 && b < 0x7f && b != '\\';
  if (printable) return std::string(id.begin(), id.end());
  std::string hex = "0x";
  for (size_t i = 0; i < id.size() && i < 32; ++i) absl::StrAppendFormat(&hex, "%02x", id[i]);
  if (id.size() > 32) absl::StrAppend(&hex, "... (", id.size(), " bytes)");
  return hex;
}

}  // namespace portcullis::ike
