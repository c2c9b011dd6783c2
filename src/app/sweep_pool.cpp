// Process pool for `fedgrid sweep`: fork/exec of /proc/self/exe per run, N at a time, reaped with
// waitpid; a progress line on stderr (redrawn in place on a terminal, one line per run otherwise).
#include "app/sweep_pool.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "app/commands.hpp"

namespace fedgrid::app {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int sig) { g_stop = sig; }

struct Job {
  pid_t pid = 0;
  std::size_t run = 0;
  Clock::time_point start;
};

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

std::string duration_text(double s) {
  char buf[32];
  const long t = static_cast<long>(s + 0.5);
  if (t >= 3600) {
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", t / 3600, t / 60 % 60);
  } else if (t >= 60) {
    std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%lds", t);
  }
  return buf;
}

// First line of a run's log: "$ " + the command (written by launch()).
constexpr const char* kCommandPrefix = "$ ";

// Starts this binary (argv[0] = exe) with `args`, stdout and stderr to `log`, stdin /dev/null.

pid_t launch(const std::string& exe, const std::vector<std::string>& args, const std::string& log) {
  std::vector<std::string> all{exe};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("sweep: cannot write " + log + ": " + std::strerror(errno));
  // The log opens with the command it is the output of (a fresh start or a --resume).
  std::string command = kCommandPrefix;
  for (std::size_t k = 0; k < all.size(); ++k) command += (k ? " " : "") + all[k];
  command += '\n';
  if (::write(fd, command.data(), command.size()) != static_cast<ssize_t>(command.size())) {
    ::close(fd);
    throw std::runtime_error("sweep: cannot write " + log + ": " + std::strerror(errno));
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fd);
    throw std::runtime_error(std::string("sweep: fork failed: ") + std::strerror(errno));
  }
  if (pid == 0) {  // child: only async-signal-safe calls until exec
    const int in = ::open("/dev/null", O_RDONLY);
    if (in >= 0) ::dup2(in, 0);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    ::execv("/proc/self/exe", argv.data());  // this very binary, even if rebuilt meanwhile
    const char msg[] = "fedgrid sweep: exec of the fedgrid binary failed\n";
    ssize_t ignored = ::write(2, msg, sizeof msg - 1);
    (void)ignored;
    ::_exit(127);
  }
  ::close(fd);
  return pid;
}

// Why a finished run failed ("" if it did not): exit status, signal, or a SimGrid deadlock.
std::string failure(int status, const std::string& log) {
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  // Exit 3: the run diverged, a result (index.csv says 'diverged'), not a failure.
  if (WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != kExitDiverged) {
    return "exit " + std::to_string(WEXITSTATUS(status));
  }
  std::ifstream in(log);
  for (std::string line; std::getline(in, line);) {
    if (line.find("Deadlock detected") != std::string::npos) return "SimGrid deadlock";
  }
  return "";
}

// The run's last output line (not the command line launch() put first).
std::string last_line(const std::string& log) {
  std::ifstream in(log);
  std::string line, last;
  for (bool first = true; std::getline(in, line); first = false) {
    if (!line.empty() && !(first && line.rfind(kCommandPrefix, 0) == 0)) last = line;
  }
  return last;
}

class Progress {
 public:
  Progress(std::size_t total, std::size_t skipped, bool quiet)
      : total_(total), done_(skipped), skipped_(skipped), quiet_(quiet), tty_(isatty(2) != 0) {}

  void finished(const std::string& id, double wall, const std::string& why,
                const std::string& log) {
    ++done_;
    if (why.empty()) {
      walls_ += wall;
      ++ran_;
    } else {
      ++failed_;
    }
    clear();
    if (!why.empty()) {
      std::fprintf(stderr, "[sweep] %zu/%zu %s FAILED (%s) after %.1f s, see %s\n        %s\n",
                   done_, total_, id.c_str(), why.c_str(), wall, log.c_str(),
                   last_line(log).c_str());
    } else if (!tty_ && !quiet_) {
      std::fprintf(stderr, "[sweep] %zu/%zu %s done in %.1f s\n", done_, total_, id.c_str(), wall);
    }
  }

  // Redraws the status line on a terminal (at most every `every` seconds unless forced).
  void draw(std::size_t running, int jobs, bool force) {
    if (!tty_ || quiet_ || (!force && seconds_since(last_draw_) < 1.0)) return;
    last_draw_ = Clock::now();
    std::string eta;
    if (ran_ > 0) {
      const double left = (walls_ / ran_) * static_cast<double>(total_ - done_) / jobs;
      eta = ", about " + duration_text(left) + " left";
    }
    std::fprintf(stderr,
                 "\r\033[K[sweep] %zu/%zu done (%zu skipped, %zu failed), %zu running, %s%s", done_,
                 total_, skipped_, failed_, running, duration_text(seconds_since(start_)).c_str(),
                 eta.c_str());
    std::fflush(stderr);
  }

