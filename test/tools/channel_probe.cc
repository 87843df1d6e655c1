// channel_probe: stands in for vpnd on the channel in tests. Attaches as the primary client,
// prints every punted datagram as a JSON line, and (with --echo) injects it straight back to its
// sender with "echo:" in front, from the address and port it was sent to, keeping the
// non-ESP-marker flag.
//   channel_probe --channel NAME --seconds N [--echo]
#include <arpa/inet.h>

#include <cstdio>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "dataplane/api/channel_client.h"

using namespace portcullis::dp::api;

int main(int argc, char** argv) {
  std::string name;
  double seconds = 5;
  bool echo = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--channel" && i + 1 < argc)
      name = argv[++i];
    else if (a == "--seconds" && i + 1 < argc)
      seconds = std::stod(argv[++i]);
    else if (a == "--echo")
      echo = true;
  }
  auto client = ChannelClient::Attach(name, /*primary=*/true);
  if (!client.ok()) {
    std::fprintf(stderr, "channel_probe: %s\n", std::string(client.status().message()).c_str());
    return 1;
  }
  std::printf("{\"attached\": true}\n");
  std::fflush(stdout);
  absl::Time end = absl::Now() + absl::Seconds(seconds);
  while (absl::Now() < end) {
    size_t n = client->PollPunt(32, [&](absl::Span<const uint8_t> data, const PacketMeta& m) {
      char src[INET_ADDRSTRLEN], dst[INET_ADDRSTRLEN];
      inet_ntop(AF_INET, m.src.bytes, src, sizeof src);
      inet_ntop(AF_INET, m.dst.bytes, dst, sizeof dst);
      std::string text(data.begin(), data.end());
      for (char& c : text)
        if (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 32) c = '.';
      std::printf(
          "{\"src\": \"%s\", \"dst\": \"%s\", \"sport\": %u, \"dport\": %u, \"ifindex\": %u, "
          "\"marker\": %s, \"len\": %zu, \"data\": \"%s\"}\n",
          src, dst, m.src_port, m.dst_port, m.ifindex, (m.flags & kNonEspMarker) ? "true" : "false",
          data.size(), text.c_str());
      std::fflush(stdout);
      if (echo) {
        PacketMeta r = m;
        r.src = m.dst;
        r.dst = m.src;
        r.src_port = m.dst_port;
        r.dst_port = m.src_port;
        r.ifindex = 0;
        std::vector<uint8_t> reply = {'e', 'c', 'h', 'o', ':'};
        reply.insert(reply.end(), data.begin(), data.end());
        absl::Status s = client->Inject(reply, r);
        if (!s.ok()) std::fprintf(stderr, "inject: %s\n", std::string(s.message()).c_str());
      }
    });
    if (n == 0) absl::SleepFor(absl::Milliseconds(2));
  }
  // Leave only once the dataplane took every injected datagram.
  for (int i = 0; i < 500 && client->InjectsInFlight() > 0; ++i)
    absl::SleepFor(absl::Milliseconds(2));
  return 0;
}
