#include "ike/crypto/crypto_pool.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>

namespace portcullis::ike {

CryptoPool::CryptoPool(int threads, size_t max_jobs) : max_jobs_(std::max<size_t>(max_jobs, 1)) {
  efd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  for (int i = 0; i < std::max(threads, 1); ++i) threads_.emplace_back([this] { Worker(); });
}

CryptoPool::~CryptoPool() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  work_.notify_all();
  for (std::thread& t : threads_) t.join();
  // Jobs not run, and results nobody drained, go unfinished: the SAs they were for are going
  // with the loop that owned them.
  slots_.clear();
  if (efd_ >= 0) close(efd_);
}

bool CryptoPool::Submit(std::unique_ptr<Job>* job) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (slots_.size() >= max_jobs_ || stop_) {
      ++stats_.refused;
      return false;
    }
    auto slot = std::make_shared<Slot>();
    slot->job = std::move(*job);
    slots_.push_back(std::move(slot));
    ++stats_.submitted;
    stats_.peak = std::max(stats_.peak, slots_.size());
  }
  work_.notify_one();
  return true;
}

void CryptoPool::Worker() {
  std::unique_lock<std::mutex> l(mu_);
  for (;;) {
    std::shared_ptr<Slot> slot;
    // Jobs start in submission order, so the ones not started are the slots from started_ on.
    work_.wait(l, [&] { return stop_ || started_ < slots_.size(); });
    if (stop_) return;
    slot = slots_[started_++];
    slot->started = true;
    l.unlock();
    slot->job->Run();
    l.lock();
    slot->done = true;
    // Wake the loop only when the front can move: a later job done waits for the earlier one.
    if (!slots_.empty() && slots_.front()->done) {
      uint64_t one = 1;
      ssize_t w = write(efd_, &one, sizeof one);
      (void)w;  // the counter only saturates after 2^64 - 2 wake-ups
    }
    done_.notify_all();
  }
}

size_t CryptoPool::Drain(size_t max) {
  uint64_t n;
  ssize_t r = read(efd_, &n, sizeof n);  // reset before taking, so a later finish wakes again
  (void)r;
  size_t finished = 0;
  while (finished < max) {
    std::unique_ptr<Job> job;
    {
      std::lock_guard<std::mutex> l(mu_);
      if (slots_.empty() || !slots_.front()->done) break;
      job = std::move(slots_.front()->job);
      slots_.pop_front();
      --started_;
      ++stats_.finished;
    }
    work_.notify_one();  // room in the queue
    job->Finish();       // outside the lock: it may submit again
    ++finished;
  }
  return finished;
}

size_t CryptoPool::DrainAll() {
  size_t finished = 0;
  for (;;) {
    {
      std::unique_lock<std::mutex> l(mu_);
      done_.wait(l, [&] { return slots_.empty() || slots_.front()->done; });
      if (slots_.empty()) return finished;
    }
    finished += Drain();
  }
}

size_t CryptoPool::pending() const {
  std::lock_guard<std::mutex> l(mu_);
  return slots_.size();
}

CryptoPool::Stats CryptoPool::stats() const {
  std::lock_guard<std::mutex> l(mu_);
  return stats_;
}

}  // namespace portcullis::ike
