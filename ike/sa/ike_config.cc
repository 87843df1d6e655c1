#include "ike/sa/ike_config.h"

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "ike/crypto/random.h"
#include "ike/sa/ike_log.h"

namespace portcullis::ike {

const char* DpdActionName(DpdAction a) {
  switch (a) {
    case DpdAction::kHold:
      return "hold";
    case DpdAction::kClear:
      return "clear";
    case DpdAction::kRestart:
      return "restart";
  }
  return "?";
}

const char* CloseActionName(CloseAction a) {
  switch (a) {
    case CloseAction::kNone:
      return "none";
    case CloseAction::kClear:
      return "clear";
    case CloseAction::kHold:
      return "hold";
    case CloseAction::kRestart:
      return "restart";
  }
  return "?";
}

absl::Duration RekeyDelay(uint32_t lifetime, double fuzz_share) {
  double margin = lifetime >= 2160 ? 540.0 : lifetime / 4.0;
  uint8_t r[2] = {};
  (void)FillRandom(absl::MakeSpan(r));
  double fuzz = std::clamp(fuzz_share, 0.0, 1.0) * margin * ((r[0] << 8 | r[1]) / 65535.0);
  return absl::Seconds(lifetime - margin - fuzz);
}

absl::Duration Jitter(absl::Duration d) {
  uint8_t r[2] = {};
  (void)FillRandom(absl::MakeSpan(r));
  return d * (0.75 + 0.5 * ((r[0] << 8 | r[1]) / 65535.0));
}

IdPayload IdFromText(const std::string& text) {
  IdPayload id;
  if (auto a = Address::Parse(text)) {
    id.type = a->family == 4 ? IdType::kIpv4Addr : IdType::kIpv6Addr;
    auto s = a->span();
    id.data.assign(s.begin(), s.end());
    return id;
  }
  if (absl::StartsWith(text, "@#")) {
    std::string raw = absl::HexStringToBytes(text.substr(2));
    id.type = IdType::kKeyId;
    id.data.assign(raw.begin(), raw.end());
    return id;
  }
  std::string t = absl::StartsWith(text, "@") ? text.substr(1) : text;
  id.type = absl::StrContains(t, "@") ? IdType::kRfc822Addr : IdType::kFqdn;
  id.data.assign(t.begin(), t.end());
  return id;
}

std::string IdToText(const IdPayload& id) {
  switch (id.type) {
    case IdType::kIpv4Addr:
    case IdType::kIpv6Addr:
      if (auto a = Address::FromBytes(id.data)) return a->ToString();
      break;
    case IdType::kFqdn:
    case IdType::kRfc822Addr:
      // The peer chose these bytes before anything authenticated it.
      return EscapePeerBytes(
          absl::string_view(reinterpret_cast<const char*>(id.data.data()), id.data.size()));
    case IdType::kKeyId:
      return absl::StrCat("@#",
                          absl::BytesToHexString(absl::string_view(
                              reinterpret_cast<const char*>(id.data.data()), id.data.size())));
    default:
      break;
  }
  return absl::StrCat(IdTypeName(id.type), ":",
                      absl::BytesToHexString(absl::string_view(
                          reinterpret_cast<const char*>(id.data.data()), id.data.size())));
}

bool RemoteIdMatches(const IkeSaConfig& config, const IdPayload& peer_id) {
  return config.any_remote_id || peer_id == config.remote_id;
}

}  // namespace portcullis::ike
