// Atomic access to plain integer fields of the shared segment. The segment is laid out as
// plain structs (it is a wire format between processes), so atomicity is applied at each
// access with std::atomic_ref rather than baked into the types; lock-free atomics on mapped
// memory work across processes.
#pragma once

#include <atomic>

namespace portcullis::dp::api {

template <typename T>
T LoadShared(const T& field, std::memory_order order = std::memory_order_seq_cst) {
  return std::atomic_ref<T>(const_cast<T&>(field)).load(order);
}

template <typename T>
void StoreShared(T& field, T value, std::memory_order order = std::memory_order_seq_cst) {
  std::atomic_ref<T>(field).store(value, order);
}

// On failure `expected` receives the current value.
template <typename T>
bool CasShared(T& field, T& expected, T desired) {
  return std::atomic_ref<T>(field).compare_exchange_strong(expected, desired);
}

// Counters are written by one process (the server) except where noted, and read by anyone;
// relaxed is enough for statistics.
template <typename T>
void AddShared(T& field, T delta) {
  std::atomic_ref<T>(field).fetch_add(delta, std::memory_order_relaxed);
}

}  // namespace portcullis::dp::api