  void clear() const {
    if (tty_ && !quiet_) std::fputs("\r\033[K", stderr);
  }

 private:
  std::size_t total_, done_, skipped_, failed_ = 0, ran_ = 0;
  bool quiet_, tty_;
  double walls_ = 0;
  Clock::time_point start_ = Clock::now(), last_draw_;
};

// Books the end of child `pid`: failure check, progress report, removal from `running`.
void reap(pid_t pid, int status, const std::vector<RunSpec>& runs, const std::string& out_dir,
          std::vector<Job>& running, std::vector<std::string>& failed, Progress& progress) {
  for (auto it = running.begin(); it != running.end(); ++it) {
    if (it->pid != pid) continue;
    const std::string& id = runs[it->run].id;
    const std::string log = out_dir + "/logs/" + id + ".log";
    const std::string why = failure(status, log);
    if (!why.empty()) failed.push_back(id);
    progress.finished(id, seconds_since(it->start), why, log);
    running.erase(it);
    return;
  }
}

}  // namespace

std::string self_executable() {
  std::error_code ec;
  fs::path p = fs::read_symlink("/proc/self/exe", ec);
  if (ec) throw std::runtime_error("sweep: cannot read /proc/self/exe: " + ec.message());
  return p.string();
}

std::vector<std::string> prepare_run(const RunSpec& run, const RunExpectation& expect,
                                     const std::string& out_dir, int threads) {
  const std::string dir = out_dir + "/runs/" + run.id;
  const bool resume = run_can_resume(dir, expect);
  // What the folder holds is not this run (stale, or a checkpoint of another scenario): the
  // sweep replaces it, which `fedgrid run` does only when told.
  const bool force =
      !resume && (fs::exists(dir + "/checkpoint") || fs::exists(dir + "/summary.json"));
  fs::remove(dir + "/summary.json");
  if (resume) {  // a stopped run continues from its checkpoint, with its own options
    std::vector<std::string> a{"run",     "--resume",  dir,
                               "--quiet", "--threads", std::to_string(threads)};
    a.insert(a.end(), run.flags.begin(), run.flags.end());
    return a;
  }
  std::vector<std::string> a = {
      "run", run.base, "-o", dir, "--quiet", "--threads", std::to_string(threads)};
  if (force) a.push_back("--force");
  a.insert(a.end(), run.flags.begin(), run.flags.end());
  for (const auto& s : run.assignments()) {
    a.push_back("--set");
    a.push_back(s);
  }
  return a;
}

std::vector<std::string> run_pool(const std::vector<RunSpec>& runs,
                                  const std::vector<RunExpectation>& expect,
                                  const std::string& out_dir, int jobs, int threads, bool quiet) {
  std::vector<std::size_t> todo;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    if (!run_is_finished(out_dir + "/runs/" + runs[i].id, expect[i])) todo.push_back(i);
  }
  fs::create_directories(out_dir + "/logs");
  fs::create_directories(out_dir + "/runs");
  const std::string exe = self_executable();
  Progress progress(runs.size(), runs.size() - todo.size(), quiet);
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  std::vector<Job> running;
  std::vector<std::string> failed;
  std::size_t next = 0;
  while (true) {
    while (!g_stop && static_cast<int>(running.size()) < jobs && next < todo.size()) {
      const std::size_t i = todo[next++];
      running.push_back({launch(exe, prepare_run(runs[i], expect[i], out_dir, threads),
                                out_dir + "/logs/" + runs[i].id + ".log"),
                         i, Clock::now()});
      progress.draw(running.size(), jobs, true);
    }
    if (running.empty()) break;
    if (g_stop) {
      progress.clear();
      std::fprintf(stderr, "[sweep] interrupted: stopping %zu runs\n", running.size());
      for (const auto& j : running) ::kill(j.pid, SIGTERM);
      for (const auto& j : running) ::waitpid(j.pid, nullptr, 0);
      break;
    }
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) {
      ::usleep(100000);
      progress.draw(running.size(), jobs, false);
      continue;
    }
    reap(pid, status, runs, out_dir, running, failed, progress);
    progress.draw(running.size(), jobs, true);
  }
  progress.clear();
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  return failed;
}

}  // namespace fedgrid::app
