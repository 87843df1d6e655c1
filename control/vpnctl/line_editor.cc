#include "control/vpnctl/line_editor.h"

#include <histedit.h>
#include <signal.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace portcullis::vpnctl {

struct LineEditor::Impl {
  EditLine* el = nullptr;
  History* hist = nullptr;
  HistEvent ev;
  Completer completer;
  std::string prompt;
};

namespace {

LineEditor::Completer* CompleterOf(EditLine* el, std::string** prompt) {
  void* data = nullptr;
  el_get(el, EL_CLIENTDATA, &data);
  auto* impl = static_cast<LineEditor::Impl*>(data);
  if (prompt != nullptr) *prompt = &impl->prompt;
  return &impl->completer;
}

std::string LineToCursor(EditLine* el) {
  const LineInfo* li = el_line(el);
  return std::string(li->buffer, static_cast<size_t>(li->cursor - li->buffer));
}

// Inside an open quote `?` is just a character (a description may ask a question).
bool InsideQuote(const std::string& line) {
  char open = 0;
  for (char c : line) {
    if (open != 0) {
      if (c == open) open = 0;
    } else if (c == '\'' || c == '"') {
      open = c;
    }
  }
  return open != 0;
}

unsigned char Help(EditLine* el, int) {
  std::string line = LineToCursor(el);
  if (InsideQuote(line)) {
    el_insertstr(el, "?");
    return CC_REFRESH;
  }
  ConfigureShell::Completions c = (*CompleterOf(el, nullptr))(line);
  std::fputs(FormatHelp(c).c_str(), stdout);
  std::fflush(stdout);
  return CC_REDISPLAY;
}

unsigned char Complete(EditLine* el, int) {
  std::string line = LineToCursor(el);
  if (InsideQuote(line)) return CC_ERROR;
  ConfigureShell::Completions c = (*CompleterOf(el, nullptr))(line);
  std::string insert = TabInsertion(c, PartialWord(line));
  if (!insert.empty()) {
    el_insertstr(el, insert.c_str());
    return CC_REFRESH;
  }
  // Nothing to add: show the choices, as `?` does.
  std::fputs(FormatHelp(c).c_str(), stdout);
  std::fflush(stdout);
  return CC_REDISPLAY;
}

char* Prompt(EditLine* el) {
  std::string* prompt = nullptr;
  CompleterOf(el, &prompt);
  return prompt->data();
}

}  // namespace

std::string PartialWord(const std::string& line) {
  size_t sp = line.find_last_of(" \t");
  return sp == std::string::npos ? line : line.substr(sp + 1);
}

std::string TabInsertion(const ConfigureShell::Completions& c, const std::string& partial) {
  std::vector<const std::string*> words;
  for (const auto& i : c.items) {
    if (!i.placeholder) words.push_back(&i.text);
  }
  if (words.empty()) return "";
  // The only choice, and nothing else could be typed instead (no placeholder): complete it.
  bool only = words.size() == 1 && words.size() == c.items.size();
  if (only) return words[0]->substr(std::min(partial.size(), words[0]->size())) + " ";
  size_t common = words[0]->size();
  for (const std::string* w : words) {
    size_t n = 0;
    while (n < common && n < w->size() && (*w)[n] == (*words[0])[n]) ++n;
    common = n;
  }
  if (common <= partial.size()) return "";
  return words[0]->substr(partial.size(), common - partial.size());
}

namespace {
void IgnoreInterrupt(int) {}
}  // namespace

LineEditor::LineEditor(const char* program, Completer completer) : impl_(new Impl) {
  // Ctrl-C interrupts the line being read instead of killing vpnctl (which would leave the
  // session behind in vpnd until its idle timeout).
  struct sigaction sa = {};
  sa.sa_handler = &IgnoreInterrupt;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  impl_->completer = std::move(completer);
  impl_->el = el_init(program, stdin, stdout, stderr);
  impl_->hist = history_init();
  history(impl_->hist, &impl_->ev, H_SETSIZE, 500);
  // No history file: lines such as `set ... pre-shared-secret X` must not land on disk.
  el_set(impl_->el, EL_CLIENTDATA, impl_);
  el_set(impl_->el, EL_EDITOR, "emacs");
  el_set(impl_->el, EL_SIGNAL, 1);
  el_set(impl_->el, EL_PROMPT, &Prompt);
  el_set(impl_->el, EL_HIST, history, impl_->hist);
  el_set(impl_->el, EL_ADDFN, "vpnctl-complete", "Complete the word", &Complete);
  el_set(impl_->el, EL_ADDFN, "vpnctl-help", "List what may come next", &Help);
  el_set(impl_->el, EL_BIND, "^I", "vpnctl-complete", nullptr);
  el_set(impl_->el, EL_BIND, "?", "vpnctl-help", nullptr);
}

LineEditor::~LineEditor() {
  history_end(impl_->hist);
  el_end(impl_->el);
  delete impl_;
}

std::optional<std::string> LineEditor::ReadLine(const std::string& prompt) {
  impl_->prompt = prompt;
  int count = 0;
  errno = 0;
  const char* line = el_gets(impl_->el, &count);
  if (line == nullptr && count < 0 && errno == EINTR) {
    // Ctrl-C: the line is dropped, the session stays (as in the Vyatta shell).
    std::fputs("\n", stdout);
    return std::string();
  }
  if (line == nullptr || count <= 0) return std::nullopt;
  std::string out(line, static_cast<size_t>(count));
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  if (!out.empty()) history(impl_->hist, &impl_->ev, H_ENTER, out.c_str());
  return out;
}

}  // namespace portcullis::vpnctl
