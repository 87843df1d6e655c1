// BatchAssembler: complete batches pass whole, and every framing fault rejects the whole batch
// exactly once with the index it happened at.
#include "dataplane/api/batch_assembler.h"

#include <catch2/catch.hpp>
#include <vector>

#include "test/unit/dataplane/api/test_messages.h"

using namespace portcullis::dp::api;
using namespace portcullis::dp::api::testing;

namespace {

struct Verdict {
  uint64_t seq;
  RejectReason reason;
  uint32_t failed_index;
  std::vector<uint32_t> routes;  // route numbers of an accepted batch
};

class Harness {
 public:
  explicit Harness(uint32_t max_messages = 16, uint32_t retained = 16)
      : assembler_(max_messages, retained) {}

  void Add(Message m, uint64_t seq, uint32_t index, uint32_t size, bool last) {
    m.header.batch_seq = seq;
    m.header.index = index;
    m.header.batch_size = size;
    m.header.flags = last ? kLastInBatch : 0;
    assembler_.Add(m, [&](const AssembledBatch& b) {
      Verdict v{b.seq, b.reason, b.failed_index, {}};
      for (const Message& msg : b.messages) v.routes.push_back(RouteNumber(msg));
      verdicts.push_back(v);
    });
  }

  // A correctly framed batch of routes first..first+size-1.
  void AddBatch(uint64_t seq, uint32_t first, uint32_t size) {
    for (uint32_t i = 0; i < size; ++i) Add(RouteMessage(first + i), seq, i, size, i + 1 == size);
  }

  BatchAssembler assembler_;
  std::vector<Verdict> verdicts;
};

}  // namespace

TEST_CASE("a batch is handed on whole, once its last message arrives", "[channel][batch]") {
  Harness h;
  h.Add(RouteMessage(10), 1, 0, 3, false);
  h.Add(RouteMessage(11), 1, 1, 3, false);
  CHECK(h.verdicts.empty());
  CHECK(h.assembler_.open());
  h.Add(RouteMessage(12), 1, 2, 3, true);
  REQUIRE(h.verdicts.size() == 1);
  CHECK(h.verdicts[0].seq == 1);
  CHECK(h.verdicts[0].reason == RejectReason::kNone);
  CHECK(h.verdicts[0].routes == std::vector<uint32_t>{10, 11, 12});
  CHECK_FALSE(h.assembler_.open());

  h.AddBatch(2, 20, 1);
  REQUIRE(h.verdicts.size() == 2);
  CHECK(h.verdicts[1].routes == std::vector<uint32_t>{20});
}

TEST_CASE("one bad message rejects its whole batch at its index", "[channel][batch]") {
  Harness h;
  Message bad = RouteMessage(2);
  bad.body.route.prefix_length = 40;
  h.Add(RouteMessage(1), 1, 0, 4, false);
  h.Add(bad, 1, 1, 4, false);
  h.Add(RouteMessage(3), 1, 2, 4, false);
  Message also_bad = RouteMessage(4);
  also_bad.header.kind = MessageKind{77};
  h.Add(also_bad, 1, 3, 4, true);
  REQUIRE(h.verdicts.size() == 1);
  CHECK(h.verdicts[0].reason == RejectReason::kBadPrefixLength);  // the first fault counts
  CHECK(h.verdicts[0].failed_index == 1);
  CHECK(h.verdicts[0].routes.empty());

  h.AddBatch(2, 5, 2);  // the next batch is unaffected
  REQUIRE(h.verdicts.size() == 2);
  CHECK(h.verdicts[1].reason == RejectReason::kNone);
}

