// Cross-field commit rules (the Vyatta YANG `must`s and the generator's checks, plus what
// Portcullis itself cannot do yet). Run over the whole tree before anything is applied.
#pragma once

#include "control/config/config_tree.h"
#include "control/config/diagnostic.h"

namespace portcullis::config {

void ValidateConfig(const ConfigTree& tree, Diagnostics& diags);

}  // namespace portcullis::config
