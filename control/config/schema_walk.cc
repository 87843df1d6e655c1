#include "control/config/schema_walk.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace portcullis::config {

SchemaWalk WalkSchema(const std::vector<std::string>& words, bool check_values) {
  SchemaWalk w;
  w.at = &RootSchema();
  w.next = SchemaWalk::Next::kChild;
  auto fail = [&](size_t i, std::string why) {
    w.error = std::move(why);
    w.error_word = i;
    return w;
  };
  for (size_t i = 0; i < words.size(); ++i) {
    const std::string& word = words[i];
    switch (w.next) {
      case SchemaWalk::Next::kChild: {
        const SchemaNode* child = w.at->Child(word);
        if (child == nullptr) {
          std::string msg = absl::StrCat("unknown configuration node '", word, "'");
          if (std::string hint = Suggest(word, w.at->ChildNames()); !hint.empty()) {
            absl::StrAppend(&msg, " (did you mean '", hint, "'?)");
          } else if (!w.at->children.empty()) {
            absl::StrAppend(&msg, "; expected one of: ", absl::StrJoin(w.at->ChildNames(), ", "));
          }
          return fail(i, std::move(msg));
        }
        w.steps.push_back({child, SchemaWalk::Role::kKeyword});
        w.at = child;
        switch (child->kind) {
          case NodeKind::kContainer:
            w.next = SchemaWalk::Next::kChild;
            break;
          case NodeKind::kTag:
            w.next = SchemaWalk::Next::kKey;
            break;
          case NodeKind::kLeaf:
          case NodeKind::kLeafList:
            w.next = SchemaWalk::Next::kValue;
            break;
          case NodeKind::kEmpty:
            w.next = SchemaWalk::Next::kNothing;
            break;
        }
        break;
      }
      case SchemaWalk::Next::kKey:
      case SchemaWalk::Next::kValue: {
        if (check_values) {
          std::string why = CheckValue(w.at->value, word);
          if (!why.empty()) return fail(i, w.at->secret ? "invalid secret" : why);
        }
        bool key = w.next == SchemaWalk::Next::kKey;
        w.steps.push_back({w.at, key ? SchemaWalk::Role::kKey : SchemaWalk::Role::kValue});
        w.next = key ? SchemaWalk::Next::kChild : SchemaWalk::Next::kNothing;
        break;
      }
      case SchemaWalk::Next::kNothing:
        return fail(i, absl::StrCat("unexpected '", word, "' after the end of the path"));
    }
  }
  return w;
}

}  // namespace portcullis::config
