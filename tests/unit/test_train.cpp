// Local training (src/train): K local SGD steps with client momentum, weight decay and FedProx's
// proximal term against PyTorch fixtures; one step equals the gradient; stage suffixes keep the
// other stages and their momentum; batch samplers; FedNova's normalised aggregation and weighted
// rules by hand; the worker pool; the math engine's results whatever the thread count.
#define BOOST_TEST_MODULE train
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <numeric>
#include <set>
#include <stdexcept>

#include "fl/algorithm.hpp"
#include "fl/registry.hpp"
#include "io/experiment.hpp"
#include "torch_fixture.hpp"
#include "train/local.hpp"
#include "train/math.hpp"
#include "train/pool.hpp"
#include "util/rng.hpp"

using namespace fedgrid;
using namespace fedgrid::test;

namespace {

// The batches a fixture stores (x0, y0, x1, ...), step after step.
class FixtureBatches final : public train::BatchSource {
 public:
  FixtureBatches(const Fixture& f, int features) : f_(f), features_(features) {}
  void next(Matrix& x, std::vector<int>& y) override {
    const std::string k = std::to_string(step_++);
    x = f_.at("x" + k).matrix(features_);
    y.clear();
    for (float v : f_.at("y" + k).v) y.push_back(static_cast<int>(v));
  }

 private:
  const Fixture& f_;
  int features_;
  int step_ = 0;
};

nn::ModelSpec tiny_mlp_spec() {
  nn::ModelSpec s;
  s.name = "tiny_mlp";
  s.input_size = 6;
  s.layers = {{"dense", 5, 1}, {"relu", 0, 2}, {"dense", 3, 3}};
  return s;
}

// Runs the fixture's K steps through local_update and compares the parameters after them
// (start - lr U on trained entries, start - U on running statistics) and the momentum buffers.
void check_local_steps(const nn::Model& model, const std::string& name) {
  BOOST_TEST_CONTEXT(name) {
    const Fixture f = load_fixture(name);
    const std::vector<float>& c = f.at("config").v;
    const int steps = static_cast<int>(c[0]);
    const train::LocalSgd opt{c[1], c[2], c[3], c[4]};
    const Vector start = params_from_fixture(model, f);
    FixtureBatches batches(f, model.input_size());
    train::LocalScratch scratch;
    Vector u, momentum;  // persistent buffer, empty = zeros: PyTorch's fresh optimiser
    const double loss =
        train::local_update(model, start, steps, 0, opt, &momentum, batches, scratch, u);
    BOOST_TEST(std::isfinite(loss));
    for (const auto& st : model.stages()) {
      const bool stat = st.statistics == st.size;
      Vector after = start.segment(Eigen::Index(st.offset), Eigen::Index(st.size));
      const Vector us = u.segment(Eigen::Index(st.offset), Eigen::Index(st.size));
      after -= stat ? us : Vector(opt.lr * us);
      expect_close(after.data(), f.at("final." + st.name), st.name + " after the steps");
      // Momentum buffers of tensors whose gradient is 0 in exact arithmetic (the conv bias
      // before BatchNorm) hold float32 rounding noise of ~1e-7 (more without FMA): compared at
      // an absolute floor of 1e-6 (1e-4 x 1e-2), far below the other buffers' scale (~0.1-1).
      if (!stat) {
        const double e =
            rel_error(momentum.data() + st.offset, f.at("momentum." + st.name).v, 1e-2);
        BOOST_TEST(e <= 1e-4, st.name << " momentum buffer: relative error " << e);
      }
    }
  }
}

}  // namespace

// PyTorch: torch.optim.SGD(momentum, weight_decay) on cross-entropy + mu/2 ||w - w_t||^2, three
// steps on three batches of different sizes; relative error <= 1e-4 as the other fixtures.
BOOST_AUTO_TEST_CASE(local_steps_match_pytorch) {
  check_local_steps(nn::Model::build(tiny_mlp_spec()), "local_steps_mlp");
  check_local_steps(nn::Model::build(small_bn_spec(nn::StageGrouping::kTensor)),
                    "local_steps_bn_net");
}

