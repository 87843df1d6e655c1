#include "control/vpnd/wireshark_keys.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "ike/crypto/crypto_suite.h"

namespace portcullis::vpnd {

namespace {

std::string Hex(absl::Span<const uint8_t> b) {
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(b.data()), b.size()));
}

// Wireshark 4.0's names (packet-ipsec.c, packet-isakmp.c value strings); "" = it cannot
// decrypt that algorithm, and the SA is left out rather than written wrong.
std::string EspEncryptionName(const ike::ChildSaCryptoSuite& s) {
  switch (s.encr) {
    case ike::EncrId::kAesGcm16:
      return "AES-GCM with 16 octet ICV [RFC4106]";
    case ike::EncrId::kAesGcm12:
      return "AES-GCM with 12 octet ICV [RFC4106]";
    case ike::EncrId::kAesGcm8:
      return "AES-GCM with 8 octet ICV [RFC4106]";
    case ike::EncrId::kAesCbc:
      return "AES-CBC [RFC3602]";
    case ike::EncrId::kAesCtr:
      return "AES-CTR [RFC3686]";
    case ike::EncrId::kNull:
      return "NULL";
    default:
      return "";
  }
}

std::string EspAuthName(ike::IntegId i) {
  switch (i) {
    case ike::IntegId::kNone:
      return "NULL";
    case ike::IntegId::kHmacSha1_96:
      return "HMAC-SHA-1-96 [RFC2404]";
    case ike::IntegId::kHmacSha2_256_128:
      return "HMAC-SHA-256-128 [RFC4868]";
    case ike::IntegId::kHmacSha2_384_192:
      return "HMAC-SHA-384-192 [RFC4868]";
    case ike::IntegId::kHmacSha2_512_256:
      return "HMAC-SHA-512-256 [RFC4868]";
    case ike::IntegId::kHmacMd5_96:
      return "HMAC-MD5-96 [RFC2403]";
    default:
      return "";
  }
}

std::string IkeEncryptionName(const ike::IkeSaCryptoSuite& s) {
  const int bits = s.encr_key_bits;
  switch (s.encr) {
    case ike::EncrId::kAesCbc:
      return absl::StrFormat("AES-CBC-%d [RFC3602]", bits);
    case ike::EncrId::kAesCtr:
      return absl::StrFormat("AES-CTR-%d [RFC5930]", bits);
    case ike::EncrId::kAesGcm16:
      return absl::StrFormat("AES-GCM-%d with 16 octet ICV [RFC5282]", bits);
    case ike::EncrId::kAesGcm12:
      return absl::StrFormat("AES-GCM-%d with 12 octet ICV [RFC5282]", bits);
    case ike::EncrId::kAesGcm8:
      return absl::StrFormat("AES-GCM-%d with 8 octet ICV [RFC5282]", bits);
    default:
      return "";
  }
}

std::string IkeIntegrityName(ike::IntegId i) {
  switch (i) {
    case ike::IntegId::kNone:
      return "NONE [RFC4306]";
    case ike::IntegId::kHmacSha1_96:
      return "HMAC_SHA1_96 [RFC2404]";
    case ike::IntegId::kHmacSha2_256_128:
      return "HMAC_SHA2_256_128 [RFC4868]";
    case ike::IntegId::kHmacSha2_384_192:
      return "HMAC_SHA2_384_192 [RFC4868]";
    case ike::IntegId::kHmacSha2_512_256:
      return "HMAC_SHA2_512_256 [RFC4868]";
    case ike::IntegId::kHmacMd5_96:
      return "HMAC_MD5_96 [RFC2403]";
    default:
      return "";
  }
}

std::string Quoted(std::initializer_list<std::string> fields) {
  std::string out;
  for (const std::string& f : fields) absl::StrAppend(&out, out.empty() ? "" : ",", "\"", f, "\"");
  return out;
}

std::string EspLine(const ike::Address& src, const ike::Address& dst, uint32_t spi,
                    const ike::ChildSaCryptoSuite& s, const ike::SecretBytes& encr,
                    const ike::SecretBytes& integ) {
  return Quoted({src.family == 4 ? "IPv4" : "IPv6", src.ToString(), dst.ToString(),
                 absl::StrFormat("0x%08x", spi), EspEncryptionName(s), "0x" + Hex(encr.span()),
                 EspAuthName(s.integ), integ.empty() ? "" : "0x" + Hex(integ.span())});
}

}  // namespace

