// libFuzzer target: command batches from the channel into the dataplane's tables. Messages go
// through the batch assembler (framing, ValidateMessage) and every batch it hands on through the
// command applier (staging, room checks, commit) of a dataplane instance without ports.
//
// The first byte picks how the rest is read:
//   0: 256-byte message images, framing as given (the assembler's checks);
//   1: the same with consistent framing (one batch), so validation and staging are reached;
//   2: dpctl command lines, a blank line between batches (the parser as well, and batches the
//      applier mostly accepts, so later ones change an existing configuration);
//   3: message images framed as one streamed batch into an assembler that retains staging for
//      only 2 messages and takes at most 40 (growing staging, kBatchTooLarge); the next byte
//      says whether the sender dies before the last message (the batch is then discarded).
// Besides the sanitizers, the invariant is all or nothing: a batch the applier refuses leaves
// the configuration, the SA table, the FIB, the neighbours and the published tables exactly as
// they were.
#include <rte_eal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "dataplane/api/batch_assembler.h"
#include "dataplane/api/channel_layout.h"
#include "dataplane/dpctl/command_parser.h"
#include "dataplane/mgmt/command_applier.h"
#include "dataplane/runtime/dataplane.h"
#include "drivers/ethdev/eal_runtime.h"
#include "test/fuzz/dataplane/fuzz_eal.h"

using namespace portcullis::dp;

