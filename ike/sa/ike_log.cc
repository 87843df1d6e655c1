#include "ike/sa/ike_log.h"

#include <cctype>
#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"

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
  // The time converted once a second, not per line (absl::FormatTime breaks the time down in
  // a time zone each call; a busy vpnd writes thousands of lines a second).
  thread_local bool cached = false;
  thread_local int64_t cached_second = 0;
  thread_local std::string cached_text;
  std::string out;
  if (r.time == absl::InfinitePast() || r.time == absl::InfiniteFuture()) {
    out = absl::FormatTime("%Y-%m-%d %H:%M:%S", r.time, absl::UTCTimeZone());
  } else {
    const int64_t second = absl::ToUnixSeconds(r.time);  // rounds towards the past
    if (!cached || second != cached_second) {
      cached = true;
      cached_second = second;
      cached_text =
          absl::FormatTime("%Y-%m-%d %H:%M:%S", absl::FromUnixSeconds(second), absl::UTCTimeZone());
    }
    out = cached_text;
  }
  absl::StrAppend(&out, " 01[", LogGroupName(r.group), "] ");
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
