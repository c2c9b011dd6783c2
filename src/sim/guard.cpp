// The server actor's exception guard and the temporary folder of `fedgrid plan` (see guard.hpp).
#include "sim/guard.hpp"

#include <filesystem>
#include <simgrid/Exception.hpp>

#include "sim/async.hpp"

namespace fedgrid::sim {

void guarded_server_actor(Context* ctx) {
  try {
    if (ctx->async)
      async_server_actor(ctx);
    else
      server_actor(ctx);
  } catch (const simgrid::ForcefulKillException&) {
    throw;  // SimGrid's own way of ending an actor
  } catch (...) {
    ctx->results.failure = std::current_exception();
    sg4::Actor::kill_all();  // the slots, the NIC and the deadline keeper: nothing runs on
  }
}

TempFolder::~TempFolder() {
  if (path_.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace fedgrid::sim
