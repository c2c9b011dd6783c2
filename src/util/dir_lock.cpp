// Output locks (see dir_lock.hpp): fcntl(F_SETLK) write locks, which F_GETLK can name the holder
// of, on a lock file that holds the holder's pid for filesystems where F_GETLK cannot tell.
#include "util/dir_lock.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "util/error.hpp"

namespace fedgrid::util {

namespace fs = std::filesystem;

namespace {

std::string kind_of(const fs::file_status& st) {
  switch (st.type()) {
    case fs::file_type::regular:
      return "a file";
    case fs::file_type::character:
      return "a character device";
    case fs::file_type::block:
      return "a block device";
    case fs::file_type::fifo:
      return "a pipe";
    case fs::file_type::socket:
      return "a socket";
    case fs::file_type::directory:
      return "a folder";
    default:
      return "something else";
  }
}

// The pid the lock file names (written by its holder), or "" if unreadable.
std::string written_pid(int fd) {
  char buf[32] = {0};
  const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  std::string s(buf, n > 0 ? static_cast<std::size_t>(n) : 0);
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

bool same_file(int fd, const std::string& path) {
  struct stat a {};
  struct stat b {};
  return ::fstat(fd, &a) == 0 && ::stat(path.c_str(), &b) == 0 && a.st_dev == b.st_dev &&
         a.st_ino == b.st_ino;
}

}  // namespace

void make_output_folder(const std::string& dir, const std::string& what) {
  std::error_code ec;
  const fs::file_status st = fs::status(dir, ec);
  if (fs::exists(st) && !fs::is_directory(st)) {
    throw_input_error(dir, 0, "", "a folder for " + what, kind_of(st));
  }
  fs::create_directories(dir, ec);
  if (ec)
    throw_input_error(dir, 0, "", "a folder for " + what + " that can be created", ec.message());
}

OutputLock OutputLock::folder(const std::string& dir) {
  make_output_folder(dir, "the results");
  return take((fs::path(dir) / kLockFile).string(), dir);
}

OutputLock OutputLock::file(const std::string& path) {
  std::error_code ec;
  const fs::path p(path);
  if (p.filename().empty() || fs::is_directory(p, ec)) {
    throw_input_error(path, 0, "", "a file name", fs::is_directory(p, ec) ? "a folder" : "none");
  }
  const fs::path parent = p.has_parent_path() ? p.parent_path() : fs::path(".");
  make_output_folder(parent.string(), "'" + p.filename().string() + "'");
  return take((parent / ("." + p.filename().string() + ".fedgrid-lock")).string(), path);
}

OutputLock OutputLock::take(const std::string& lock_file, const std::string& target) {
  for (int attempt = 0;; ++attempt) {
    const int fd = ::open(lock_file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) {
      throw_input_error(target, 0, "", "a place this user can write", std::strerror(errno));
    }
    struct flock fl {};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    if (::fcntl(fd, F_SETLK, &fl) != 0) {
      const int err = errno;
      if (err != EACCES && err != EAGAIN) {  // e.g. ENOLCK: a filesystem without locks
        std::fprintf(stderr,
                     "[fedgrid] warning: cannot lock %s (%s): make sure no other process "
                     "writes there\n",
                     target.c_str(), std::strerror(err));
        return OutputLock(fd, "");
      }
      struct flock who {};
      who.l_type = F_WRLCK;
      who.l_whence = SEEK_SET;
      const bool known = ::fcntl(fd, F_GETLK, &who) == 0 && who.l_type != F_UNLCK && who.l_pid > 0;
      const std::string pid = known ? std::to_string(who.l_pid) : written_pid(fd);
      ::close(fd);
      if (!known && attempt < 20 && pid.empty()) continue;  // released meanwhile: try again
      throw_input_error(target, 0, "", "no other process writing there",
                        "another fedgrid process (pid " + (pid.empty() ? "?" : pid) + ") holding " +
                            lock_file +
                            "; wait for it to end or stop it (two writers would mix their files)");
    }
    // The previous holder removes the file when it releases the lock: if the name now points
    // elsewhere, this lock is on a file nobody else will ever open. Start over.
    if (!same_file(fd, lock_file)) {
      ::close(fd);
      if (attempt < 100) continue;
      throw_input_error(target, 0, "", "a lock file that stays in place",
                        lock_file + " keeps changing");
    }
    const std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
      const int err = errno;
      ::close(fd);
      throw_system_error("write", lock_file, err);
    }
    return OutputLock(fd, lock_file);
  }
}

OutputLock::OutputLock(OutputLock&& o) noexcept : fd_(o.fd_), lock_file_(std::move(o.lock_file_)) {
  o.fd_ = -1;
}

OutputLock& OutputLock::operator=(OutputLock&& o) noexcept {
  if (this != &o) {
    release();
    fd_ = o.fd_;
    lock_file_ = std::move(o.lock_file_);
    o.fd_ = -1;
  }
  return *this;
}

OutputLock::~OutputLock() { release(); }

void OutputLock::release() {
  if (fd_ < 0) return;
  if (!lock_file_.empty()) ::unlink(lock_file_.c_str());  // while still holding the lock
  ::close(fd_);
  fd_ = -1;
}

}  // namespace fedgrid::util
