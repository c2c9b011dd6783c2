// Asynchronous aggregation by hand (fl/async.hpp): staleness weights, model-space deltas,
// FedBuff's staleness-weighted buffer mean and server optimiser, FedAsync's mixing, the job a
// client runs, and FedBuff without staleness against synchronous FedAvg's aggregation and step.
#define BOOST_TEST_MODULE async
#include <boost/test/unit_test.hpp>
#include <cmath>

#include "fl/async.hpp"
#include "util/error.hpp"

using namespace fedgrid;

namespace {

// A trained stage of 2 entries and a stage of 2 whose last entry is a running statistic.
std::vector<nn::Stage> stages() { return {{"w", 0, 2, 0, 0}, {"bn", 2, 2, 0, 1}}; }

nn::Vector vec(std::vector<float> v) {
  return Eigen::Map<nn::Vector>(v.data(), static_cast<Eigen::Index>(v.size()));
}

fl::Update update(int client, std::vector<float> g) {
  fl::Update u;
  u.client = client;
  u.stages_done = 2;
  u.steps_done = 1;
  u.grad = vec(std::move(g));
  return u;
}

fl::AlgorithmConfig config(const std::string& name, double lr, double momentum) {
  fl::AlgorithmConfig c;
  c.name = name;
  c.rounds = 100;
  c.params = fl::default_params(name);
  c.params.set_number("concurrency", 3);
  c.training.lr = lr;
  c.training.inverse_schedule = false;
  c.training.batch = 16;
  c.training.server_lr = 1;
  c.training.server_momentum = momentum;
  return c;
}

std::vector<fl::ClientInfo> clients() { return {{100, 0.1, 10}, {200, 0.1, 30}, {50, 0.1, 8}}; }

std::unique_ptr<fl::Algorithm> make(const fl::AlgorithmConfig& c) {
  return fl::make_algorithm(c, clients(), 2);
}

void close(const nn::Vector& got, const std::vector<double>& want, double tol = 1e-6) {
  BOOST_REQUIRE_EQUAL(got.size(), static_cast<Eigen::Index>(want.size()));
  for (std::size_t i = 0; i < want.size(); ++i) {
    BOOST_TEST(std::abs(got(static_cast<Eigen::Index>(i)) - want[i]) <= tol,
               "entry " << i << ": " << got(static_cast<Eigen::Index>(i)) << " vs " << want[i]);
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(staleness_weights) {
  fl::Staleness s;  // polynomial, a = 0.5: FedBuff's 1 / sqrt(1 + tau)
  BOOST_TEST(s.weight(0) == 1.0);
  BOOST_TEST(s.weight(3) == 0.5);
  BOOST_TEST(std::abs(s.weight(8) - 1.0 / 3) < 1e-15);
  s.exponent = 2;
  BOOST_TEST(std::abs(s.weight(4) - 1.0 / 25) < 1e-15);
  s.function = fl::Staleness::Function::kHinge;  // a = 10, b = 4
  BOOST_TEST(s.weight(4) == 1.0);
  BOOST_TEST(std::abs(s.weight(5) - 1.0 / 11) < 1e-15);
  BOOST_TEST(std::abs(s.weight(7) - 1.0 / 31) < 1e-15);
  s.function = fl::Staleness::Function::kConstant;
  BOOST_TEST(s.weight(1000) == 1.0);
}

BOOST_AUTO_TEST_CASE(model_space_delta) {
  nn::Vector out;
  fl::model_delta(vec({1, 2, 3, 4}), 0.5, stages(), out);
  close(out, {0.5, 1, 1.5, 4});  // the running statistic (last entry) is not a step
}

BOOST_AUTO_TEST_CASE(fedbuff_buffer_mean_and_server_step) {
  auto c = config("fedbuff", 0.5, 0.0);
  c.params.set_number("buffer", 2);
  auto algo = make(c);
  const fl::AsyncAlgorithm& a = *algo->asynchronous();
  BOOST_TEST(a.buffer_size() == 2);
  BOOST_TEST(a.concurrency() == 3);
  const auto st = stages();
  fl::ServerModel m{vec({1, 1, 1, 1}), nn::Sgd(4, 0.0f)};
  fl::AsyncBuffer b;
  const fl::Update u0 = update(0, {2, 4, 6, 8}), u1 = update(1, {4, 0, 2, -4});
  a.add(b, {0, &u0, 0, 0.5, nullptr}, m.params, st);  // fresh
  a.add(b, {1, &u1, 3, 0.5, nullptr}, m.params, st);  // staleness 3: weight 1/2
  BOOST_TEST(b.count == 2);
  BOOST_TEST(b.weight == 2.0);
  // Delta = 0.5 U on trained entries, U on the statistic: Delta_0 = (1, 2, 3, 8),
  // Delta_1 = (2, 0, 1, -4); d = (1 Delta_0 + 0.5 Delta_1) / 2 = (1, 1, 1.75, 3); w -= d.
  a.apply(m, b, st);
  close(m.params, {0, 0, -0.75, -2});
  BOOST_TEST(b.count == 0);
  BOOST_TEST(b.sum.isZero());
}

BOOST_AUTO_TEST_CASE(fedbuff_sample_weights_and_momentum) {
  auto c = config("fedbuff", 1.0, 0.5);
  c.params.set_number("buffer", 2);
  c.training.weighting = fl::Weighting::kSamples;  // q = shard sizes 10 and 30
  c.training.server_lr = 0.5;
  auto algo = make(c);
  const fl::AsyncAlgorithm& a = *algo->asynchronous();
  const auto st = stages();
  fl::ServerModel m{vec({0, 0, 0, 0}), nn::Sgd(4, 0.5f)};
  fl::AsyncBuffer b;
  const fl::Update u0 = update(0, {4, 0, 0, 0}), u1 = update(1, {0, 4, 0, 0});
  for (int round = 0; round < 2; ++round) {
    a.add(b, {0, &u0, 0, 1.0, nullptr}, m.params, st);
    a.add(b, {1, &u1, 0, 1.0, nullptr}, m.params, st);
    a.apply(m, b, st);
  }
  // d = (10 U0 + 30 U1) / 40 = (1, 3, 0, 0); v1 = d, w1 = -0.5 d; v2 = 0.5 d + d, w2 = w1 - 0.75 d.
  close(m.params, {-1.25, -3.75, 0, 0});
}

BOOST_AUTO_TEST_CASE(fedasync_mixes_with_the_clients_model) {
  auto c = config("fedasync", 0.5, 0.0);
  c.params.set_number("alpha", 0.6);
  auto algo = make(c);
  const fl::AsyncAlgorithm& a = *algo->asynchronous();
  BOOST_TEST(a.buffer_size() == 1);
  const auto st = stages();
  fl::ServerModel m{vec({1, 2, 3, 4}), nn::Sgd(0, 0.0f)};
  const nn::Vector start = vec({0, 2, 2, 2});  // w_v: 3 versions ago (s = 1/2, alpha_t = 0.3)
  const fl::Update u = update(2, {2, 2, 2, 2});
  fl::AsyncBuffer b;
  a.add(b, {2, &u, 3, 0.5, &start}, m.params, st);
  a.apply(m, b, st);
  // x_u = w_v - Delta = (0 - 1, 2 - 1, 2 - 1, 2 - 2) = (-1, 1, 1, 0);
  // w <- 0.7 w + 0.3 x_u = (0.4, 1.7, 2.4, 2.8).
  close(m.params, {0.4, 1.7, 2.4, 2.8});
}

BOOST_AUTO_TEST_CASE(fedbuff_without_staleness_is_fedavg) {
  // M = U fresh updates: FedBuff's server update equals synchronous FedAvg's aggregation and SGD
  // step with momentum at eta_t = lr (constant schedule), to float rounding.
  const auto st = stages();
  auto cb = config("fedbuff", 0.3, 0.9);
  cb.params.set_number("buffer", 3);
  auto buff = make(cb);
  auto cs = config("fedavg", 0.3, 0.9);
  cs.params = fl::default_params("fedavg");
  auto avg = make(cs);
  fl::ServerModel mb{vec({1, -1, 0.5, 2}), nn::Sgd(4, 0.9f)}, ms = mb;
  std::vector<fl::Update> ups{update(0, {1, 2, 3, 4}), update(1, {-2, 0.5, 1, 0}),
                              update(2, {0.25, -1, 2, 1})};
  for (int round = 1; round <= 3; ++round) {
    fl::AsyncBuffer b;
    for (const auto& u : ups)
      buff->asynchronous()->add(b, {u.client, &u, 0, 0.3, nullptr}, mb.params, st);
    buff->asynchronous()->apply(mb, b, st);
    const fl::RoundPlan plan = avg->configure(round);
    avg->server_step(ms, avg->aggregate(plan, ups, st), plan, st);
    for (auto& u : ups) u.grad *= -0.5f;  // other updates next round
  }
  BOOST_TEST((mb.params - ms.params).norm() <= 1e-6 * ms.params.norm());
}

BOOST_AUTO_TEST_CASE(jobs_and_concurrency) {
  auto c = config("fedbuff", 0.2, 0.0);
  c.training.inverse_schedule = true;
  c.training.local_steps = 3;
  c.training.batch = 12;
  auto algo = make(c);
  const fl::AsyncAlgorithm& a = *algo->asynchronous();
  const fl::ClientTask t = a.task(2);  // shard of 8: the batch is clamped
  BOOST_TEST(t.batch == 8);
  BOOST_TEST(t.steps == 3);
  BOOST_TEST(a.task(1).batch == 12);
  BOOST_TEST(std::abs(a.client_lr(0) - 0.2) < 1e-15);
  BOOST_TEST(std::abs(a.client_lr(4) - 0.04) < 1e-15);
  BOOST_TEST(fl::clients_in_flight(c, 3) == 3);
  c.params.set_number("concurrency", 2);
  BOOST_TEST(fl::clients_in_flight(c, 3) == 2);
  auto s = config("salf", 0.2, 0.0);
  s.clients_per_round = 2;
  BOOST_TEST(fl::clients_in_flight(s, 3) == 2);
  s.clients_per_round = 0;
  BOOST_TEST(fl::clients_in_flight(s, 3) == 3);
  c.params.set_number("concurrency", 4);  // more than the clients
  BOOST_CHECK_THROW(make(c), util::InputError);
}
