#include "ike/crypto/dh_key_pool.h"

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

namespace portcullis::ike {

namespace {

struct Pool {
  std::mutex mu;
  std::condition_variable work;
  bool running = false, stop = false;
  size_t depth = 0;
  std::map<DhGroup, std::deque<std::unique_ptr<DhKeyPair>>> ready;  // a key per group asked for
  std::vector<std::thread> threads;
  DhKeyPool::Stats stats;

  // A group below depth, if any (under mu).
  bool Wanted(DhGroup* out) {
    for (auto& [g, q] : ready) {
      if (q.size() < depth) {
        *out = g;
        return true;
      }
    }
    return false;
  }

  void Worker() {
    std::unique_lock<std::mutex> l(mu);
    for (;;) {
      DhGroup g{};
      work.wait(l, [&] { return stop || Wanted(&g); });
      if (stop) return;
      l.unlock();
      auto kp = GenerateDhKeyPairNow(g);
      l.lock();
      if (!kp.ok()) {
        ready.erase(g);  // not a group this build can make: stop trying
        continue;
      }
      ready[g].push_back(*std::move(kp));
      ++stats.made;
    }
  }
};

Pool& P() {
  static Pool* p = new Pool();  // never destroyed: workers may outlive static destructors
  return *p;
}

}  // namespace

void DhKeyPool::Start(int threads, size_t depth) {
  Pool& p = P();
  std::lock_guard<std::mutex> l(p.mu);
  if (p.running || threads <= 0 || depth == 0) return;
  p.running = true;
  p.stop = false;
  p.depth = depth;
  for (int i = 0; i < threads; ++i) p.threads.emplace_back([&p] { p.Worker(); });
}

void DhKeyPool::Stop() {
  Pool& p = P();
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> l(p.mu);
    if (!p.running) return;
    p.stop = true;
    threads.swap(p.threads);
  }
  p.work.notify_all();
  for (std::thread& t : threads) t.join();
  std::lock_guard<std::mutex> l(p.mu);
  p.ready.clear();
  p.running = false;
  p.stats = {};
}

std::unique_ptr<DhKeyPair> DhKeyPool::Take(DhGroup group) {
  Pool& p = P();
  std::unique_ptr<DhKeyPair> out;
  {
    std::lock_guard<std::mutex> l(p.mu);
    if (!p.running) return nullptr;
    std::deque<std::unique_ptr<DhKeyPair>>& q = p.ready[group];
    if (q.empty()) {
      ++p.stats.missed;
    } else {
      out = std::move(q.front());
      q.pop_front();
      ++p.stats.taken;
    }
  }
  p.work.notify_one();
  return out;
}

DhKeyPool::Stats DhKeyPool::GetStats() {
  Pool& p = P();
  std::lock_guard<std::mutex> l(p.mu);
  return p.stats;
}

}  // namespace portcullis::ike
