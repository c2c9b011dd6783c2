// One writer per output: a command that writes a folder (run, resume, plan -o, sweep, collect)
// or a file (platform -o) first takes an OS lock (fcntl) on a lock file there. The kernel drops
// the lock when the process dies, however it dies; a second writer gets util::InputError (exit 2)
// naming the folder and the holder's pid. The lock file is removed when the lock is released.
#pragma once

#include <string>

namespace fedgrid::util {

// Name of the lock file inside a locked folder.
constexpr const char* kLockFile = ".fedgrid-lock";

class OutputLock {
 public:
  OutputLock() = default;
  // `dir` (created with its parents if missing) for this process alone. InputError when `dir`
  // is not a folder (a file, a device), cannot be created or written, or is locked already.
  static OutputLock folder(const std::string& dir);
  // The file `path` (its folder created if missing); the lock file is PARENT/.NAME.fedgrid-lock.
  // InputError when `path` is a folder or its folder cannot be created, or when it is locked.
  static OutputLock file(const std::string& path);

  OutputLock(OutputLock&& o) noexcept;
  OutputLock& operator=(OutputLock&& o) noexcept;
  OutputLock(const OutputLock&) = delete;
  OutputLock& operator=(const OutputLock&) = delete;
  ~OutputLock();

  bool held() const { return fd_ >= 0; }
  void release();

 private:
  OutputLock(int fd, std::string lock_file) : fd_(fd), lock_file_(std::move(lock_file)) {}
  static OutputLock take(const std::string& lock_file, const std::string& target);
  int fd_ = -1;
  std::string lock_file_;
};

// Creates `dir` (and its parents) for output, or throws InputError "DIR: expected a folder ...,
// found ..." (an existing file or device, a path that cannot be created).
void make_output_folder(const std::string& dir, const std::string& what);

}  // namespace fedgrid::util
