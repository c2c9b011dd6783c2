// Subsets, validation split and client partitions (IID shards, Dirichlet label skew).
#include <algorithm>
#include <cmath>
#include <numeric>
#include <sstream>
#include <stdexcept>

#include "data/dataset.hpp"
#include "util/error.hpp"
#include "util/rng.hpp"

namespace fedgrid::data {
namespace {

using util::throw_input_error;

std::string num(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

void check_clients(std::size_t n, int clients) {
  if (clients <= 0) {
    throw_input_error("partition", 0, "clients", "at least one client", std::to_string(clients));
  }
  if (n < static_cast<std::size_t>(clients)) {
    throw_input_error("partition", 0, "",
                      "at least as many samples (" + std::to_string(n) + ") as clients (" +
                          std::to_string(clients) + ")",
                      "");
  }
}

// Indices of each class (ascending), validating the labels.
std::vector<std::vector<std::size_t>> by_class(const std::vector<int>& labels, int num_classes) {
  if (num_classes < 1) {
    throw_input_error("partition", 0, "num_classes", "at least one class",
                      std::to_string(num_classes));
  }
  std::vector<std::vector<std::size_t>> idx(static_cast<std::size_t>(num_classes));
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0 || labels[i] >= num_classes) {
      throw_input_error("partition", 0, "labels",
                        "labels in [0, " + std::to_string(num_classes) + ")",
                        std::to_string(labels[i]) + " at index " + std::to_string(i));
    }
    idx[static_cast<std::size_t>(labels[i])].push_back(i);
  }
  return idx;
}

// One Dirichlet draw: p_k = G_k / sum G, G_k ~ Gamma(alpha, 1). If every G_k underflows to 0
// (possible for tiny alpha) the whole mass goes to one uniformly chosen client.
std::vector<double> dirichlet(int k, double alpha, util::Rng& rng) {
  std::vector<double> p(static_cast<std::size_t>(k));
  double sum = 0.0;
  for (auto& v : p) sum += (v = rng.gamma(alpha));
  if (!(sum > 0.0) || !std::isfinite(sum)) {
    std::fill(p.begin(), p.end(), 0.0);
    p[rng.below(static_cast<uint64_t>(k))] = 1.0;
    return p;
  }
  for (auto& v : p) v /= sum;
  return p;
}

// One attempt: per class, shuffle its indices and cut at floor(cumsum(p) * n_c).
Partition dirichlet_once(std::vector<std::vector<std::size_t>> classes, int clients, double alpha,
                         util::Rng& rng) {
  Partition part(static_cast<std::size_t>(clients));
  for (auto& idx : classes) {
    util::shuffle(idx.begin(), idx.end(), rng);
    const std::vector<double> p = dirichlet(clients, alpha, rng);
    const double n_c = static_cast<double>(idx.size());
    double cum = 0.0;
    std::size_t start = 0;
    for (int k = 0; k < clients; ++k) {
      cum += p[static_cast<std::size_t>(k)];
      std::size_t end =
          k + 1 == clients ? idx.size() : std::min(idx.size(), static_cast<std::size_t>(cum * n_c));
      end = std::max(end, start);
      auto& dst = part[static_cast<std::size_t>(k)];
      dst.insert(dst.end(), idx.begin() + static_cast<std::ptrdiff_t>(start),
                 idx.begin() + static_cast<std::ptrdiff_t>(end));
      start = end;
    }
  }
  return part;
}

}  // namespace

Dataset subset(const Dataset& src, const std::vector<std::size_t>& indices) {
  Dataset d;
  d.name = src.name;
  d.channels = src.channels;
  d.height = src.height;
  d.width = src.width;
  d.num_classes = src.num_classes;
  d.x.resize(src.x.rows(), static_cast<Eigen::Index>(indices.size()));
  d.y.resize(indices.size());
  for (std::size_t j = 0; j < indices.size(); ++j) {
    if (indices[j] >= src.size()) {
      throw std::out_of_range("subset: index " + std::to_string(indices[j]) + " >= size " +
                              std::to_string(src.size()));
    }
    d.x.col(static_cast<Eigen::Index>(j)) = src.x.col(static_cast<Eigen::Index>(indices[j]));
    d.y[j] = src.y[indices[j]];
  }
  return d;
}

