#include "control/vpnd/log_filter.h"

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"

namespace portcullis::vpnd {

namespace {

struct Subsystem {
  absl::string_view word, tag;
};
constexpr Subsystem kSubsystems[] = {
    {"ike-sa", "IKE"}, {"child-sa", "CHD"}, {"config", "CFG"},  {"network", "NET"},
    {"kernel", "KNL"}, {"encoding", "ENC"}, {"manager", "MGR"},
};

// "2026-03-01 10:00:00 01[IKE] <conn|1> text": the tag, the connection ("" without one) and
// where the text starts.
struct Parsed {
  absl::string_view group, conn, text;
};

Parsed Parse(absl::string_view line) {
  Parsed p;
  size_t open = line.find('[');
  size_t close = open == absl::string_view::npos ? open : line.find(']', open);
  if (close == absl::string_view::npos) {
    p.text = line;
    return p;
  }
  p.group = line.substr(open + 1, close - open - 1);
  absl::string_view rest = line.substr(close + 1);
  if (absl::StartsWith(rest, " <")) {
    size_t end = rest.find("> ");
    if (end != absl::string_view::npos) {
      absl::string_view tag = rest.substr(2, end - 2);
      size_t cut = tag.find_first_of("|{");
      p.conn = tag.substr(0, cut);
      p.text = rest.substr(end + 2);
      return p;
    }
  }
  p.text = absl::StripPrefix(rest, " ");
  return p;
}

// `addr` appears in `text` as a whole address (not as the start of 192.0.2.20).
bool NamesAddress(absl::string_view text, absl::string_view addr) {
  if (addr.empty()) return false;
  for (size_t at = text.find(addr); at != absl::string_view::npos; at = text.find(addr, at + 1)) {
    auto hex = [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); };
    bool before = at > 0 && (hex(text[at - 1]) || text[at - 1] == '.' || text[at - 1] == ':');
    size_t end = at + addr.size();
    // A '.' or ':' after it continues the address only when a digit follows ("192.0.2.2.5"),
    // not when it ends a sentence or starts a message ("192.0.2.2: timeout").
    bool after =
        end < text.size() && (hex(text[end]) || ((text[end] == '.' || text[end] == ':') &&
                                                 end + 1 < text.size() && hex(text[end + 1])));
    if (!before && !after) return true;
  }
  return false;
}

}  // namespace

std::optional<std::string> SubsystemTag(absl::string_view subsystem) {
  for (const Subsystem& s : kSubsystems) {
    if (s.word == subsystem) return std::string(s.tag);
  }
  return std::nullopt;
}

bool LogLineMatches(absl::string_view line, const LogFilter& f) {
  Parsed p = Parse(line);
  if (!f.group.empty() && p.group != f.group) return false;
  if (f.conn.empty()) return true;
  if (!p.conn.empty()) {
    return p.conn == f.conn || absl::StartsWith(p.conn, f.conn + "-tunnel-");
  }
  for (const std::string& a : f.addresses) {
    if (NamesAddress(p.text, a)) return true;
  }
  return false;
}

std::string FilterLog(absl::string_view text, const LogFilter& f) {
  std::string out;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    if (!LogLineMatches(line, f)) continue;
    out.append(line.data(), line.size());
    out += '\n';
  }
  return out;
}

}  // namespace portcullis::vpnd
