#include "control/ops/op_parser.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace portcullis::ops {

namespace {

struct SlotSpec {
  absl::string_view text;
  Slot slot;
};
constexpr SlotSpec kSlots[] = {
    {"<peer>", Slot::kPeer}, {"<N|vti>", Slot::kTunnel}, {"<file>", Slot::kFile},
    {"<name>", Slot::kName}, {"<rule>", Slot::kRule},
};

// A syntax string as a tree: keywords, slots and optional groups of alternatives.
struct Element;
using Sequence = std::vector<Element>;
struct Element {
  enum class Kind { kKeyword, kSlot, kGroup };
  Kind kind = Kind::kKeyword;
  absl::string_view text;  // the keyword, or the slot as written
  Slot slot = Slot::kNone;
  std::vector<Sequence> alternatives;
};

// "[", "]", "|", "<slot>" and words.
std::vector<absl::string_view> Tokens(absl::string_view s) {
  std::vector<absl::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    char c = s[i];
    if (c == ' ') {
      ++i;
    } else if (c == '[' || c == ']' || c == '|') {
      out.push_back(s.substr(i, 1));
      ++i;
    } else if (c == '<') {
      size_t end = s.find('>', i);
      size_t n = end == absl::string_view::npos ? s.size() - i : end + 1 - i;
      out.push_back(s.substr(i, n));
      i += n;
    } else {
      size_t end = s.find_first_of(" []|<", i);
      if (end == absl::string_view::npos) end = s.size();
      out.push_back(s.substr(i, end - i));
      i = end;
    }
  }
  return out;
}

class SyntaxParser {
 public:
  explicit SyntaxParser(absl::string_view syntax) : syntax_(syntax), tokens_(Tokens(syntax)) {}

  absl::StatusOr<Sequence> Parse() {
    absl::StatusOr<Sequence> seq = ParseSequence();
    if (!seq.ok()) return seq;
    if (pos_ < tokens_.size()) return Error(absl::StrCat("unexpected '", tokens_[pos_], "'"));
    if (seq->empty() || seq->front().kind != Element::Kind::kKeyword) {
      return Error("a command starts with a keyword");
    }
    return seq;
  }

 private:
  absl::StatusOr<Sequence> ParseSequence() {
    Sequence seq;
    while (pos_ < tokens_.size() && tokens_[pos_] != "]" && tokens_[pos_] != "|") {
      absl::string_view t = tokens_[pos_++];
      Element e;
      e.text = t;
      if (t == "[") {
        e.kind = Element::Kind::kGroup;
        while (true) {
          absl::StatusOr<Sequence> alt = ParseSequence();
          if (!alt.ok()) return alt;
          if (alt->empty()) return Error("an empty alternative");
          e.alternatives.push_back(*std::move(alt));
          if (pos_ >= tokens_.size()) return Error("'[' without ']'");
          if (tokens_[pos_++] == "]") break;
        }
      } else if (t.front() == '<') {
        auto spec = std::find_if(std::begin(kSlots), std::end(kSlots),
                                 [&](const SlotSpec& s) { return s.text == t; });
        if (spec == std::end(kSlots)) return Error(absl::StrCat("unknown slot ", t));
        e.kind = Element::Kind::kSlot;
        e.slot = spec->slot;
      }
      seq.push_back(std::move(e));
    }
    return seq;
  }

  absl::Status Error(absl::string_view what) const {
    return absl::InternalError(absl::StrCat("op command syntax '", syntax_, "': ", what));
  }

  absl::string_view syntax_;
  std::vector<absl::string_view> tokens_;
  size_t pos_ = 0;
};

struct Compiled {
  const OpCommand* command;
  Sequence syntax;
  std::vector<absl::string_view> prefix;  // the leading keywords, which select the command
};

// The table, compiled once; an error if an entry's syntax is malformed (a unit test keeps the
// table well-formed, so vpnctl and vpnd never see one).
const absl::StatusOr<std::vector<Compiled>>& Table() {
  static const auto* table = [] {
    auto* out = new absl::StatusOr<std::vector<Compiled>>(std::vector<Compiled>());
    for (const OpCommand& c : kOpCommands) {
      absl::StatusOr<Sequence> seq = SyntaxParser(c.syntax).Parse();
      if (!seq.ok()) {
        *out = seq.status();
        break;
      }
      Compiled compiled{&c, *std::move(seq), {}};
      for (const Element& e : compiled.syntax) {
        if (e.kind != Element::Kind::kKeyword) break;
        compiled.prefix.push_back(e.text);
      }
      (*out)->push_back(std::move(compiled));
    }
    return out;
  }();
  return *table;
}

// Matches the words of one command against its syntax, filling the request.
class Matcher {
 public:
  Matcher(const Compiled& c, const std::vector<std::string>& words, OpRequest& out)
      : command_(c), words_(words), out_(out) {}

  absl::Status Match() {
    if (absl::Status st = MatchSequence(command_.syntax); !st.ok()) return st;
    if (pos_ < words_.size()) return Error(absl::StrCat("unexpected '", words_[pos_], "'"));
    return absl::OkStatus();
  }

