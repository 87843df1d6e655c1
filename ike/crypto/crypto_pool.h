// The IKE crypto that depends on the peer's message (the DH shared secret g^ir, SKEYSEED and the
// SK_* key schedule) computed on worker threads instead of on the event loop. A job owns copies
// of everything it computes from (its own DH key pair, the peer's public value, the nonces) and
// never sees an IKE SA: Run() on a worker only computes; Finish() runs on the loop (Drain, when
// fd() is readable) and looks the SA up again by its SPI, dropping the result when the SA has
// gone meanwhile. Results are finished in the order the jobs were submitted. The queue is
// bounded: Submit refuses a job beyond `max_jobs` (counted), and the caller then computes on its
// own thread, which slows the loop down instead of queueing without bound. Destroying the pool
// joins the workers; jobs not finished are destroyed unfinished (their secrets wiped by their
// SecretBytes).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace portcullis::ike {

class CryptoPool {
 public:
  class Job {
   public:
    virtual ~Job() = default;
    // On a worker thread: computes from what the job owns, touches nothing shared.
    virtual void Run() = 0;
    // On the thread that calls Drain (the event loop), after Run.
    virtual void Finish() = 0;
  };

  struct Stats {
    uint64_t submitted = 0;
    uint64_t finished = 0;
    uint64_t refused = 0;  // Submit found `max_jobs` waiting or running: the caller computed
    size_t peak = 0;       // most jobs queued, running or waiting for Drain at once
  };

  // `threads` workers (at least 1); at most `max_jobs` jobs submitted and not yet drained.
  CryptoPool(int threads, size_t max_jobs);
  ~CryptoPool();
  CryptoPool(const CryptoPool&) = delete;
  CryptoPool& operator=(const CryptoPool&) = delete;

  // False (and the job is given back untouched in *job) when the queue is full.
  bool Submit(std::unique_ptr<Job>* job);
  // An eventfd, readable while finished jobs wait for Drain; -1 if none could be made (then
  // nothing would ever wake the loop: the owner must not use the pool).
  int fd() const { return efd_; }
  // Finishes the jobs that are done, in submission order (a later job that is done waits for
  // an earlier one still running), at most `max`; returns how many. It consumes the eventfd's
  // wake-up: a caller that limits `max` calls again later for the rest (vpnd: every Poll).
  size_t Drain(size_t max = SIZE_MAX);
  // Blocks until every submitted job has run, then drains (tests, shutdown).
  size_t DrainAll();
  size_t pending() const;
  Stats stats() const;
  int threads() const { return static_cast<int>(threads_.size()); }

 private:
  struct Slot {
    std::unique_ptr<Job> job;
    bool started = false, done = false;
  };
  void Worker();

  const size_t max_jobs_;
  int efd_ = -1;
  mutable std::mutex mu_;
  std::condition_variable work_, done_;
  bool stop_ = false;
  // Submission order; workers run the first not started, Drain pops done ones from the front.
  std::deque<std::shared_ptr<Slot>> slots_;
  size_t started_ = 0;  // slots_[0, started_) have been taken by a worker
  Stats stats_;
  std::vector<std::thread> threads_;
};

}  // namespace portcullis::ike