// One step: U is the gradient (the fast path and the general path with a fresh persistent
// buffer give the same bits); a stage suffix leaves the other stages and their momentum alone.
BOOST_AUTO_TEST_CASE(one_step_is_the_gradient) {
  const nn::Model model = nn::Model::build(tiny_mlp_spec());
  Vector w(Eigen::Index(model.num_params()));
  model.init_params(w, 3);
  util::Rng rng(5);
  Matrix x(6, 8);
  for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = float(rng.normal());
  const std::vector<int> y{0, 1, 2, 0, 1, 2, 2, 1};
  struct Same final : train::BatchSource {
    const Matrix& x;
    const std::vector<int>& y;
    Same(const Matrix& a, const std::vector<int>& b) : x(a), y(b) {}
    void next(Matrix& xo, std::vector<int>& yo) override { xo = x, yo = y; }
  } batches(x, y);
  nn::Workspace ws;
  Vector grad;
  const double want_loss = model.loss_and_gradient(w, x, y, grad, 0, ws);
  train::LocalScratch s;
  Vector fast, general, m;
  const train::LocalSgd opt{0.1f, 0.9, 0.0, 0.5};
  BOOST_TEST(train::local_update(model, w, 1, 0, opt, nullptr, batches, s, fast) == want_loss);
  BOOST_TEST(train::local_update(model, w, 1, 0, opt, &m, batches, s, general) == want_loss);
  BOOST_TEST((fast.array() == grad.array()).all());
  BOOST_TEST((general.array() == grad.array()).all());
  BOOST_TEST((m.array() == grad.array()).all());  // m = rho 0 + g
  // A suffix from stage 2 (fc2.weight): stages 0 and 1 get no update, their momentum is kept.
  const std::size_t head = model.stages()[2].offset;
  Vector before = m;
  Vector suffix;
  train::local_update(model, w, 1, 2, opt, &m, batches, s, suffix);
  BOOST_TEST(suffix.head(Eigen::Index(head)).isZero(0));
  BOOST_TEST((m.head(Eigen::Index(head)).array() == before.head(Eigen::Index(head)).array()).all());
  // The suffix's momentum moved: rho m + g.
  const Eigen::Index tail = Eigen::Index(model.num_params() - head);
  Vector expect = 0.9f * before.tail(tail) + grad.tail(tail);
  BOOST_TEST((m.tail(tail) - expect).cwiseAbs().maxCoeff() < 1e-6f);
  BOOST_CHECK_THROW(train::local_update(model, w, 2, 1, opt, nullptr, batches, s, suffix),
                    std::invalid_argument);
}

// Steps mode: every batch is `batch` distinct samples of the shard, the first one the same draw
// as one-step training always made; epochs mode: each epoch visits the shard exactly once.
BOOST_AUTO_TEST_CASE(batch_samplers) {
  std::vector<std::size_t> shard(23);
  std::iota(shard.begin(), shard.end(), 100);
  train::BatchSampler steps(shard, 9, 4, 7, 5, false);
  // One-step training's draw: partial Fisher-Yates with Rng(seed, "batch", client, round).
  std::vector<std::size_t> idx = shard;
  util::Rng rng(9, "batch", 4, 7);
  for (std::size_t i = 0; i < 5; ++i) std::swap(idx[i], idx[i + rng.below(idx.size() - i)]);
  const auto first = steps.next();
  BOOST_TEST(std::vector<std::size_t>(idx.begin(), idx.begin() + 5) == first);
  for (int k = 0; k < 50; ++k) {
    const auto b = steps.next();
    BOOST_TEST(b.size() == 5u);
    BOOST_TEST(std::set<std::size_t>(b.begin(), b.end()).size() == 5u);
    for (auto v : b) BOOST_TEST((v >= 100 && v < 123));
  }
  train::BatchSampler epochs(shard, 9, 4, 7, 5, true);
  for (int e = 0; e < 3; ++e) {
    std::multiset<std::size_t> seen;
    for (int k = 0; k < 5; ++k) {  // ceil(23 / 5) = 5 steps: 5, 5, 5, 5, 3 samples
      const auto b = epochs.next();
      BOOST_TEST(b.size() == std::size_t(train::BatchSampler::step_batch(23, 5, true, k)));
      seen.insert(b.begin(), b.end());
    }
    BOOST_TEST(seen == std::multiset<std::size_t>(shard.begin(), shard.end()));
  }
  BOOST_TEST(train::BatchSampler::step_batch(23, 5, true, 4) == 3);
  BOOST_TEST(train::BatchSampler::step_batch(23, 5, true, 5) == 5);
  BOOST_TEST(train::BatchSampler::step_batch(3, 5, false, 9) == 3);
}

