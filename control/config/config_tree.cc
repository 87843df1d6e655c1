#include "control/config/config_tree.h"

#include <string.h>

#include <algorithm>
#include <cctype>

#include "absl/strings/str_join.h"

namespace portcullis::config {

bool NaturalLess::operator()(const std::string& a, const std::string& b) const {
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (std::isdigit(static_cast<unsigned char>(a[i])) &&
        std::isdigit(static_cast<unsigned char>(b[j]))) {
      size_t i2 = i, j2 = j;
      while (i2 < a.size() && a[i2] == '0') ++i2;
      while (j2 < b.size() && b[j2] == '0') ++j2;
      size_t ie = i2, je = j2;
      while (ie < a.size() && std::isdigit(static_cast<unsigned char>(a[ie]))) ++ie;
      while (je < b.size() && std::isdigit(static_cast<unsigned char>(b[je]))) ++je;
      if (ie - i2 != je - j2) return ie - i2 < je - j2;
      int c = a.compare(i2, ie - i2, b, j2, je - j2);
      if (c != 0) return c < 0;
      if (ie - i != je - j) return ie - i < je - j;  // "01" after "1": stable total order
      i = ie;
      j = je;
    } else {
      if (a[i] != b[j]) return a[i] < b[j];
      ++i;
      ++j;
    }
  }
  return a.size() - i < b.size() - j;
}

ConfigNode::~ConfigNode() {
  WipeIfSecret();
}

void ConfigNode::WipeIfSecret() {
  if (schema_ == nullptr || !schema_->secret) return;
  for (std::string& v : values_) explicit_bzero(v.data(), v.size());
}

ConfigNode::ConfigNode(const SchemaNode* schema, std::string name, bool tag_instance,
                       ConfigNode* parent)
    : schema_(schema), name_(std::move(name)), tag_instance_(tag_instance), parent_(parent) {}

std::string ConfigNode::Path() const {
  std::vector<const ConfigNode*> chain;
  for (const ConfigNode* n = this; n != nullptr && n->parent_ != nullptr; n = n->parent_)
    chain.push_back(n);
  std::reverse(chain.begin(), chain.end());
  std::vector<absl::string_view> words;
  for (const ConfigNode* n : chain) words.push_back(n->name_);
  return absl::StrJoin(words, " ");
}

const ConfigNode* ConfigNode::Child(absl::string_view name) const {
  auto it = children_.find(std::string(name));
  return it == children_.end() ? nullptr : it->second.get();
}

const ConfigNode* ConfigNode::Find(std::initializer_list<absl::string_view> path) const {
  const ConfigNode* n = this;
  for (absl::string_view w : path) {
    n = n->Child(w);
    if (n == nullptr) return nullptr;
  }
  return n;
}

const std::string* ConfigNode::GetIfSet(absl::string_view leaf) const {
  const ConfigNode* c = Child(leaf);
  if (c == nullptr || c->values_.empty()) return nullptr;
  return &c->values_.front();
}

std::string ConfigNode::Get(absl::string_view leaf) const {
  if (const std::string* v = GetIfSet(leaf)) return *v;
  const SchemaNode* s = schema_ ? schema_->Child(leaf) : nullptr;
  return s ? s->default_value : "";
}

SourceLoc ConfigNode::LocOf(absl::string_view child) const {
  const ConfigNode* c = Child(child);
  return c ? c->loc_ : loc_;
}

std::vector<const ConfigNode*> ConfigNode::Instances(absl::string_view tag) const {
  std::vector<const ConfigNode*> out;
  const ConfigNode* t = Child(tag);
  if (t == nullptr) return out;
  for (const auto& [_, c] : t->children_) out.push_back(c.get());
  return out;
}

std::vector<std::string> ConfigNode::LeafList(absl::string_view leaf) const {
  const ConfigNode* c = Child(leaf);
  return c ? c->values_ : std::vector<std::string>{};
}

ConfigNode* ConfigNode::GetOrCreateChild(const SchemaNode* schema, const std::string& name,
                                         bool tag_instance, const SourceLoc& loc) {
  auto& slot = children_[name];
  if (!slot) {
    slot = std::make_unique<ConfigNode>(schema, name, tag_instance, this);
    slot->loc_ = loc;
  }
  return slot.get();
}

void ConfigNode::SetValue(const std::string& v, const SourceLoc& loc) {
  WipeIfSecret();
  values_ = {v};
  value_locs_ = {loc};
  loc_ = loc;
}

void ConfigNode::AddValue(const std::string& v, const SourceLoc& loc) {
  if (std::find(values_.begin(), values_.end(), v) != values_.end()) return;
  values_.push_back(v);
  value_locs_.push_back(loc);
  loc_ = loc;
}

bool ConfigNode::RemoveValue(const std::string& v) {
  auto it = std::find(values_.begin(), values_.end(), v);
  if (it == values_.end()) return false;
  value_locs_.erase(value_locs_.begin() + (it - values_.begin()));
  if (schema_ != nullptr && schema_->secret) explicit_bzero(it->data(), it->size());
  values_.erase(it);
  return true;
}

bool ConfigNode::RemoveChild(const std::string& name) {
  return children_.erase(name) > 0;
}

ConfigTree::ConfigTree() : root_(std::make_unique<ConfigNode>(&RootSchema(), "", false, nullptr)) {}

}  // namespace portcullis::config
