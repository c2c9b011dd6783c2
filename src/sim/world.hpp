// The SimGrid world of one run: the platform (a given XML file, or the generated star built in
// place, as host slots for sampled populations), what each client's link and speed imply (upload
// margin, P_u, B_u), and the client slot actors.
#pragma once

#include <string>
#include <vector>

#include "sim/context.hpp"

namespace fedgrid::sim {

// Speed of every host slot (flop/s); a client's work is scaled by kSlotSpeed / its own speed.
constexpr double kSlotSpeed = 1e9;
// Stacks of the slot actors (KiB). Slots only make SimGrid calls (no math); their measured stack
// high-water mark is 4.1 KiB, 8.1 KiB when a wait ends with an exception (a transfer cancelled by
// the deadline keeper, client.cpp; rare). With guard pages an overflow is caught; without them
// (beyond ~30k slots, see run.cpp) it would not be, and only the touched pages of a stack are
// resident (16 KiB instead of 12 cost 3 MB of RSS with 100k slots): 16 KiB keeps a 2x margin.
constexpr int kSlotStackKiB = 32;
constexpr int kSlotStackNoGuardKiB = 16;

struct World {
  std::string platform_file;  // loaded XML; empty with host slots
  double heterogeneity = 0;   // CV of the client host speeds (every kind of platform)
  // CV of the clients' estimated communication times (download + upload of the model).
  double comm_heterogeneity = 0;
  bool host_slots = false;
  std::vector<fl::ClientInfo> infos;  // per client, for the Algorithm
};

// Loads or builds the platform and fills ctx.server_host, ctx.client_hosts (per-client hosts)
// or ctx.slots' hosts and links (host slots, `slots` of them), ctx.clients and World::infos.
// Host slots are used for a generated platform when fewer than all clients take part in a
// round: only `slots` hosts exist and each round they take the selected clients' parameters,
// so memory does not grow with the population. Throws util::InputError for bad platforms.
World build_world(sg4::Engine& engine, Context& ctx, const std::string& out_dir, int slots);

// Client id of a host named "client-<u>", or -1 for any other host.
int client_of(const std::string& host_name);

// Creates the slot actors (small stacks, no math on them) and their mailboxes.
void create_slots(Context& ctx, int slots);

}  // namespace fedgrid::sim
