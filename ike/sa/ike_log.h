// The IPsec log as operators know it from charon: one timestamped line per event, tagged with the
// subsystem and the connection, e.g.
//   2026-03-01 10:00:00 01[IKE] <peer-192.0.2.2|1> IKE_SA peer-192.0.2.2[1] established ...
// `show log vpn ipsec` prints these lines. Key material is never part of a LogRecord; only the
// explicit debug key log (KeyLog) writes keys, in charon's level-4 layout so that tools that
// read charon logs (tshark decryption tables, esp_decrypt.py) read ours too.
#pragma once

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

namespace portcullis::ike {

enum class LogGroup { kIke, kChd, kNet, kEnc, kCfg, kKnl, kMgr };

struct LogRecord {
  absl::Time time;
  LogGroup group = LogGroup::kIke;
  std::string conn;        // "peer-192.0.2.2" or "peer-192.0.2.2-tunnel-1"; "" = none
  uint32_t unique_id = 0;  // IKE SA number in <conn|N>, CHILD SA number in {N}
  bool child = false;
  std::string text;
};

const char* LogGroupName(LogGroup g);

// Bytes a peer chose (an FQDN or RFC822 identity, anything decoded off the wire) made safe for a
// log line or a terminal: printable ASCII stays, a backslash becomes "\\", every other byte
// (control characters, ESC, NUL, DEL, bytes >= 0x80) becomes "\xNN". Nothing a peer sends can
// then end a log line, forge the next one, or drive the operator's terminal.
std::string EscapePeerBytes(absl::string_view bytes);

// "2026-03-01 10:00:00 01[IKE] <peer-x|1> text" (UTC). Always one line: a connection name or text
// that still holds a control or non-ASCII byte (a path that did not escape what a peer sent) is
// passed through EscapePeerBytes here.
std::string FormatLogLine(const LogRecord& r);

class LogSink {
 public:
  virtual ~LogSink() = default;
  virtual void Write(const LogRecord& r) = 0;
};

// Charon's level-4 key dump: "<label> => N bytes @ 0x0" followed by hex lines
// "   0: 77 8C FF ...  ....", each line a LogRecord of its own.
void WriteKeyDump(LogSink& sink, const LogRecord& header, absl::string_view label,
                  absl::Span<const uint8_t> bytes);

}  // namespace portcullis::ike
