#include "control/config/ip_prefix.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <charconv>

namespace portcullis::config {

std::optional<IpAddress> IpAddress::Parse(absl::string_view text) {
  if (text.empty() || text.size() > INET6_ADDRSTRLEN) return std::nullopt;
  std::string s(text);
  IpAddress a;
  if (s.find(':') == std::string::npos) {
    if (inet_pton(AF_INET, s.c_str(), a.bytes.data()) != 1) return std::nullopt;
    a.family = AF_INET;
  } else {
    if (inet_pton(AF_INET6, s.c_str(), a.bytes.data()) != 1) return std::nullopt;
    a.family = AF_INET6;
  }
  return a;
}

std::string IpAddress::ToString() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (family == 0) return "";
  inet_ntop(family, bytes.data(), buf, sizeof buf);
  return buf;
}

bool IpAddress::is_v4() const {
  return family == AF_INET;
}
bool IpAddress::is_unspecified() const {
  const size_t n = is_v4() ? 4 : 16;
  for (size_t i = 0; i < n; ++i)
    if (bytes[i] != 0) return false;
  return true;
}

bool IpAddress::is_v6() const {
  return family == AF_INET6;
}

std::optional<IpPrefix> IpPrefix::Parse(absl::string_view text) {
  size_t slash = text.find('/');
  if (slash == absl::string_view::npos) return std::nullopt;
  auto addr = IpAddress::Parse(text.substr(0, slash));
  if (!addr) return std::nullopt;
  absl::string_view len_text = text.substr(slash + 1);
  int len = -1;
  auto [ptr, ec] = std::from_chars(len_text.data(), len_text.data() + len_text.size(), len);
  if (ec != std::errc() || ptr != len_text.data() + len_text.size() || len_text.empty())
    return std::nullopt;
  int max = addr->is_v4() ? 32 : 128;
  if (len < 0 || len > max) return std::nullopt;
  return IpPrefix{*addr, len};
}

static int Width(const IpAddress& a) {
  return a.is_v4() ? 4 : 16;
}

IpPrefix IpPrefix::Network() const {
  IpPrefix p = *this;
  int w = Width(address);
  for (int i = 0; i < w; ++i) {
    int bit = i * 8;
    if (bit >= length) {
      p.address.bytes[i] = 0;
    } else if (bit + 8 > length) {
      p.address.bytes[i] &= static_cast<uint8_t>(0xff << (8 - (length - bit)));
    }
  }
  return p;
}

bool IpPrefix::HasHostBits() const {
  return !(Network().address == address);
}

bool IpPrefix::Contains(const IpAddress& a) const {
  if (a.family != address.family) return false;
  IpPrefix probe{a, length};
  return probe.Network().address == Network().address;
}

bool IpPrefix::Overlaps(const IpPrefix& other) const {
  if (other.address.family != address.family) return false;
  return length <= other.length ? Contains(other.address) : other.Contains(address);
}

std::string IpPrefix::ToString() const {
  return address.ToString() + "/" + std::to_string(length);
}

}  // namespace portcullis::config
