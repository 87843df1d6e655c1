#include "control/vpnd/session_completion.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "control/config/line_lexer.h"
#include "control/ops/config_mode_commands.h"
#include "control/ops/op_completion.h"
#include "control/vpnd/config_session.h"

namespace portcullis::vpnd {

namespace {

std::vector<std::string> PeerKeys(const config::ConfigTree& tree) {
  std::vector<std::string> out;
  const config::ConfigNode* peers =
      tree.root().Find({"security", "vpn", "ipsec", "site-to-site", "peer"});
  if (peers == nullptr) return out;
  for (const auto& [key, _] : peers->children()) out.push_back(key);
  return out;
}

void Run(const config::ConfigTree& candidate, const std::vector<std::string>& words,
         absl::string_view partial, LineCompletion& out) {
  ops::OpCompletionResult r = ops::CompleteOpCommand(words, partial);
  out.complete = r.complete;
  if (!partial.empty()) {
    std::vector<std::string> whole = words;
    whole.emplace_back(partial);
    out.complete = ops::CompleteOpCommand(whole, "").complete;
  }
  for (const ops::OpCompletion& i : r.items) {
    if (i.slot == ops::Slot::kNone) {
      out.items.push_back({i.text, i.help, false});
      continue;
    }
    std::string help = i.help;
    if (help.empty()) {
      help = i.slot == ops::Slot::kPeer     ? "Peer address or name"
             : i.slot == ops::Slot::kTunnel ? "Tunnel number, or vti"
             : i.slot == ops::Slot::kName   ? "Firewall ruleset name"
             : i.slot == ops::Slot::kRule   ? "Rule number"
                                            : "File name";
    }
    out.items.push_back({i.text, help, true});
    if (i.slot == ops::Slot::kPeer) {
      for (const std::string& p : PeerKeys(candidate)) {
        if (absl::StartsWith(p, partial)) out.items.push_back({p, "Configured peer", false});
      }
    }
    if (i.slot == ops::Slot::kName) {
      if (const config::ConfigNode* fw = candidate.root().Find({"security", "firewall"})) {
        for (const config::ConfigNode* rs : fw->Instances("name")) {
          if (absl::StartsWith(rs->name(), partial))
            out.items.push_back({rs->name(), "Configured firewall ruleset", false});
        }
      }
    }
  }
  if (out.items.empty() && !out.complete) out.error = "no operational command starts this way";
}

}  // namespace

LineCompletion CompleteLine(const config::ConfigTree& candidate, absl::string_view line) {
  LineCompletion out;
  config::LexedLine lexed = config::LexLine(line);
  if (!lexed.error.empty()) {
    out.error = lexed.error;
    return out;
  }
  std::vector<std::string> words = std::move(lexed.words);
  std::string partial;
  bool after_space = line.empty() || line.back() == ' ' || line.back() == '\t';
  if (!after_space && !words.empty()) {
    partial = words.back();
    words.pop_back();
  }
  if (words.empty()) {
    for (const ops::ConfigModeCommand& c : ops::kConfigModeCommands) {
      if (absl::StartsWith(c.name, partial))
        out.items.push_back({std::string(c.name), std::string(c.help), false});
    }
    if (out.items.empty()) out.error = absl::StrCat("unknown command '", partial, "'");
    return out;
  }
  const std::string verb = words[0];
  std::vector<std::string> rest(words.begin() + 1, words.end());
  auto add = [&](const std::string& text, const std::string& help, bool placeholder) {
    if (placeholder || absl::StartsWith(text, partial))
      out.items.push_back({text, help, placeholder});
  };
  if (verb == "set" || verb == "delete" || verb == "show") {
    config::CompleteFor mode = verb == "set"      ? config::CompleteFor::kSet
                               : verb == "delete" ? config::CompleteFor::kDelete
                                                  : config::CompleteFor::kShow;
    config::CompletionResult r =
        config::CompletePath(candidate, mode, CanonicalPath(rest), partial);
    out.items = std::move(r.items);
    out.error = r.error;
    out.complete = r.complete;
    if (!partial.empty()) {
      // <Enter> runs the line with the word under the cursor as typed.
      rest.push_back(partial);
      config::CompletionResult whole =
          config::CompletePath(candidate, mode, CanonicalPath(rest), "");
      out.complete = whole.error.empty() && whole.complete;
    }
  } else if (verb == "run") {
    Run(candidate, rest, partial, out);
  } else if (ops::FindConfigModeCommand(verb) == nullptr) {
    out.error = absl::StrCat("unknown command '", verb, "'");
  } else if (!rest.empty()) {
    out.error = absl::StrCat("'", verb, "' takes no more arguments");
  } else if (verb == "exit") {
    add("discard", "Discard the uncommitted changes and leave", false);
    out.complete = true;
  } else if (verb == "commit-confirm") {
    add("<N>", "Minutes until the rollback (default 10)", true);
    out.complete = true;
  } else if (verb == "rollback") {
    add("<N>", "Revision number ('run show system commit' lists them)", true);
  } else if (verb == "save") {
    add("<file>", "File to save to (default: the file vpnd loaded)", true);
    out.complete = true;
  } else if (verb == "load") {
    add("<file>", "Configuration file to load into the candidate", true);
  } else {
    out.complete = true;  // commit, compare, confirm, discard: nothing more
  }
  return out;
}

std::string EncodeCompletion(const LineCompletion& c) {
  std::string out;
  for (const config::Completion& i : c.items) {
    absl::StrAppend(&out, i.placeholder ? "P\t" : "W\t", i.text, "\t", i.help, "\n");
  }
  if (c.complete) absl::StrAppend(&out, "C\n");
  if (!c.error.empty()) absl::StrAppend(&out, "E\t", c.error, "\n");
  return out;
}

}  // namespace portcullis::vpnd
