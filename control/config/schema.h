// The schema: one table of every configuration node (kind, value type, range, default, help,
// secret/deprecated flags). Parsing, validation, defaults and display are all driven by it.
#pragma once

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "control/config/value_type.h"

namespace portcullis::config {

enum class NodeKind {
  kContainer,  // keyword with children: `security`, `vpn`, `authentication`
  kTag,        // keyword followed by a key, then children: `peer 1.2.3.4`, `proposal 1`
  kLeaf,       // keyword and one value: `lifetime 3600`
  kLeafList,   // keyword and a value, repeatable: `address 10.0.0.1/24`
  kEmpty,      // keyword alone: `make-before-break`, `disable`
};

struct SchemaNode {
  std::string name;
  NodeKind kind = NodeKind::kContainer;
  ValueSpec value;            // leaf/leaf-list value, or the tag key
  std::string default_value;  // leaves only
  std::string help;
  bool secret = false;      // shown as '********'
  std::string deprecated;   // accepted with this warning at commit
  std::string unsupported;  // in the Vyatta tree but not in Portcullis: an error naming why
  std::vector<SchemaNode> children;

  const SchemaNode* Child(absl::string_view child) const;
  std::vector<std::string> ChildNames() const;
  bool has_value() const { return kind == NodeKind::kLeaf || kind == NodeKind::kLeafList; }

  SchemaNode&& Help(std::string h) && {
    help = std::move(h);
    return std::move(*this);
  }
  SchemaNode&& Secret() && {
    secret = true;
    return std::move(*this);
  }
  SchemaNode&& Deprecated(std::string warning) && {
    deprecated = std::move(warning);
    return std::move(*this);
  }
  SchemaNode&& Unsupported(std::string why) && {
    unsupported = std::move(why);
    return std::move(*this);
  }
};

SchemaNode Container(std::string name, std::vector<SchemaNode> children);
SchemaNode Tag(std::string name, ValueSpec key, std::vector<SchemaNode> children);
SchemaNode Leaf(std::string name, ValueSpec value, std::string default_value = "");
SchemaNode LeafList(std::string name, ValueSpec value);
SchemaNode Empty(std::string name);

// The root of the Portcullis configuration tree (Vyatta 5600 layout, canonical form).
const SchemaNode& RootSchema();

}  // namespace portcullis::config
