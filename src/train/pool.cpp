// WorkerPool: one mutex-protected FIFO of tasks, N-1 workers, the waiting caller helps.
#include "train/pool.hpp"

#include <stdexcept>

namespace fedgrid::train {

WorkerPool::WorkerPool(int threads) : threads_(threads) {
  if (threads < 1) throw std::invalid_argument("WorkerPool: threads must be >= 1");
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  work_cv_.notify_all();
  for (auto& w : workers_) w.join();
}

void WorkerPool::submit(Task task) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back(std::move(task));
    ++pending_;
  }
  work_cv_.notify_one();
}

// Runs the front task with the lock released; returns false when the queue is empty.
bool WorkerPool::run_one(std::unique_lock<std::mutex>& lock, int index) {
  if (queue_.empty()) return false;
  Task task = std::move(queue_.front());
  queue_.pop_front();
  lock.unlock();
  std::exception_ptr err;
  try {
    task(index);
  } catch (...) {
    err = std::current_exception();
  }
  lock.lock();
  if (err && !error_) error_ = err;
  if (--pending_ == 0) done_cv_.notify_all();
  return true;
}

void WorkerPool::worker_loop(int index) {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    work_cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
    if (stop_) return;
    run_one(lock, index);
  }
}

void WorkerPool::wait_all() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (pending_ > 0) {
    if (!run_one(lock, 0)) done_cv_.wait(lock, [this] { return pending_ == 0 || !queue_.empty(); });
  }
  if (error_) {
    std::exception_ptr e = error_;
    error_ = nullptr;
    std::rethrow_exception(e);
  }
}

}  // namespace fedgrid::train
