// The configuration as a tree of nodes shaped by the schema, each remembering the line that set
// it, so that commit rules can point at the line to fix.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "control/config/diagnostic.h"
#include "control/config/schema.h"

namespace portcullis::config {

// Orders "2" before "10" and "9.1.1.1" before "10.0.0.0": digit runs compare as numbers.
struct NaturalLess {
  bool operator()(const std::string& a, const std::string& b) const;
};

class ConfigNode {
 public:
  using Children = std::map<std::string, std::unique_ptr<ConfigNode>, NaturalLess>;

  ConfigNode(const SchemaNode* schema, std::string name, bool tag_instance, ConfigNode* parent);
  // Secret values (pre-shared keys) are wiped, not just freed.
  ~ConfigNode();
  ConfigNode(const ConfigNode&) = delete;
  ConfigNode& operator=(const ConfigNode&) = delete;

  const SchemaNode* schema() const { return schema_; }
  const std::string& name() const { return name_; }
  bool is_tag_instance() const { return tag_instance_; }
  ConfigNode* parent() const { return parent_; }
  const Children& children() const { return children_; }
  const std::vector<std::string>& values() const { return values_; }
  const SourceLoc& loc() const { return loc_; }
  // Where each leaf-list value was set (same order as values()).
  const std::vector<SourceLoc>& value_locs() const { return value_locs_; }

  // The space-separated config path: "security vpn ipsec site-to-site peer 1.2.3.4 ike-group".
  std::string Path() const;

  const ConfigNode* Child(absl::string_view name) const;
  // Follows keywords and tag keys: Find({"vpn", "ipsec", "ike-group", "IKE-1"}).
  const ConfigNode* Find(std::initializer_list<absl::string_view> path) const;
  bool Has(absl::string_view child) const { return Child(child) != nullptr; }

  // The leaf child's value, or its schema default, or "" when neither exists.
  std::string Get(absl::string_view leaf) const;
  // The leaf child's value only if it was configured.
  const std::string* GetIfSet(absl::string_view leaf) const;
  // Location of a child if present, else this node's.
  SourceLoc LocOf(absl::string_view child) const;
  // Tag instances under a tag child: for `peer` under site-to-site, the peers.
  std::vector<const ConfigNode*> Instances(absl::string_view tag) const;
  std::vector<std::string> LeafList(absl::string_view leaf) const;

  // Mutators used by the loader.
  ConfigNode* GetOrCreateChild(const SchemaNode* schema, const std::string& name, bool tag_instance,
                               const SourceLoc& loc);
  void SetValue(const std::string& v, const SourceLoc& loc);
  void AddValue(const std::string& v, const SourceLoc& loc);  // leaf-list; no duplicates
  bool RemoveValue(const std::string& v);
  bool RemoveChild(const std::string& name);
  void set_loc(const SourceLoc& loc) { loc_ = loc; }

 private:
  void WipeIfSecret();

  const SchemaNode* schema_;
  std::string name_;
  bool tag_instance_;
  ConfigNode* parent_;
  Children children_;
  std::vector<std::string> values_;
  std::vector<SourceLoc> value_locs_;
  SourceLoc loc_;
};

class ConfigTree {
 public:
  ConfigTree();
  ConfigNode& root() { return *root_; }
  const ConfigNode& root() const { return *root_; }

 private:
  std::unique_ptr<ConfigNode> root_;
};

}  // namespace portcullis::config
