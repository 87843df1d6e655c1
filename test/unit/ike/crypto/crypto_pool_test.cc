// CryptoPool: jobs run on workers, finish on the draining thread in submission order, the queue
// is bounded, and a pool destroyed with jobs in flight finishes none of them.
#include "ike/crypto/crypto_pool.h"

#include <poll.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

using namespace portcullis::ike;

namespace {

// A gate jobs wait at in Run until opened.
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  void Open() {
    std::lock_guard<std::mutex> l(mu);
    open = true;
    cv.notify_all();
  }
  void Wait() {
    std::unique_lock<std::mutex> l(mu);
    cv.wait(l, [&] { return open; });
  }
};

struct Record {
  std::mutex mu;
  std::vector<int> finished;
  std::atomic<int> started{0}, ran{0}, destroyed{0};
  std::thread::id loop = std::this_thread::get_id();
  std::atomic<bool> ran_on_loop{false}, finished_off_loop{false};
};

class TestJob : public CryptoPool::Job {
 public:
  TestJob(int id, Record& r, Gate* gate = nullptr) : id_(id), r_(r), gate_(gate) {}
  ~TestJob() override { ++r_.destroyed; }
  void Run() override {
    if (std::this_thread::get_id() == r_.loop) r_.ran_on_loop = true;
    ++r_.started;
    if (gate_ != nullptr) gate_->Wait();
    ++r_.ran;
  }
  void Finish() override {
    if (std::this_thread::get_id() != r_.loop) r_.finished_off_loop = true;
    std::lock_guard<std::mutex> l(r_.mu);
    r_.finished.push_back(id_);
  }

 private:
  int id_;
  Record& r_;
  Gate* gate_;
};

bool Submit(CryptoPool& p, int id, Record& r, Gate* g = nullptr) {
  std::unique_ptr<CryptoPool::Job> j = std::make_unique<TestJob>(id, r, g);
  return p.Submit(&j);
}

bool Readable(int fd, int timeout_ms) {
  pollfd f{fd, POLLIN, 0};
  return poll(&f, 1, timeout_ms) == 1 && (f.revents & POLLIN);
}

}  // namespace

TEST_CASE("crypto pool: results finish on the draining thread, in submission order",
          "[crypto_pool]") {
  Record r;
  Gate first;
  CryptoPool pool(2, 16);
  REQUIRE(Submit(pool, 1, r, &first));  // held at the gate on one worker
  for (int i = 2; i <= 6; ++i) REQUIRE(Submit(pool, i, r));
  // The later jobs run on the other worker, but none finishes before job 1.
  for (int i = 0; i < 200 && r.ran < 5; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  REQUIRE(r.ran == 5);
  CHECK_FALSE(Readable(pool.fd(), 50));
  CHECK(pool.Drain() == 0);
  CHECK(r.finished.empty());
  first.Open();
  REQUIRE(Readable(pool.fd(), 5000));  // the eventfd wakes the loop once the front is done
  pool.DrainAll();
  CHECK(r.finished == std::vector<int>{1, 2, 3, 4, 5, 6});
  CHECK_FALSE(r.ran_on_loop);
  CHECK_FALSE(r.finished_off_loop);
  CHECK(r.destroyed == 6);
  CHECK(pool.pending() == 0);
  CHECK(pool.stats().submitted == 6);
  CHECK(pool.stats().finished == 6);
  CHECK_FALSE(Readable(pool.fd(), 0));  // drained: nothing left to wake for
}

TEST_CASE("crypto pool: a full queue refuses the job and gives it back, counted", "[crypto_pool]") {
  Record r;
  Gate gate;
  CryptoPool pool(1, 2);
  REQUIRE(Submit(pool, 1, r, &gate));
  REQUIRE(Submit(pool, 2, r));
  std::unique_ptr<CryptoPool::Job> third = std::make_unique<TestJob>(3, r);
  CHECK_FALSE(pool.Submit(&third));
  REQUIRE(third != nullptr);  // the caller still has it and computes itself
  CHECK(pool.stats().refused == 1);
  CHECK(pool.stats().peak == 2);
  gate.Open();
  pool.DrainAll();
  // Room again once drained (not merely run): results waiting for the loop count too.
  CHECK(pool.Submit(&third));
  pool.DrainAll();
  CHECK(r.finished == std::vector<int>{1, 2, 3});
}

TEST_CASE("crypto pool: destroyed with jobs running, queued and done, it finishes none",
          "[crypto_pool]") {
  Record r;
  Gate gate;
  std::thread opener;
  {
    CryptoPool pool(1, 16);
    REQUIRE(Submit(pool, 1, r));  // done, not drained
    for (int i = 0; i < 200 && r.ran < 1; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    REQUIRE(Submit(pool, 2, r, &gate));  // running at the gate
    for (int i = 0; i < 400 && r.started < 2; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    REQUIRE(r.started == 2);
    for (int i = 3; i <= 5; ++i) REQUIRE(Submit(pool, i, r));  // queued behind it
    opener = std::thread([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      gate.Open();
    });
  }  // joins the worker once job 2 returns; 3-5 never run
  opener.join();
  CHECK(r.finished.empty());
  CHECK(r.ran == 2);
  CHECK(r.destroyed == 5);
}

TEST_CASE("crypto pool: Drain finishes at most what it is given room for, the rest later",
          "[crypto_pool]") {
  Record r;
  CryptoPool pool(1, 16);
  for (int i = 1; i <= 5; ++i) REQUIRE(Submit(pool, i, r));
  for (int i = 0; i < 400 && r.ran < 5; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  REQUIRE(r.ran == 5);
  CHECK(pool.Drain(2) == 2);
  CHECK(pool.pending() == 3);
  CHECK(pool.Drain(0) == 0);
  CHECK(pool.Drain() == 3);  // no new wake-up needed: what is done is taken
  CHECK(r.finished == std::vector<int>{1, 2, 3, 4, 5});
}
