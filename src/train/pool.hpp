// A small thread pool for the real math (gradients, evaluation chunks): N-1 worker threads plus
// the calling thread, which runs queued tasks while it waits. No SimGrid inside (tasks never
// call SimGrid); results are deterministic because every task writes its own output slot and
// callers combine the slots in a fixed order.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace fedgrid::train {

class WorkerPool {
 public:
  // A task gets the index of the thread that runs it: 0 = the waiting caller, 1..threads-1 =
  // workers (to pick per-thread scratch buffers).
  using Task = std::function<void(int thread)>;

  // threads >= 1 threads in all compute tasks (threads - 1 are started here).
  explicit WorkerPool(int threads);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  int threads() const { return threads_; }
  // Queues a task; a worker may start it at once. Thread-safe.
  void submit(Task task);
  // Returns once every task submitted so far has finished, running queued tasks on the calling
  // thread (thread index 0) meanwhile. Rethrows the first exception a task threw.
  void wait_all();

 private:
  void worker_loop(int index);
  bool run_one(std::unique_lock<std::mutex>& lock, int index);

  int threads_;
  std::mutex mutex_;
  std::condition_variable work_cv_;  // a task was queued, or stop
  std::condition_variable done_cv_;  // a task finished
  std::deque<Task> queue_;
  std::size_t pending_ = 0;  // queued + running
  bool stop_ = false;
  std::exception_ptr error_;
  std::vector<std::thread> workers_;
};

}  // namespace fedgrid::train
