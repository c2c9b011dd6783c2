// Client actor: download the model, backprop stage by stage from the output as one SimGrid
// execution bounded by the deadline, compute the real gradient of the finished suffix, upload it.
#include <cmath>
#include <simgrid/Exception.hpp>

#include "sim/context.hpp"
#include "util/rng.hpp"

namespace fedgrid::sim {

// Waits for `a` until the absolute time `deadline` (inf = no bound). Cancels it and returns
// false when the deadline passes first. wait_until(t <= now) would not check completion.
static bool wait_bounded(const sg4::ActivityPtr& a, double deadline) {
  if (!std::isfinite(deadline)) {
    a->wait();
    return true;
  }
  if (sg4::Engine::get_clock() >= deadline) {
    if (a->test()) return true;
    a->cancel();
    return false;
  }
  try {
    a->wait_until(deadline);
    return true;
  } catch (const simgrid::TimeoutException&) {
    a->cancel();
    return false;
  }
}

// Draws a batch of `b` distinct samples of the client's shard into ctx->batch_x / batch_y.
static void draw_batch(Context* ctx, int u, int round, int b) {
  const auto& shard = ctx->exp->shards[u];
  auto& idx = ctx->scratch;
  idx.assign(shard.begin(), shard.end());
  util::Rng rng(ctx->exp->scenario.seed, "batch", u, round);
  const std::size_t n = std::min<std::size_t>(b, idx.size());
  for (std::size_t i = 0; i < n; ++i) std::swap(idx[i], idx[i + rng.below(idx.size() - i)]);
  const auto& train = ctx->exp->train;
  ctx->batch_x.resize(train.features(), static_cast<Eigen::Index>(n));
  ctx->batch_y.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    ctx->batch_x.col(static_cast<Eigen::Index>(i)) = train.x.col(static_cast<Eigen::Index>(idx[i]));
    ctx->batch_y[i] = train.y[idx[i]];
  }
}

// Runs the backward stages (output first) until `stop`; returns how many finished.
static int compute_stages(Context* ctx, int u, const RoundOrder& o, double stop) {
  const int L = static_cast<int>(ctx->stage_work.size());
  util::Rng rng(ctx->exp->scenario.seed, "timing", u, o.round);
  std::vector<double> cum(L);
  double total = 0;
  for (int k = 0; k < L; ++k) {  // k-th stage from the output = stage L-1-k
    double draw = ctx->exp->scenario.timing.exponential ? rng.exponential1() : 1.0;
    total += o.batch * ctx->stage_work[L - 1 - k] * draw;
    cum[k] = total;
  }
  double executed = total;
  if (!std::isfinite(stop)) {
    sg4::this_actor::execute(total);
  } else {
    if (sg4::Engine::get_clock() >= stop) return 0;
    sg4::ExecPtr ex = sg4::this_actor::exec_async(total);
    try {
      ex->wait_until(stop);
    } catch (const simgrid::TimeoutException&) {
      executed = total - ex->get_remaining();
      ex->cancel();
    }
  }
  int done = 0;
  while (done < L && cum[done] <= executed * (1 + 1e-12)) ++done;
  return done;
}

static void report(Context* ctx, Report&& r) {
  ctx->inbox.push_back(std::move(r));
  ctx->inbox_sem->release();
}

void client_actor(Context* ctx, int u) {
  ClientState& me = ctx->clients[u];
  const auto& stages = ctx->exp->model.stages();
  const int L = static_cast<int>(stages.size());
  const bool math = !ctx->exp->scenario.timing.timing_only;
  for (;;) {
    me.start->acquire();
    const RoundOrder o = me.order;
    if (o.stop) return;
    Report r;
    auto& rec = r.record;
    rec.round = o.round;
    rec.client = u;
    rec.batch = o.batch;
    rec.status = "dropped";
    // 1. Download the global model (simulated size = its bytes).
    auto down = sg4::Comm::sendto_async(ctx->server_host, me.host, ctx->model_bytes);
    if (!wait_bounded(down, o.deadline)) {
      rec.reason = "download";
      rec.t_done = sg4::Engine::get_clock();
      report(ctx, std::move(r));
      continue;
    }
    rec.t_download = sg4::Engine::get_clock();
    // 2. Backward stages until the deadline minus the time the upload needs.
    const int K = compute_stages(ctx, u, o, o.deadline - me.upload_margin);
    rec.t_compute = sg4::Engine::get_clock();
    rec.stages_done = K;
    if (K == 0 || (o.full_only && K < L)) {
      rec.reason = K == 0 ? "compute" : "incomplete";
      rec.t_done = rec.t_compute;
      report(ctx, std::move(r));
      continue;
    }
    // 3. The real gradient of the finished suffix (zero virtual time).
    fl::Update up;
    up.client = u;
    up.stages_done = K;
    up.batch = o.batch;
    up.loss = metrics::kNaN;
    if (math) {
      draw_batch(ctx, u, o.round, o.batch);
      up.loss = ctx->exp->model.loss_and_gradient(*o.model, ctx->batch_x, ctx->batch_y, up.grad,
                                                  L - K, ctx->ws);
    }
    // 4. Upload the finished stages (simulated size = their bytes), bounded by the deadline.
    uint64_t bytes = 0;
    for (int s = L - K; s < L; ++s) bytes += stages[s].size * sizeof(float);
    auto upc = sg4::Comm::sendto_async(me.host, ctx->server_host, bytes);
    rec.t_done = sg4::Engine::get_clock();
    if (!wait_bounded(upc, o.deadline)) {
      rec.reason = "upload";
      rec.t_done = sg4::Engine::get_clock();
      report(ctx, std::move(r));
      continue;
    }
    rec.t_done = sg4::Engine::get_clock();
    rec.bytes_up = bytes;
    rec.status = K == L ? "full" : "partial";
    r.update = std::move(up);
    report(ctx, std::move(r));
  }
}

}  // namespace fedgrid::sim
