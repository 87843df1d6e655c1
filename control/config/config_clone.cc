#include "control/config/config_clone.h"

namespace portcullis::config {

namespace {

void CopyChildren(const ConfigNode& from, ConfigNode& to) {
  for (const auto& [name, child] : from.children()) {
    ConfigNode* copy =
        to.GetOrCreateChild(child->schema(), name, child->is_tag_instance(), child->loc());
    const std::vector<std::string>& values = child->values();
    const std::vector<SourceLoc>& locs = child->value_locs();
    for (size_t i = 0; i < values.size(); ++i) {
      const SourceLoc& loc = i < locs.size() ? locs[i] : child->loc();
      if (child->schema()->kind == NodeKind::kLeafList) {
        copy->AddValue(values[i], loc);
      } else {
        copy->SetValue(values[i], loc);
      }
    }
    copy->set_loc(child->loc());
    CopyChildren(*child, *copy);
  }
}

}  // namespace

std::unique_ptr<ConfigTree> CloneTree(const ConfigTree& tree) {
  auto out = std::make_unique<ConfigTree>();
  CopyChildren(tree.root(), out->root());
  return out;
}

}  // namespace portcullis::config
