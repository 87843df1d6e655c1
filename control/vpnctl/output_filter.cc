#include "control/vpnctl/output_filter.h"

#include <regex>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace portcullis::vpnctl {

namespace {

// The words with every '|' a token of its own, and words holding one split at blanks.
std::vector<std::string> Tokens(const std::vector<std::string>& words) {
  std::vector<std::string> out;
  for (const std::string& w : words) {
    if (w.find('|') == std::string::npos) {
      out.push_back(w);
      continue;
    }
    std::string cur;
    auto flush = [&] {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    };
    for (char c : w) {
      if (c == '|') {
        flush();
        out.push_back("|");
      } else if (c == ' ' || c == '\t') {
        flush();
      } else {
        cur += c;
      }
    }
    flush();
  }
  return out;
}

bool Matches(const std::regex& re, absl::string_view line) {
  return std::regex_search(line.begin(), line.end(), re);
}

}  // namespace

bool Pipeline::json() const {
  for (const OutputFilter& f : filters) {
    if (f.kind == OutputFilter::Kind::kJson) return true;
  }
  return false;
}

absl::StatusOr<Pipeline> ParsePipeline(const std::vector<std::string>& words) {
  Pipeline p;
  std::vector<std::string> t = Tokens(words);
  size_t i = 0;
  for (; i < t.size() && t[i] != "|"; ++i) p.command.push_back(t[i]);
  if (i == t.size()) {
    p.command = words;  // no pipe: the words as given (a quoted value keeps its blanks)
    return p;
  }
  while (i < t.size()) {
    ++i;  // the pipe
    std::vector<std::string> stage;
    for (; i < t.size() && t[i] != "|"; ++i) stage.push_back(t[i]);
    if (stage.empty()) return absl::InvalidArgumentError("'|' needs a filter after it");
    OutputFilter f;
    const std::string& name = stage[0];
    std::vector<std::string> rest(stage.begin() + 1, stage.end());
    if (name == "match" || name == "no-match") {
      f.kind = name == "match" ? OutputFilter::Kind::kMatch : OutputFilter::Kind::kNoMatch;
      if (rest.empty()) {
        return absl::InvalidArgumentError(absl::StrCat("'| ", name, "' needs an expression"));
      }
      f.pattern = absl::StrJoin(rest, " ");
      try {
        std::regex check(f.pattern, std::regex::extended);
      } catch (const std::regex_error& e) {
        return absl::InvalidArgumentError(
            absl::StrCat("'| ", name, " ", f.pattern, "': not a regular expression"));
      }
    } else if (name == "count" || name == "json") {
      if (!rest.empty()) {
        return absl::InvalidArgumentError(absl::StrCat("'| ", name, "' takes no argument"));
      }
      f.kind = name == "count" ? OutputFilter::Kind::kCount : OutputFilter::Kind::kJson;
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown filter '", name, "' after '|' (match RE, no-match RE, count or json)"));
    }
    p.filters.push_back(std::move(f));
  }
  return p;
}

std::string ApplyFilters(const std::vector<OutputFilter>& filters, absl::string_view text) {
  std::string cur(text);
  for (const OutputFilter& f : filters) {
    std::vector<absl::string_view> lines = absl::StrSplit(cur, '\n');
    if (!lines.empty() && lines.back().empty()) lines.pop_back();
    std::string next;
    switch (f.kind) {
      case OutputFilter::Kind::kMatch:
      case OutputFilter::Kind::kNoMatch: {
        std::regex re(f.pattern, std::regex::extended);
        bool keep = f.kind == OutputFilter::Kind::kMatch;
        for (absl::string_view l : lines) {
          if (Matches(re, l) == keep) absl::StrAppend(&next, l, "\n");
        }
        break;
      }
      case OutputFilter::Kind::kCount:
        next = absl::StrCat("Count: ", lines.size(), " lines\n");
        break;
      case OutputFilter::Kind::kJson:
        next = cur;
        break;
    }
    cur = std::move(next);
  }
  return cur;
}

std::string EscapeForTerminal(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    // C1 controls in UTF-8 (U+0080..U+009F) are 0xC2 0x80..0x9F.
    if (c == 0xc2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
        static_cast<unsigned char>(text[i + 1]) <= 0x9f) {
      absl::StrAppendFormat(&out, "\\xc2\\x%02x", static_cast<unsigned char>(text[i + 1]));
      ++i;
    } else if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f) {
      absl::StrAppendFormat(&out, "\\x%02x", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

}  // namespace portcullis::vpnctl
