#include "control/config/line_lexer.h"

#include <string.h>

#include "absl/strings/str_cat.h"

namespace portcullis::config {

namespace {
bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}
// Scratch copies of a word may hold a pre-shared key: wiped, not just freed.
void Wipe(std::string& s) {
  explicit_bzero(s.data(), s.size());
}
}  // namespace

LexedLine LexLine(absl::string_view line) {
  LexedLine out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && IsSpace(line[i])) ++i;
    if (i >= line.size()) break;
    if (line[i] == '#') break;
    std::string word;
    bool quoted = false;
    while (i < line.size() && !IsSpace(line[i])) {
      char c = line[i];
      if (c == '\'' || c == '"') {
        size_t close = i + 1;
        std::string piece;
        while (close < line.size() && line[close] != c) {
          if (c == '"' && line[close] == '\\' && close + 1 < line.size()) ++close;
          piece += line[close];
          ++close;
        }
        // Errors name the quote's column, never what it holds: a quoted value may be a
        // pre-shared key.
        if (close >= line.size()) {
          out.error = absl::StrCat("unterminated quote ", std::string(1, c), " at column ", i + 1,
                                   ": close it (the quoted text is not shown)");
          Wipe(piece);
          Wipe(word);
          return out;
        }
        word += piece;
        Wipe(piece);
        const size_t opened = i;
        i = close + 1;
        quoted = true;
        // A blog or a PDF often loses the newline between commands: 'none'set vpn ...
        if (i < line.size() && !IsSpace(line[i]) && line[i] != '\'' && line[i] != '"') {
          absl::string_view rest = line.substr(i);
          absl::string_view next = rest.substr(0, rest.find_first_of(" \t"));
          // Only a command word is named: anything else glued to the value may be part of it.
          bool command = next == "set" || next == "delete";
          out.error = absl::StrCat("missing space after the quoted value at column ", opened + 1,
                                   command ? absl::StrCat(" (before '", next, "')") : "");
          if (command)
            absl::StrAppend(&out.error, ": a line break seems to be missing before '", next, "'");
          Wipe(word);
          return out;
        }
      } else {
        word += c;
        ++i;
      }
    }
    if (!word.empty() || quoted) out.words.push_back(std::move(word));
  }
  return out;
}

std::string QuoteValue(absl::string_view value) {
  if (value.find('\'') == absl::string_view::npos) return absl::StrCat("'", value, "'");
  std::string out = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

}  // namespace portcullis::config
