// Per-client platforms read from files: FedGrid's clients CSV (speed and link of each client,
// optionally when it is on) and FedScale's device capacity profiles and behaviour traces in
// their textual (CSV) export. A table is turned into a star Platform once the model's work and
// bytes and SimGrid's network factors are known (resolve); docs/device-traces.md has the formats.
#pragma once

#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "platform/platform.hpp"

namespace fedgrid::platform {

// How a client's link is given.
enum class LinkForm {
  kLink,      // bandwidth (bytes/s) and latency (s) a transfer gets: S bytes take latency + S / bw
  kCommTime,  // comm_time: seconds to download the model and upload a full update (half each)
  kRate,      // a rate (bytes/s) a transfer gets, no latency (FedScale's kbps x 125)
};

struct ClientEntry {
  double speed = 0;        // flop/s; 0 when sample_time is given instead
  double sample_time = 0;  // s one sample takes through every stage (FedScale); 0 when speed
  LinkForm link = LinkForm::kLink;
  double bandwidth = 0;  // kLink, kRate: bytes/s
  double latency = 0;    // kLink: s
  double comm_time = 0;  // kCommTime: s
  std::string where;     // "FILE:LINE" of its row, for errors found when resolving
};

struct ClientTable {
  std::vector<ClientEntry> clients;  // client u at index u
};

// When a device is on: [start, end) intervals in time order (end may be inf), repeating every
// `period` seconds (inf: no repetition). No interval at all: never on.
struct OnIntervals {
  std::vector<std::pair<double, double>> on;
  double period = std::numeric_limits<double>::infinity();
};

// FedGrid's clients CSV: header with `client` and `speed` (flop/s), then either `bandwidth`
// (bytes/s) and `latency` (s) or `comm_time` (s), and optionally `active` (";"-separated
// `start:end` intervals in seconds when the device is on, `end` may be `inf`; an empty cell:
// always on). One row per client 0 .. clients-1, each exactly once. Fills `active` (one entry
// per client) when the column is there and `active` is not null. Throws util::InputError
// (FILE:LINE:COLUMN) for any problem.
ClientTable read_clients_csv(const std::string& path, int clients,
                             std::vector<OnIntervals>* active = nullptr,
                             bool* has_active = nullptr);

// True when the clients CSV at `path` has an `active` column (reads only its header).
bool clients_csv_has_active(const std::string& path);

// FedScale's device capacity profile, CSV export: header `client_id,computation,communication`
// (FedScale's dict keys: ms per sample of inference, kbps). FedGrid client u takes FedScale
// client u + 1 (FedScale numbers clients from 1); rows for other ids are ignored, a missing or
// repeated id is an error. One sample's training takes augmentation x computation ms (FedScale's
// 3x: forward + backward), a transfer of S bytes takes 8 S / (1000 x communication) s.
ClientTable read_fedscale_capacity(const std::string& path, int clients, double augmentation);

// FedScale's behaviour trace, CSV export: header `client_id,active,inactive,finish_time`, one row
// per interval [active, inactive] (s) when FedScale client id is available, repeating every
// finish_time s (the same on every row of a client). Client u takes FedScale client u + 1;
// every one of them needs at least one row; intervals per client in time order, not overlapping,
// within [0, finish_time].
std::vector<OnIntervals> read_fedscale_behaviour(const std::string& path, int clients);

// SimGrid's network factors (LV08: 13.01 x latency, 0.97 x bandwidth) and TCP window (bytes).
struct NetworkFactors {
  double latency = 13.01;
  double bandwidth = 0.97;
  double tcp_gamma = 4194304;
};

struct ResolveParams {
  double sample_work = 1;  // flop of one sample through every stage (sum of the stages' work)
  double model_bytes = 0;  // bytes of one model transfer
  NetworkFactors net;
  double server_speed = 1e12;
};

// The star platform with the SimGrid link parameters that give each client the times its entry
// asks for: a kLink latency is divided by the latency factor and its bandwidth by the bandwidth
// factor; kCommTime and kRate links get no latency and the bandwidth that moves the model's
// bytes in comm_time / 2 (or at the rate). Throws util::InputError (the entry's FILE:LINE) when
// SimGrid's TCP window would cap the rate below the bandwidth asked for (bandwidth factor x
// tcp_gamma / (2 x the link's latency), measured with SimGrid 3.32).
Platform resolve(const ClientTable& table, const ResolveParams& params);

}  // namespace fedgrid::platform
