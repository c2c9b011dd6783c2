// Exceptions inside SimGrid actors abort the process (SimGrid 3.32 calls std::terminate): the
// server actor runs behind this guard, which keeps the exception for run_simulation to rethrow
// after the engine has stopped (a full disk becomes one message and exit 1, not SIGABRT).
#pragma once

#include <string>

#include "sim/context.hpp"

namespace fedgrid::sim {

// Runs server_actor(ctx); if it throws, stores the exception in ctx->failure and kills every
// other actor, so that the engine ends at once.
void guarded_server_actor(Context* ctx);

// Removes a temporary folder (path not empty) when it goes out of scope, however the scope ends.
class TempFolder {
 public:
  explicit TempFolder(std::string path) : path_(std::move(path)) {}
  TempFolder(const TempFolder&) = delete;
  TempFolder& operator=(const TempFolder&) = delete;
  ~TempFolder();

 private:
  std::string path_;
};

}  // namespace fedgrid::sim