namespace {

fl::Update update(int client, int steps, std::vector<float> g) {
  fl::Update u;
  u.client = client;
  u.stages_done = 2;
  u.steps_done = steps;
  u.grad = Eigen::Map<Vector>(g.data(), Eigen::Index(g.size()));
  return u;
}

std::unique_ptr<fl::Algorithm> make(const std::string& name, fl::TrainingConfig t,
                                    const std::vector<fl::ClientInfo>& infos) {
  fl::AlgorithmConfig cfg;
  cfg.name = name;
  cfg.rounds = 2;
  cfg.training = t;
  cfg.aggregation = fl::find_algorithm(name)->aggregations.front();
  cfg.params = fl::default_params(name);
  return fl::make_algorithm(cfg, infos, 2);
}

}  // namespace

// FedNova by hand: a_u = tau_u (rho = 0) or [tau - rho (1 - rho^tau)/(1 - rho)]/(1 - rho);
// direction = tau_eff sum p_u U_u / a_u; equal tau gives the plain mean (FedAvg).
BOOST_AUTO_TEST_CASE(fednova_normalised_averaging) {
  const std::vector<nn::Stage> st = {{"a", 0, 1, 0}, {"b", 1, 1, 0}};
  const std::vector<fl::ClientInfo> infos(3, fl::ClientInfo{100, 0.1, 50});
  fl::TrainingConfig t;
  t.local_steps = 4;
  const auto nova = make("fednova", t, infos);
  const auto avg = make("fedavg", t, infos);
  const fl::RoundPlan plan = nova->configure(1);
  // Equal steps: the plain mean, to float tolerance.
  std::vector<fl::Update> same = {update(0, 4, {4, 8}), update(1, 4, {2, -6}),
                                  update(2, 4, {0.5, 1})};
  const auto a = nova->aggregate(plan, same, st).direction;
  const auto b = avg->aggregate(avg->configure(1), same, st).direction;
  BOOST_TEST((a - b).cwiseAbs().maxCoeff() < 1e-6f);
  BOOST_TEST(std::abs(b(0) - 6.5f / 3) < 1e-6f);
  // tau = 1, 2, 4, rho = 0: p = 1/3, d = (U0/1 + U1/2 + U2/4) / 3, tau_eff = 7/3.
  std::vector<fl::Update> diff = {update(0, 1, {4, 8}), update(1, 2, {2, -6}),
                                  update(2, 4, {0.5, 1})};
  const auto c = nova->aggregate(plan, diff, st);
  BOOST_TEST(std::abs(c.direction(0) - 7.0f / 3 * (4 + 1 + 0.125f) / 3) < 1e-5f);
  BOOST_TEST(std::abs(c.direction(1) - 7.0f / 3 * (8 - 3 + 0.25f) / 3) < 1e-5f);
  BOOST_TEST(c.active[0] == 1);
  // rho = 0.5: a(1) = 1, a(2) = (2 - 0.5 * 0.75 / 0.5) / 0.5 = 2.5.
  t.client.momentum = 0.5;
  const auto nova_m = make("fednova", t, infos);
  std::vector<fl::Update> two = {update(0, 1, {3, 0}), update(1, 2, {5, 0})};
  const double a1 = 1, a2 = 2.5;
  const double want = (a1 + a2) / 2 * (3 / a1 + 5 / a2) / 2;
  BOOST_TEST(std::abs(nova_m->aggregate(plan, two, st).direction(0) - want) < 1e-5);
}