void keep_in_place(Dataset& d, const std::vector<std::size_t>& ascending) {
  for (std::size_t j = 0; j < ascending.size(); ++j) {
    const std::size_t from = ascending[j];
    if (from >= d.size() || from < j || (j > 0 && from <= ascending[j - 1])) {
      throw std::invalid_argument("keep_in_place: indices must be ascending and < " +
                                  std::to_string(d.size()));
    }
    if (from != j) {  // columns move towards the front only: never read after overwritten
      d.x.col(static_cast<Eigen::Index>(j)) = d.x.col(static_cast<Eigen::Index>(from));
      d.y[j] = d.y[from];
    }
  }
  // Same rows, fewer columns: Eigen shrinks the column-major buffer in place (realloc).
  d.x.conservativeResize(Eigen::NoChange, static_cast<Eigen::Index>(ascending.size()));
  d.y.resize(ascending.size());
}

Dataset split_validation(Dataset& train, std::size_t n, uint64_t seed) {
  if (n >= train.size()) {
    throw_input_error(
        "validation split", 0, "",
        "fewer validation samples than the " + std::to_string(train.size()) + " training samples",
        std::to_string(n));
  }
  std::vector<std::size_t> perm(train.size());
  std::iota(perm.begin(), perm.end(), std::size_t{0});
  util::Rng rng(seed, "validation");
  util::shuffle(perm.begin(), perm.end(), rng);
  std::vector<char> is_val(train.size(), 0);
  for (std::size_t i = 0; i < n; ++i) is_val[perm[i]] = 1;
  std::vector<std::size_t> val_idx, keep_idx;
  for (std::size_t i = 0; i < train.size(); ++i) (is_val[i] ? val_idx : keep_idx).push_back(i);
  Dataset val = subset(train, val_idx);
  keep_in_place(train, keep_idx);
  return val;
}

Partition iid_partition(std::size_t n, int clients, uint64_t seed) {
  check_clients(n, clients);
  std::vector<std::size_t> perm(n);
  std::iota(perm.begin(), perm.end(), std::size_t{0});
  util::Rng rng(seed, "iid-partition");
  util::shuffle(perm.begin(), perm.end(), rng);
  const std::size_t shard = n / static_cast<std::size_t>(clients);
  Partition part(static_cast<std::size_t>(clients));
  for (std::size_t k = 0; k < part.size(); ++k) {
    auto first = perm.begin() + static_cast<std::ptrdiff_t>(k * shard);
    part[k].assign(first, first + static_cast<std::ptrdiff_t>(shard));
    std::sort(part[k].begin(), part[k].end());
  }
  return part;
}

Partition dirichlet_partition(const std::vector<int>& labels, int num_classes, int clients,
                              double alpha, uint64_t seed, std::size_t min_size) {
  check_clients(labels.size(), clients);
  if (!(alpha > 0.0) || !std::isfinite(alpha)) {
    throw_input_error("partition", 0, "alpha", "a finite Dirichlet alpha > 0", num(alpha));
  }
  const std::size_t n = labels.size();
  if (static_cast<std::size_t>(clients) * min_size > n) {
    throw_input_error("partition", 0, "min_size",
                      "clients * min_size (" + std::to_string(clients) + " * " +
                          std::to_string(min_size) + ") <= samples",
                      std::to_string(n) + " samples");
  }
  const auto classes = by_class(labels, num_classes);
  util::Rng rng(seed, "dirichlet-partition");
  std::size_t best = 0;
  for (int attempt = 0; attempt < 100; ++attempt) {
    Partition part = dirichlet_once(classes, clients, alpha, rng);
    std::size_t smallest = n;
    for (const auto& c : part) smallest = std::min(smallest, c.size());
    if (smallest >= min_size) {
      for (auto& c : part) std::sort(c.begin(), c.end());
      return part;
    }
    best = std::max(best, smallest);
  }
  throw_input_error("partition", 0, "alpha",
                    "a Dirichlet(" + num(alpha) + ") draw giving each of " +
                        std::to_string(clients) + " clients >= " + std::to_string(min_size) +
                        " samples within 100 draws (raise alpha or lower min_size)",
                    "at best a smallest client of " + std::to_string(best) + " samples");
}

std::vector<std::vector<std::size_t>> label_histogram(const Partition& p,
                                                      const std::vector<int>& labels,
                                                      int num_classes) {
  by_class(labels, num_classes);  // validates the labels
  std::vector<std::vector<std::size_t>> h(
      p.size(), std::vector<std::size_t>(static_cast<std::size_t>(num_classes), 0));
  for (std::size_t k = 0; k < p.size(); ++k) {
    for (std::size_t i : p[k]) {
      if (i >= labels.size()) {
        throw std::out_of_range("label_histogram: index " + std::to_string(i) +
                                " >= " + std::to_string(labels.size()) + " labels");
      }
      ++h[k][static_cast<std::size_t>(labels[i])];
    }
  }
  return h;
}

}  // namespace fedgrid::data
