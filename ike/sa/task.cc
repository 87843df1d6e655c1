#include "ike/sa/task.h"

namespace portcullis::ike {

const char* TaskKindName(TaskKind k) {
  switch (k) {
    case TaskKind::kIkeInit:
      return "IKE_SA_INIT";
    case TaskKind::kIkeAuth:
      return "IKE_AUTH";
    case TaskKind::kChildCreate:
      return "CHILD_CREATE";
    case TaskKind::kChildRekey:
      return "CHILD_REKEY";
    case TaskKind::kChildDelete:
      return "CHILD_DELETE";
    case TaskKind::kIkeDelete:
      return "IKE_DELETE";
    case TaskKind::kIkeRekey:
      return "IKE_REKEY";
    case TaskKind::kDpd:
      return "IKE_DPD";
    case TaskKind::kInformational:
      return "INFORMATIONAL";
  }
  return "?";
}

const NotifyPayload* FindNotify(const std::vector<Payload>& in, NotifyType type) {
  for (const Payload& p : in) {
    if (const auto* n = p.As<NotifyPayload>(); n != nullptr && n->type == type) return n;
  }
  return nullptr;
}

const NotifyPayload* FirstErrorNotify(const std::vector<Payload>& in) {
  for (const Payload& p : in) {
    if (const auto* n = p.As<NotifyPayload>(); n != nullptr && IsErrorNotify(n->type)) return n;
  }
  return nullptr;
}

Payload MakeNotify(NotifyType type, Bytes data, ProtocolId protocol, Bytes spi) {
  NotifyPayload n;
  n.type = type;
  n.data = std::move(data);
  n.protocol = protocol;
  n.spi = std::move(spi);
  return Payload{PayloadType::kNotify, n};
}

}  // namespace portcullis::ike