namespace {

Dataplane* dp;
CommandApplier* applier;
api::BatchAssembler* assembler;
api::BatchAssembler* streaming;  // small retained staging: every batch grows it

// Values in a comparable form. Raw bytes only for types whose bytes are their value (no
// padding, whose contents a copy need not keep); pairs and tuples field by field.
template <class T>
void Put(std::string& s, const T& v);
template <class A, class B>
void Put(std::string& s, const std::pair<A, B>& p);
template <class... T>
void Put(std::string& s, const std::tuple<T...>& t);

template <class T>
void Put(std::string& s, const T& v) {
  static_assert(std::has_unique_object_representations_v<T>, "field by field");
  s.append(reinterpret_cast<const char*>(&v), sizeof v);
}
template <class A, class B>
void Put(std::string& s, const std::pair<A, B>& p) {
  Put(s, p.first);
  Put(s, p.second);
}
template <class... T>
void Put(std::string& s, const std::tuple<T...>& t) {
  std::apply([&](const auto&... x) { (Put(s, x), ...); }, t);
}

// Everything a batch may change, in a comparable form.
std::string Digest() {
  std::string s;
  const ConfigState& c = applier->state();
  for (const auto& [ifx, f] : c.interfaces) {
    Put(s, ifx);
    Put(s, f.body);
    for (const auto& a : f.addresses) Put(s, a);
  }
  s += '|';
  for (const auto& [key, list] : c.routes) {
    Put(s, key);
    for (const RouteConfig& r : list) {
      Put(s, r.type);
      Put(s, r.next_hop);
      Put(s, r.out_ifindex);
      Put(s, r.distance);
    }
  }
  s += '|';
  for (const auto& [key, mac] : c.neighbors) {
    Put(s, key);
    Put(s, mac);
  }
  for (const auto& b : c.vti_bindings) Put(s, b);
  for (const auto& [key, p] : c.policies) {
    Put(s, key);
    Put(s, p);
  }
  s += '|';
  // The SA objects too: a refused batch must not have replaced one (an update at a full table).
  std::vector<std::tuple<uint32_t, bool, uint32_t, uint16_t, uint16_t, uint32_t, uintptr_t>> sas;
  dp->sas->ForEach([&](const SaEntry& e) {
    sas.emplace_back(e.spi, e.inbound, e.id, e.ifindex, e.owner, e.reqid,
                     reinterpret_cast<uintptr_t>(e.sa.get()));
  });
  std::sort(sas.begin(), sas.end());
  for (const auto& t : sas) Put(s, t);
  s += '|';
  for (const auto& [key, nh] : dp->fib->Dump()) {
    Put(s, key);
    Put(s, nh.type);
    Put(s, nh.ifindex);
    Put(s, nh.gateway);
  }
  s += '|';
  std::vector<std::pair<uint64_t, int>> neigh;
  dp->neighbors->ForEach([&](NeighborEntry& e) {
    neigh.emplace_back(uint64_t{e.ifindex} << 32 | e.ip, static_cast<int>(e.state));
  });
  std::sort(neigh.begin(), neigh.end());
  for (const auto& n : neigh) Put(s, n);
  Put(s, dp->CurrentTables().version);
  return s;
}

void Apply(const api::AssembledBatch& b) {
  if (!b.ok()) return;  // refused by the assembler: never reaches the tables
  const std::string before = Digest();
  api::ApplyResult r = applier->Apply(api::CommandBatch{1, b.seq, b.messages});
  if (!r.status.ok()) {
    if (r.failed_index > b.messages.size()) {
      std::fprintf(stderr, "blamed message %u of %zu\n", r.failed_index, b.messages.size());
      std::abort();
    }
    if (Digest() != before) {
      std::fprintf(stderr, "refused batch (%s) changed the dataplane\n",
                   std::string(r.status.message()).c_str());
      std::abort();
    }
  }
}

uint64_t next_seq = 1;

void Frame(std::vector<api::Message>& batch) {
  const uint32_t n = static_cast<uint32_t>(batch.size());
  const uint64_t seq = next_seq++;
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
}

void Feed(const std::vector<api::Message>& batch) {
  for (const api::Message& m : batch) assembler->Add(m, Apply);
}

void Reset() {
  assembler->Discard();
  streaming->Discard();
  std::vector<api::Message> flush = {api::NewMessage(api::MessageKind::kFlush, api::Op::kDelete)};
  flush[0].body.flush.scope = api::kFlushAll;
  Frame(flush);
  Feed(flush);
  // Flushed SAs, routes and neighbours wait for a grace period; no worker runs here.
  dp->sas->Reclaim();
  dp->neighbors->Reclaim();
  dp->fib->ReclaimNextHops();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  portcullis::fuzz::InitFuzzEal("fzb", 256);
  DataplaneParams p;
  p.name = "fzb";
  p.workers = 2;  // SA owners are picked among two, though none runs
  p.mbufs = 1023;
  auto d = CreateDataplane(p);
  if (!d.ok()) std::abort();
  dp = d->release();
  // Two ports known by name, as the port map would give them; nothing is ever sent.
  const char* names[] = {"lan", "wan"};
  for (uint16_t i = 0; i < 2; ++i) {
    dp->ports[i].present = true;
    dp->ports[i].name = names[i];
    dp->ports[i].mac.addr_bytes[0] = 2;
    dp->ports[i].mac.addr_bytes[5] = static_cast<uint8_t>(i + 1);
  }
  applier = new CommandApplier(*dp);
  assembler = new api::BatchAssembler(api::kDefaultMaxBatchMessages, api::kRetainedStagingMessages);
  streaming = new api::BatchAssembler(40, 2);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size > 256 * 64) return 0;
  const int mode = data[0] % 4;
  ++data;
  --size;
  Reset();
  if (mode < 2) {
    std::vector<api::Message> batch(size / sizeof(api::Message));
    for (size_t i = 0; i < batch.size(); ++i)
      std::memcpy(&batch[i], data + i * sizeof(api::Message), sizeof(api::Message));
    if (mode == 1 && !batch.empty()) Frame(batch);
    Feed(batch);
  } else if (mode == 3) {
    if (size < 1) return 0;
    const bool dies = (data[0] & 1) != 0;
    ++data;
    --size;
    std::vector<api::Message> batch(size / sizeof(api::Message));
    if (batch.empty()) return 0;
    for (size_t i = 0; i < batch.size(); ++i)
      std::memcpy(&batch[i], data + i * sizeof(api::Message), sizeof(api::Message));
    Frame(batch);
    const std::string before = Digest();
    bool finished = false;
    const size_t feed = dies ? batch.size() - 1 : batch.size();
    for (size_t i = 0; i < feed; ++i) {
      streaming->Add(batch[i], [&](const api::AssembledBatch& b) {
        finished = true;
        Apply(b);
      });
    }
    if (dies) {
      streaming->Discard();
      if (finished || Digest() != before) {
        std::fprintf(stderr, "a batch cut short changed the dataplane\n");
        std::abort();
      }
    }
    // Whatever happened, the grown staging went back and holds nothing.
    if (streaming->open() || streaming->capacity() != 2) {
      std::fprintf(stderr, "streaming staging kept: capacity %u\n", streaming->capacity());
      std::abort();
    }
  } else {
    const std::string text(reinterpret_cast<const char*>(data), size);
    dpctl::InterfaceDirectory dir;
    for (absl::string_view group : absl::StrSplit(text, "\n\n")) {
      std::vector<api::Message> batch;
      for (absl::string_view line : absl::StrSplit(group, '\n')) {
        std::vector<std::string> words = absl::StrSplit(line, ' ', absl::SkipEmpty());
        if (words.empty()) continue;
        std::vector<api::Message> msgs;
        if (dpctl::ParseCommand(words, dir, msgs).ok())
          batch.insert(batch.end(), msgs.begin(), msgs.end());
      }
      if (batch.empty() || batch.size() > api::kDefaultMaxBatchMessages) continue;
      Frame(batch);
      Feed(batch);
    }
  }
  return 0;
}
