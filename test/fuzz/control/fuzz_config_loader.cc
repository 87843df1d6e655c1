// libFuzzer target: any bytes as a configuration file. Loading, validating, building the model
// and displaying in both dialects must never crash, leak or trip UBSan.
#include <cstddef>
#include <cstdint>
#include <string>

#include "control/config/config_display.h"
#include "control/config/config_loader.h"
#include "control/config/model.h"

using namespace portcullis::config;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  LoadedConfig c = LoadConfigText(text, "fuzz.conf");
  for (const auto& d : c.diags.all()) (void)d.ToString();
  Model m = BuildModel(c.tree);
  (void)m;
  DisplayOptions o;
  o.commands = true;
  (void)ShowConfiguration(c.tree, o);
  o.dialect = Dialect::kVyos;
  o.commands = false;
  (void)ShowConfiguration(c.tree, o);
  return 0;
}
