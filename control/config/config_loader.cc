#include "control/config/config_loader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>

#include "absl/cleanup/cleanup.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "control/config/commit_rules.h"
#include "control/config/line_lexer.h"
#include "control/config/path_resolver.h"
#include "control/config/vyos_dialect.h"

namespace portcullis::config {

namespace {
// Lines an operator pastes along with the set commands; they carry no configuration.
bool IsSessionWord(absl::string_view w) {
  return w == "configure" || w == "commit" || w == "save" || w == "exit" || w == "end" ||
         w == "commit-confirm";
}
}  // namespace

void ParseConfigText(absl::string_view text, const std::string& file, ConfigTree& tree,
                     Diagnostics& diags) {
  VyosTranslator vyos;
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_no;
    SourceLoc loc{file, line_no};
    LexedLine lexed = LexLine(line);
    Command cmd;
    // A line may carry a pre-shared key: its words are wiped, not just freed.
    absl::Cleanup wipe = [&] {
      for (auto* words : {&lexed.words, &cmd.words}) {
        for (std::string& w : *words) explicit_bzero(w.data(), w.size());
      }
    };
    if (!lexed.error.empty()) {
      diags.Error(loc, "", lexed.error);
      continue;
    }
    if (lexed.words.empty()) continue;
    const std::string& verb = lexed.words[0];
    if (IsSessionWord(verb)) continue;
    cmd.loc = loc;
    if (verb == "set") {
      cmd.op = Command::Op::kSet;
    } else if (verb == "delete") {
      cmd.op = Command::Op::kDelete;
    } else {
      std::string hint = Suggest(verb, {"set", "delete", "configure", "commit", "save", "exit"});
      diags.Error(loc, "",
                  absl::StrCat("unknown command '", verb, "'",
                               hint.empty() ? "" : absl::StrCat(" (did you mean '", hint, "'?)")));
      continue;
    }
    cmd.words.assign(lexed.words.begin() + 1, lexed.words.end());
    switch (vyos.Translate(cmd, diags)) {
      case VyosTranslator::Result::kApply:
        ApplyCommand(tree, cmd, diags);
        break;
      case VyosTranslator::Result::kConsumed:
      case VyosTranslator::Result::kIgnored:
      case VyosTranslator::Result::kError:
        break;
    }
  }
  for (const Command& cmd : vyos.Finish(diags)) ApplyCommand(tree, cmd, diags);
}

LoadedConfig LoadConfigText(absl::string_view text, const std::string& file) {
  LoadedConfig out;
  ParseConfigText(text, file, out.tree, out.diags);
  ValidateConfig(out.tree, out.diags);
  return out;
}

absl::StatusOr<LoadedConfig> LoadConfigFile(const std::string& path) {
  // Plain read(2) into one buffer sized up front: no stream buffers or reallocations leave
  // copies of the pre-shared keys behind, and this one is wiped once parsed.
  // O_NONBLOCK: a FIFO must not hang the open; it is refused below.
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0)
    return absl::NotFoundError(absl::StrCat(path, ": cannot open: ", std::strerror(errno)));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > (16 << 20)) {
    close(fd);
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a regular file of at most 16 MB"));
  }
  std::string text(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < text.size()) {
    ssize_t r = read(fd, text.data() + got, text.size() - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += static_cast<size_t>(r);
  }
  close(fd);
  if (got != text.size()) {
    explicit_bzero(text.data(), text.size());
    return absl::DataLossError(absl::StrCat(path, ": read error"));
  }
  LoadedConfig loaded = LoadConfigText(text, path);
  explicit_bzero(text.data(), text.size());
  return loaded;
}

}  // namespace portcullis::config