TEST_CASE("index and size inconsistencies are framing errors", "[channel][batch]") {
  SECTION("a skipped index") {
    Harness h;
    h.Add(RouteMessage(1), 1, 0, 3, false);
    h.Add(RouteMessage(3), 1, 2, 3, true);
    REQUIRE(h.verdicts.size() == 1);
    CHECK(h.verdicts[0].reason == RejectReason::kBadFraming);
    CHECK(h.verdicts[0].failed_index == 1);
  }
  SECTION("a batch that does not start at 0") {
    Harness h;
    h.Add(RouteMessage(1), 1, 1, 2, true);
    REQUIRE(h.verdicts.size() == 1);
    CHECK(h.verdicts[0].reason == RejectReason::kBadFraming);
  }
  SECTION("the size changes mid-batch") {
    Harness h;
    h.Add(RouteMessage(1), 1, 0, 3, false);
    h.Add(RouteMessage(2), 1, 1, 2, true);
    REQUIRE(h.verdicts.size() == 1);
    CHECK(h.verdicts[0].reason == RejectReason::kBadFraming);
  }
  SECTION("a last flag before the end") {
    Harness h;
    h.Add(RouteMessage(1), 1, 0, 3, true);
    REQUIRE(h.verdicts.size() == 1);
    CHECK(h.verdicts[0].reason == RejectReason::kBadFraming);
    CHECK(h.verdicts[0].failed_index == 0);
  }
  SECTION("no last flag on the final message") {
    Harness h;
    h.Add(RouteMessage(1), 1, 0, 2, false);
    h.Add(RouteMessage(2), 1, 1, 2, false);
    REQUIRE(h.verdicts.size() == 1);
    CHECK(h.verdicts[0].reason == RejectReason::kBadFraming);
    CHECK(h.verdicts[0].failed_index == 1);
  }
  SECTION("an empty or oversized batch") {
    Harness h(16);
    h.Add(RouteMessage(1), 1, 0, 0, true);
    h.Add(RouteMessage(1), 2, 0, 17, true);
    REQUIRE(h.verdicts.size() == 2);
    CHECK(h.verdicts[0].reason == RejectReason::kBadLength);
    CHECK(h.verdicts[1].reason == RejectReason::kBatchTooLarge);
    CHECK(h.assembler_.capacity() == 16);  // nothing was staged for it
  }
}

TEST_CASE("a batch interrupted by the next one from the same slot is dropped", "[channel][batch]") {
  Harness h;
  h.Add(RouteMessage(1), 7, 0, 4, false);
  h.Add(RouteMessage(2), 7, 1, 4, false);
  h.AddBatch(8, 10, 2);
  REQUIRE(h.verdicts.size() == 2);
  CHECK(h.verdicts[0].seq == 7);
  CHECK(h.verdicts[0].reason == RejectReason::kBatchInterrupted);
  CHECK(h.verdicts[0].failed_index == 2);
  CHECK(h.verdicts[1].seq == 8);
  CHECK(h.verdicts[1].routes == std::vector<uint32_t>{10, 11});
}

TEST_CASE("discarding an unfinished batch gives no verdict", "[channel][batch]") {
  Harness h;
  h.Add(RouteMessage(1), 1, 0, 3, false);
  CHECK(h.assembler_.Discard());
  CHECK_FALSE(h.assembler_.Discard());
  CHECK(h.verdicts.empty());
  h.AddBatch(1, 5, 1);  // even the same sequence number starts afresh
  REQUIRE(h.verdicts.size() == 1);
  CHECK(h.verdicts[0].routes == std::vector<uint32_t>{5});
}

TEST_CASE("staged key bytes are wiped after the verdict, and on discard", "[channel][batch]") {
  Harness h;
  bool seen_in_sink = false;
  Message sa = GcmSaMessage(0x1000);
  sa.header.batch_seq = 1;
  sa.header.batch_size = 1;
  sa.header.flags = kLastInBatch;
  h.assembler_.Add(sa, [&](const AssembledBatch& b) {
    seen_in_sink = b.ok() && ContainsKeyProbe(h.assembler_.staging_bytes());
  });
  CHECK(seen_in_sink);
  CHECK_FALSE(ContainsKeyProbe(h.assembler_.staging_bytes()));

  sa.header.batch_size = 2;
  sa.header.flags = 0;
  h.Add(sa, 2, 0, 2, false);
  CHECK(ContainsKeyProbe(h.assembler_.staging_bytes()));
  h.assembler_.Discard();
  CHECK_FALSE(ContainsKeyProbe(h.assembler_.staging_bytes()));

  // A rejected batch does not keep the keys it staged before the fault either.
  h.Add(sa, 3, 0, 2, false);
  Message bad = RouteMessage(1);
  bad.body.route.distance = 0;
  h.Add(bad, 3, 1, 2, true);
  CHECK_FALSE(ContainsKeyProbe(h.assembler_.staging_bytes()));
}

