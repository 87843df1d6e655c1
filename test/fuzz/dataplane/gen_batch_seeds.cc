// Writes a binary seed of fuzz_channel_batch from one of its text seeds: the dpctl lines parsed
// into channel messages, as the target's modes 0 and 1 read them (256-byte message images).
//
// usage: gen_batch_seeds framed|raw|stream|stream-cut TEXT_SEED OUT
//   framed: mode 1, the first batch's messages (the target frames them itself);
//   raw:    mode 0, every batch's messages framed as vpnd would (slot 1, epoch 1, batch
//           sequence from 1, index, size, the last flagged), one after another;
//   stream, stream-cut: mode 3, every batch's messages as one streamed batch (the target
//           frames it), delivered whole or cut short before its last message.
// The text seed's first byte (its mode) is skipped; blank lines separate batches. The output
// depends only on the text and the message layout, so the same build writes the same bytes.
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "dataplane/api/messages.h"
#include "dataplane/dpctl/command_parser.h"

using namespace portcullis::dp;

int main(int argc, char** argv) {
  const std::string mode = argc == 4 ? argv[1] : "";
  if (mode != "framed" && mode != "raw" && mode != "stream" && mode != "stream-cut") {
    std::fprintf(stderr, "usage: gen_batch_seeds framed|raw|stream|stream-cut TEXT_SEED OUT\n");
    return 2;
  }
  const bool raw = mode == "raw";
  const bool stream = mode == "stream" || mode == "stream-cut";
  std::ifstream in(argv[2], std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  if (!in || text.empty()) {
    std::fprintf(stderr, "gen_batch_seeds: cannot read %s\n", argv[2]);
    return 1;
  }
  dpctl::InterfaceDirectory dir;
  std::string out(1, raw ? '\0' : stream ? '\3' : '\1');
  if (stream) out += mode == "stream-cut" ? '\1' : '\0';
  uint64_t seq = 1;
  for (absl::string_view group : absl::StrSplit(absl::string_view(text).substr(1), "\n\n")) {
    std::vector<api::Message> batch;
    for (absl::string_view line : absl::StrSplit(group, '\n')) {
      std::vector<std::string> words = absl::StrSplit(line, ' ', absl::SkipEmpty());
      if (words.empty()) continue;
      if (auto st = dpctl::ParseCommand(words, dir, batch); !st.ok()) {
        std::fprintf(stderr, "gen_batch_seeds: %.*s: %s\n", static_cast<int>(line.size()),
                     line.data(), std::string(st.message()).c_str());
        return 1;
      }
    }
    if (batch.empty()) continue;
    const uint32_t n = static_cast<uint32_t>(batch.size());
    for (uint32_t i = 0; i < n; ++i) {
      api::MessageHeader& h = batch[i].header;
      h.flags = i + 1 == n ? api::kLastInBatch : 0;
      h.slot = 1;
      h.slot_epoch = 1;
      h.batch_seq = seq;
      h.index = i;
      h.batch_size = n;
      std::memset(h.reserved, 0, sizeof h.reserved);
    }
    ++seq;
    for (const api::Message& m : batch) out.append(reinterpret_cast<const char*>(&m), sizeof m);
    if (!raw && !stream) break;
  }
  std::ofstream(argv[3], std::ios::binary) << out;
  return 0;
}
