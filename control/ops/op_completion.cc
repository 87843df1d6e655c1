#include "control/ops/op_completion.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "control/ops/op_commands.h"

namespace portcullis::ops {

namespace {

// One way of writing a command: its words in order, slots as written.
using Expansion = std::vector<absl::string_view>;

std::vector<absl::string_view> Tokens(absl::string_view s) {
  std::vector<absl::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] == ' ') {
      ++i;
    } else if (s[i] == '[' || s[i] == ']' || s[i] == '|') {
      out.push_back(s.substr(i++, 1));
    } else {
      size_t end = s[i] == '<' ? s.find('>', i) + 1 : s.find_first_of(" []|", i);
      if (end == absl::string_view::npos || end == 0) end = s.size();
      out.push_back(s.substr(i, end - i));
      i = end;
    }
  }
  return out;
}

// Every expansion of the tokens from `pos` up to the end of the enclosing alternative. The
// table's syntax is small (a few optional groups), so listing them all is cheap and simple.
std::vector<Expansion> Expand(const std::vector<absl::string_view>& t, size_t& pos) {
  std::vector<Expansion> out = {{}};
  while (pos < t.size() && t[pos] != "]" && t[pos] != "|") {
    if (t[pos] == "[") {
      ++pos;
      std::vector<Expansion> group = {{}};  // the group may be left out
      for (;;) {
        std::vector<Expansion> alt = Expand(t, pos);
        group.insert(group.end(), alt.begin(), alt.end());
        if (pos >= t.size() || t[pos++] == "]") break;
      }
      std::vector<Expansion> next;
      for (const Expansion& head : out) {
        for (const Expansion& tail : group) {
          Expansion e = head;
          e.insert(e.end(), tail.begin(), tail.end());
          next.push_back(std::move(e));
        }
      }
      out = std::move(next);
    } else {
      for (Expansion& e : out) e.push_back(t[pos]);
      ++pos;
    }
  }
  return out;
}

Slot SlotOf(absl::string_view w) {
  if (w == "<peer>") return Slot::kPeer;
  if (w == "<N|vti>") return Slot::kTunnel;
  if (w == "<file>") return Slot::kFile;
  if (w == "<name>") return Slot::kName;
  if (w == "<rule>") return Slot::kRule;
  return Slot::kNone;
}

bool Accepts(absl::string_view element, const std::string& word) {
  switch (SlotOf(element)) {
    case Slot::kNone:
      return element == word;
    case Slot::kTunnel: {
      uint32_t n;
      return word == "vti" || absl::SimpleAtoi(word, &n);
    }
    case Slot::kRule: {
      uint32_t n;
      return absl::SimpleAtoi(word, &n);
    }
    default:
      return true;
  }
}

}  // namespace

OpCompletionResult CompleteOpCommand(const std::vector<std::string>& words_in,
                                     absl::string_view partial) {
  std::vector<std::string> words;
  for (const std::string& w : words_in) {
    if (w != "json" && w != "--json") words.push_back(w);
  }
  OpCompletionResult r;
  for (const OpCommand& c : kOpCommands) {
    std::vector<absl::string_view> tokens = Tokens(c.syntax);
    size_t pos = 0;
    for (const Expansion& e : Expand(tokens, pos)) {
      if (e.size() < words.size()) continue;
      bool match = true;
      for (size_t i = 0; i < words.size() && match; ++i) match = Accepts(e[i], words[i]);
      if (!match) continue;
      if (e.size() == words.size()) {
        r.complete = true;
        continue;
      }
      absl::string_view next = e[words.size()];
      Slot slot = SlotOf(next);
      if (slot == Slot::kNone && !absl::StartsWith(next, partial)) continue;
      bool last = e.size() == words.size() + 1;
      r.items.push_back({std::string(next), last ? std::string(c.help) : "", slot});
    }
  }
  std::stable_sort(r.items.begin(), r.items.end(),
                   [](const OpCompletion& a, const OpCompletion& b) { return a.text < b.text; });
  // One entry per word; keep a help text if any of its duplicates had one.
  std::vector<OpCompletion> unique;
  for (OpCompletion& i : r.items) {
    if (!unique.empty() && unique.back().text == i.text) {
      if (unique.back().help.empty()) unique.back().help = i.help;
      continue;
    }
    unique.push_back(std::move(i));
  }
  r.items = std::move(unique);
  return r;
}

}  // namespace portcullis::ops