TEST_CASE("a batch larger than the retained staging grows it, and gives it back after",
          "[channel][batch][stream]") {
  Harness h(100000, 64);
  CHECK(h.assembler_.capacity() == 64);
  const uint32_t n = 50000;
  Message sa = GcmSaMessage(0x2000);
  bool keys_staged = false;
  uint32_t applied = 0;
  for (uint32_t i = 0; i < n; ++i) {
    Message m = i == n / 2 ? sa : RouteMessage(i);
    m.header.batch_seq = 1;
    m.header.index = i;
    m.header.batch_size = n;
    m.header.flags = i + 1 == n ? kLastInBatch : 0;
    h.assembler_.Add(m, [&](const AssembledBatch& b) {
      REQUIRE(b.ok());
      applied = static_cast<uint32_t>(b.messages.size());
      keys_staged = ContainsKeyProbe(h.assembler_.staging_bytes());
      for (uint32_t k = 0; k < b.messages.size(); ++k) {
        if (k != n / 2) REQUIRE(RouteNumber(b.messages[k]) == k);
      }
    });
    // Never more staging than the batch announced, grown by doubling.
    CHECK(h.assembler_.capacity() <= n);
  }
  CHECK(applied == n);
  CHECK(keys_staged);
  CHECK(h.assembler_.capacity() == 64);
  CHECK_FALSE(ContainsKeyProbe(h.assembler_.staging_bytes()));
}

TEST_CASE("a bad message anywhere in a grown batch refuses it whole and wipes the keys",
          "[channel][batch][stream]") {
  Harness h(100000, 64);
  const uint32_t n = 10000;
  for (uint32_t i = 0; i < n; ++i) {
    Message m = i == 10 ? GcmSaMessage(0x3000) : RouteMessage(i);
    if (i == n - 2) m.body.route.prefix_length = 40;
    h.Add(m, 4, i, n, i + 1 == n);
    if (i == 5000) CHECK(ContainsKeyProbe(h.assembler_.staging_bytes()));
    // After the fault nothing more is staged (and the keys staged before are gone).
    if (i == n - 2) CHECK_FALSE(ContainsKeyProbe(h.assembler_.staging_bytes()));
  }
  REQUIRE(h.verdicts.size() == 1);
  CHECK(h.verdicts[0].reason == RejectReason::kBadPrefixLength);
  CHECK(h.verdicts[0].failed_index == n - 2);
  CHECK(h.verdicts[0].routes.empty());
  CHECK(h.assembler_.capacity() == 64);
}

TEST_CASE("an unfinished grown batch discarded (its client died) leaves no keys",
          "[channel][batch][stream]") {
  Harness h(100000, 64);
  for (uint32_t i = 0; i < 3000; ++i) {
    h.Add(i % 100 == 0 ? GcmSaMessage(0x4000 + i) : RouteMessage(i), 9, i, 90000, false);
  }
  CHECK(h.assembler_.capacity() > 64);
  CHECK(ContainsKeyProbe(h.assembler_.staging_bytes()));
  CHECK(h.assembler_.Discard());
  CHECK(h.verdicts.empty());
  CHECK(h.assembler_.capacity() == 64);
  CHECK_FALSE(ContainsKeyProbe(h.assembler_.staging_bytes()));
}