 private:
  absl::Status MatchSequence(const Sequence& seq) {
    for (const Element& e : seq) {
      if (e.kind == Element::Kind::kGroup) {
        if (pos_ == words_.size()) continue;
        for (const Sequence& alt : e.alternatives) {
          if (!Accepts(alt.front(), words_[pos_])) continue;
          if (absl::Status st = MatchSequence(alt); !st.ok()) return st;
          break;
        }
        continue;  // given, or absent when no alternative starts with the word
      }
      if (pos_ == words_.size()) {
        std::string what =
            e.kind == Element::Kind::kSlot ? std::string(e.text) : absl::StrCat("'", e.text, "'");
        return Error(absl::StrCat("missing ", what,
                                  pos_ > 0 ? absl::StrCat(" after '", words_[pos_ - 1], "'") : ""));
      }
      const std::string& w = words_[pos_];
      if (e.kind == Element::Kind::kKeyword) {
        if (w != e.text) return Error(absl::StrCat("unexpected '", w, "'"));
        // The Vyatta keyword `vti` names the VTI's tunnel, as `tunnel vti` does.
        if (w == "vti") out_.args.vti = true;
        out_.args.keywords.push_back(w);
      } else if (absl::Status st = Fill(e.slot, w); !st.ok()) {
        return st;
      }
      out_.words.push_back({w, e.kind == Element::Kind::kSlot ? e.slot : Slot::kNone});
      ++pos_;
    }
    return absl::OkStatus();
  }

  static bool Accepts(const Element& e, const std::string& word) {
    return e.kind != Element::Kind::kKeyword || e.text == word;
  }

  absl::Status Fill(Slot slot, const std::string& w) {
    OpArgs& a = out_.args;
    switch (slot) {
      case Slot::kPeer:
        a.peer = w;
        break;
      case Slot::kTunnel:
        if (w == "vti") {
          a.vti = true;
        } else if (uint32_t n = 0; absl::SimpleAtoi(w, &n)) {
          a.tunnel = n;
        } else {
          return Error(absl::StrCat("tunnel needs a number or vti, not '", w, "'"));
        }
        break;
      case Slot::kFile:
        a.file = w;
        break;
      case Slot::kName:
        a.name = w;
        break;
      case Slot::kRule:
        if (uint32_t n = 0; absl::SimpleAtoi(w, &n) && n >= 1 && n <= 10000) {
          a.rule = n;
        } else {
          return Error(absl::StrCat("rule needs a number 1..10000, not '", w, "'"));
        }
        break;
      case Slot::kNone:
        break;
    }
    return absl::OkStatus();
  }

  absl::Status Error(absl::string_view what) const {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " (expected: ", command_.command->syntax, ")"));
  }

  const Compiled& command_;
  const std::vector<std::string>& words_;
  OpRequest& out_;
  size_t pos_ = 0;
};

// How many of the leading keywords of `c` the words give.
size_t PrefixMatched(const Compiled& c, const std::vector<std::string>& words) {
  size_t n = 0;
  while (n < c.prefix.size() && n < words.size() && words[n] == c.prefix[n]) ++n;
  return n;
}

}  // namespace

absl::StatusOr<OpRequest> ParseOpCommand(const std::vector<std::string>& words_in) {
  const absl::StatusOr<std::vector<Compiled>>& table = Table();
  if (!table.ok()) return table.status();
  OpRequest out;
  std::vector<std::string> words;
  for (const std::string& w : words_in) {
    if (w == "json" || w == "--json") {
      out.args.json = true;
    } else {
      words.push_back(w);
    }
  }
  // The command whose leading keywords the words give, the longest if several do ("show vpn
  // ipsec sa detail" over "show vpn ipsec sa").
  const Compiled* best = nullptr;
  size_t deepest = 0;
  for (const Compiled& c : *table) {
    size_t n = PrefixMatched(c, words);
    deepest = std::max(deepest, n);
    if (n == c.prefix.size() && (best == nullptr || n > best->prefix.size())) best = &c;
  }
  if (best == nullptr) {
    std::string text = absl::StrCat("'", absl::StrJoin(words_in, " "), "'");
    if (deepest == 0) return absl::NotFoundError(absl::StrCat("unknown command ", text));
    std::vector<absl::string_view> next;
    for (const Compiled& c : *table) {
      if (PrefixMatched(c, words) == deepest && c.prefix.size() > deepest &&
          std::find(next.begin(), next.end(), c.prefix[deepest]) == next.end()) {
        next.push_back(c.prefix[deepest]);
      }
    }
    std::sort(next.begin(), next.end());
    std::string choices = absl::StrJoin(next, ", ");
    if (size_t comma = choices.rfind(", "); comma != std::string::npos) {
      choices.replace(comma, 2, " or ");
    }
    return absl::NotFoundError(absl::StrCat(
        words.size() == deepest ? "incomplete command " : "unknown command ", text, " (after '",
        absl::StrJoin(words.begin(), words.begin() + deepest, " "), "': ", choices, ")"));
  }
  out.id = best->command->id;
  if (absl::Status st = Matcher(*best, words, out).Match(); !st.ok()) return st;
  return out;
}

absl::Status CheckSyntax(absl::string_view syntax) {
  return SyntaxParser(syntax).Parse().status();
}

}  // namespace portcullis::ops