// training.weighting: samples: q_u = n_u. code: sum q g / sum over selected q; plain: over the
// contributors; BatchNorm-like statistics: the weighted mean of the contributors' values.
BOOST_AUTO_TEST_CASE(sample_weighted_rules) {
  const std::vector<nn::Stage> st = {{"a", 0, 1, 0, 0}, {"b", 1, 2, 0, 1}};  // b: 1 stat
  const std::vector<fl::ClientInfo> infos = {{1, 0, 10}, {1, 0, 30}, {1, 0, 60}};
  fl::Update u0 = update(0, 1, {1, 2, 4}), u1 = update(1, 1, {3, 6, 8});
  fl::Weights w{{10, 30}, 100};
  std::vector<const fl::Update*> ups{&u0, &u1};
  const auto code = fl::aggregate_updates(fl::Aggregation::kCode, st, ups, 3, {}, &w);
  BOOST_TEST(std::abs(code.direction(0) - (10 * 1 + 30 * 3) / 100.0f) < 1e-6f);
  BOOST_TEST(std::abs(code.direction(2) - (10 * 4 + 30 * 8) / 40.0f) < 1e-5f);  // statistic
  const auto plain = fl::aggregate_updates(fl::Aggregation::kPlain, st, ups, 3, {}, &w);
  BOOST_TEST(std::abs(plain.direction(1) - (10 * 2 + 30 * 6) / 40.0f) < 1e-6f);
  // Through the algorithm: the selected total is every selected client's samples.
  fl::TrainingConfig t;
  t.weighting = fl::Weighting::kSamples;
  const auto avg = make("fedavg", t, infos);
  std::vector<fl::Update> list{u0, u1};
  const auto r = avg->aggregate(avg->configure(1), list, st);
  BOOST_TEST(std::abs(r.direction(0) - (10 * 1 + 30 * 3) / 40.0f) < 1e-6f);  // plain rule
  BOOST_CHECK_THROW(
      fl::aggregate_updates(fl::Aggregation::kPlain, st, ups, 3, {}, &(w = fl::Weights{{1}, 1})),
      std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(worker_pool_runs_every_task_and_rethrows) {
  train::WorkerPool pool(3);
  std::vector<int> out(200, 0);
  for (int i = 0; i < 200; ++i) pool.submit([&out, i](int) { out[std::size_t(i)] = i * i; });
  pool.wait_all();
  for (int i = 0; i < 200; ++i) BOOST_TEST(out[std::size_t(i)] == i * i);
  pool.submit([](int) { throw std::runtime_error("boom"); });
  BOOST_CHECK_THROW(pool.wait_all(), std::runtime_error);
}

// The same jobs on 1 and 3 threads give the same bits (each job writes its own slot).
BOOST_AUTO_TEST_CASE(math_engine_is_thread_count_independent) {
  const io::Scenario sc = io::load_scenario(kRoot + "/scenarios/ci/synthetic-deadline.yaml");
  const io::Experiment exp = io::prepare_experiment(sc);
  auto run = [&](int threads, const train::LocalTraining& local) {
    train::MathEngine engine(exp, local, threads);
    auto model = std::make_shared<const Vector>(exp.initial_params);
    std::vector<fl::Update> ups(exp.shards.size());
    for (int u = 0; u < int(ups.size()); ++u) {
      engine.submit({model, u, 3, 8, 1 + u % 3, 0, 0.05f, &ups[std::size_t(u)]});
    }
    engine.wait_gradients();
    return ups;
  };
  const train::LocalTraining local{0.9, 1e-4, 0.01, false, false};
  const auto one = run(1, local), three = run(3, local);
  for (std::size_t u = 0; u < one.size(); ++u) {
    BOOST_TEST((one[u].grad.array() == three[u].grad.array()).all());
    BOOST_TEST(one[u].loss == three[u].loss);
    BOOST_TEST(one[u].grad.norm() > 0);
  }
}
