#include "ike/sa/ike_log.h"

#include <cctype>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace portcullis::ike {

const char* LogGroupName(LogGroup g) {
  switch (g) {
    case LogGroup::kIke:
      return "IKE";
    case LogGroup::kChd:
      return "CHD";
    case LogGroup::kNet:
      return "NET";
    case LogGroup::kEnc:
      return "ENC";
    case LogGroup::kCfg:
      return "CFG";
    case LogGroup::kKnl:
      return "KNL";
    case LogGroup::kMgr:
      return "MGR";
  }
  return "LIB";
}

namespace {

bool IsSafe(unsigned char c) {
  return c >= 0x20 && c < 0x7f;
}

// Text we wrote ourselves is left as it is (a backslash in it is not doubled); only text that
// holds an unsafe byte is escaped, whole.
std::string OneLine(absl::string_view text) {
  for (unsigned char c : text) {
    if (!IsSafe(c)) return EscapePeerBytes(text);
  }
  return std::string(text);
}

}  // namespace

std::string EscapePeerBytes(absl::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (unsigned char c : bytes) {
    if (c == '\\') {
      out += "\\\\";
    } else if (IsSafe(c)) {
      out.push_back(static_cast<char>(c));
    } else {
      absl::StrAppendFormat(&out, "\\x%02x", c);
    }
  }
  return out;
}

std::string FormatLogLine(const LogRecord& r) {
  std::string out = absl::StrCat(absl::FormatTime("%Y-%m-%d %H:%M:%S", r.time, absl::UTCTimeZone()),
                                 " 01[", LogGroupName(r.group), "] ");
  if (!r.conn.empty()) {
    if (r.child) {
      absl::StrAppend(&out, "<", OneLine(r.conn), "{", r.unique_id, "}> ");
    } else {
      absl::StrAppend(&out, "<", OneLine(r.conn), "|", r.unique_id, "> ");
    }
  }
  absl::StrAppend(&out, OneLine(r.text));
  return out;
}

void WriteKeyDump(LogSink& sink, const LogRecord& header, absl::string_view label,
                  absl::Span<const uint8_t> bytes) {
  LogRecord r = header;
  r.text = absl::StrCat(label, " => ", bytes.size(), " bytes @ 0x0");
  sink.Write(r);
  for (size_t off = 0; off < bytes.size(); off += 16) {
    std::string hex, ascii;
    for (size_t i = off; i < off + 16; ++i) {
      if (i < bytes.size()) {
        absl::StrAppendFormat(&hex, "%02X ", bytes[i]);
        ascii.push_back(std::isprint(bytes[i]) ? static_cast<char>(bytes[i]) : '.');
      } else {
        hex += "   ";
      }
    }
    r.text = absl::StrFormat("%4d: %s %s", off, hex, ascii);
    sink.Write(r);
  }
}

}  // namespace portcullis::ike