absl::StatusOr<std::unique_ptr<WiresharkKeys>> WiresharkKeys::Open(const std::string& dir) {
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return absl::InvalidArgumentError(
        absl::StrCat("--wireshark-keys ", dir, ": ", std::strerror(errno)));
  }
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--wireshark-keys ", dir, ": ", std::strerror(errno),
                     errno == ELOOP || errno == ENOTDIR ? " (a directory, not a symlink)" : ""));
  }
  return std::unique_ptr<WiresharkKeys>(new WiresharkKeys(fd));
}

WiresharkKeys::~WiresharkKeys() {
  close(dirfd_);
}

std::string WiresharkKeys::IkeLine(const ike::IkeSa& sa) {
  std::string encr = IkeEncryptionName(sa.suite);
  std::string integ = IkeIntegrityName(sa.suite.integ);
  if (encr.empty() || integ.empty()) return "";
  // The SPIs and keys are UAT byte fields, written as bare hex; the algorithms are strings.
  return absl::StrCat(Hex(sa.spi_i()), ",", Hex(sa.spi_r()), ",", Hex(sa.keys.sk_ei.span()), ",",
                      Hex(sa.keys.sk_er.span()), ",", Quoted({encr}), ",",
                      Hex(sa.keys.sk_ai.span()), ",", Hex(sa.keys.sk_ar.span()), ",",
                      Quoted({integ}));
}

std::string WiresharkKeys::EspLines(const ike::ChildSa& c) {
  if (EspEncryptionName(c.suite).empty() || EspAuthName(c.suite.integ).empty()) return "";
  return absl::StrCat(
      EspLine(c.remote.address, c.local.address, c.spi_in, c.suite, c.encr_in, c.integ_in), "\n",
      EspLine(c.local.address, c.remote.address, c.spi_out, c.suite, c.encr_out, c.integ_out));
}

void WiresharkKeys::Keep(std::deque<std::string>& lines, std::string line) {
  if (line.empty()) return;
  for (absl::string_view piece : absl::StrSplit(line, '\n')) {
    std::string l(piece);
    // Resync after a dataplane restart announces every SA again.
    if (std::find(lines.begin(), lines.end(), l) == lines.end()) lines.push_back(std::move(l));
  }
  while (lines.size() > kMaxLines) lines.pop_front();
}

void WiresharkKeys::IkeUp(const ike::IkeSa& sa) {
  Keep(ike_lines_, IkeLine(sa));
  Replace("ikev2_decryption_table", ike_lines_);
}

void WiresharkKeys::ChildUp(const ike::IkeSa& sa, const ike::ChildSa& child) {
  // An IKE SA made by an IKE rekey reaches vpnd only through its children's events: make sure
  // its line is there too.
  std::string ike = IkeLine(sa);
  if (!ike.empty() && std::find(ike_lines_.begin(), ike_lines_.end(), ike) == ike_lines_.end()) {
    IkeUp(sa);
  }
  AddEsp(child);
}

void WiresharkKeys::AddEsp(const ike::ChildSa& child) {
  Keep(esp_lines_, EspLines(child));
  Replace("esp_sa", esp_lines_);
}

void WiresharkKeys::ChildUpdated(const ike::IkeSa& sa, const ike::ChildSa& child) {
  ChildUp(sa, child);
}

void WiresharkKeys::Replace(const char* name, const std::deque<std::string>& lines) {
  std::string text = "# Written by vpnd --wireshark-keys: every key of this appliance's SAs.\n";
  for (const std::string& l : lines) absl::StrAppend(&text, l, "\n");
  std::string tmp = absl::StrCat(".", name, ".tmp");
  unlinkat(dirfd_, tmp.c_str(), 0);
  int fd = openat(dirfd_, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return;
  size_t off = 0;
  while (off < text.size()) {
    ssize_t n = write(fd, text.data() + off, text.size() - off);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
  close(fd);
  // The key text is wiped from this buffer; the lines kept for the next rewrite are the only
  // copy left in vpnd besides the SAs themselves.
  std::fill(text.begin(), text.end(), '\0');
  if (off == text.size()) {
    renameat(dirfd_, tmp.c_str(), dirfd_, name);
  } else {
    unlinkat(dirfd_, tmp.c_str(), 0);
  }
}

}  // namespace portcullis::vpnd
