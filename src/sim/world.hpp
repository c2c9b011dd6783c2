// The SimGrid world of one run: platform (XML, or host slots for sampled populations), what each
// client's link and speed imply (upload margin, P_u, B_u), and the client slot actors.
#pragma once

#include <string>
#include <vector>

#include "sim/context.hpp"

namespace fedgrid::sim {

// Speed of every host slot (flop/s); a client's work is scaled by kSlotSpeed / its own speed.
constexpr double kSlotSpeed = 1e9;
// Stacks of the slot actors (KiB): they make SimGrid calls only (no math, no exceptions), and
// measured at most 3.6 KiB of stack. Without guard pages (more than ~30k slots) an overflow
// would go unnoticed, so 12 KiB leaves a 3x margin at 12 KiB of memory per slot.
constexpr int kSlotStackKiB = 32;
constexpr int kSlotStackNoGuardKiB = 12;

struct World {
  std::string platform_file;  // loaded XML; empty with host slots
  double heterogeneity = 0;   // CV of the client speeds (NaN for a given XML file)
  bool host_slots = false;
  std::vector<fl::ClientInfo> infos;  // per client, for the Algorithm
};

// Loads or builds the platform and fills ctx.server_host, ctx.client_hosts (per-client hosts)
// or ctx.slots' hosts and links (host slots, `slots` of them), ctx.clients and World::infos.
// Host slots are used for a generated platform when fewer than all clients take part in a
// round: only `slots` hosts exist and each round they take the selected clients' parameters,
// so memory does not grow with the population. Throws util::InputError for bad platforms.
World build_world(sg4::Engine& engine, Context& ctx, const std::string& out_dir, int slots);

// Creates the slot actors (small stacks, no math on them) and their mailboxes.
void create_slots(Context& ctx, int slots);

}  // namespace fedgrid::sim
