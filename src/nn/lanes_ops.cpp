// Lane-layout conversions, max pooling and batch-normalisation passes (see nn/lanes.hpp).
#include <algorithm>

#include "nn/lanes.hpp"
#include "nn/lanes_simd.hpp"

namespace fedgrid::nn::lanes {

void to_lanes(const float* cols, std::size_t ld, int channels, int plane, int batch, float* out) {
  const int G = groups(batch);
  for (int c = 0; c < channels; ++c) {
    for (int g = 0; g < G; ++g) {
      float* dst = out + (std::size_t(c) * G + g) * plane * kLanes;
      const int n = std::min(kLanes, batch - g * kLanes);
      for (int p = 0; p < plane; ++p) {
        const float* src = cols + std::size_t(g) * kLanes * ld + std::size_t(c) * plane + p;
        float* d = dst + std::size_t(p) * kLanes;
        for (int l = 0; l < n; ++l) d[l] = src[std::size_t(l) * ld];
        for (int l = n; l < kLanes; ++l) d[l] = 0.0f;
      }
    }
  }
}

void from_lanes(const float* in, int channels, int plane, int batch, float* cols) {
  const int G = groups(batch);
  const std::size_t size = std::size_t(channels) * plane;
  for (int c = 0; c < channels; ++c) {
    for (int g = 0; g < G; ++g) {
      const float* src = in + (std::size_t(c) * G + g) * plane * kLanes;
      const int n = std::min(kLanes, batch - g * kLanes);
      for (int l = 0; l < n; ++l) {
        float* d = cols + (std::size_t(g) * kLanes + l) * size + std::size_t(c) * plane;
        for (int p = 0; p < plane; ++p) d[p] = src[std::size_t(p) * kLanes + l];
      }
    }
  }
}

namespace {

// The window's first maximum per lane (row-major order; the first NaN wins and stays):
// value in m, window offset (i*k + l) in best.
inline void window_max(const float* x, int w, int k, V& m, VI& best) {
  m = load(x);
  best = VI{};
  for (int i = 0; i < k; ++i) {
    for (int l = 0; l < k; ++l) {
      if (i == 0 && l == 0) continue;
      const V v = load(x + (std::size_t(i) * w + l) * kLanes);
      const VI take = ((v > m) | (v != v)) & (m == m);
      m = take ? v : m;
      best = take ? VI{} + (i * k + l) : best;
    }
  }
}

}  // namespace

void pool_forward(int c, int h, int w, int k, int s, const float* x, int groups, float* y) {
  const int oh = (h - k) / s + 1, ow = (w - k) / s + 1;
  for (int plane = 0; plane < c * groups; ++plane) {
    const float* xp = x + std::size_t(plane) * h * w * kLanes;
    float* yp = y + std::size_t(plane) * oh * ow * kLanes;
    for (int r = 0; r < oh; ++r) {
      for (int q = 0; q < ow; ++q) {
        V m;
        VI best;
        window_max(xp + (std::size_t(r) * s * w + std::size_t(q) * s) * kLanes, w, k, m, best);
        store(yp + (std::size_t(r) * ow + q) * kLanes, m);
      }
    }
  }
}

void pool_backward(int c, int h, int w, int k, int s, const float* x, const float* dy, int groups,
                   float* dx) {
  const int oh = (h - k) / s + 1, ow = (w - k) / s + 1;
  std::fill(dx, dx + std::size_t(c) * groups * h * w * kLanes, 0.0f);
  for (int plane = 0; plane < c * groups; ++plane) {
    const float* xp = x + std::size_t(plane) * h * w * kLanes;
    float* dp = dx + std::size_t(plane) * h * w * kLanes;
    const float* dyp = dy + std::size_t(plane) * oh * ow * kLanes;
    for (int r = 0; r < oh; ++r) {
      for (int q = 0; q < ow; ++q) {
        const std::size_t at = (std::size_t(r) * s * w + std::size_t(q) * s) * kLanes;
        V m;
        VI best;
        window_max(xp + at, w, k, m, best);
        const V d = load(dyp + (std::size_t(r) * ow + q) * kLanes);
        for (int i = 0; i < k; ++i) {
          for (int l = 0; l < k; ++l) {
            float* px = dp + at + (std::size_t(i) * w + l) * kLanes;
            store(px, load(px) + (best == i * k + l ? d : V{}));
          }
        }
      }
    }
  }
}

// Lanes of group g that hold samples: all but in the last group.
static inline int real_lanes(int g, int batch) { return std::min(kLanes, batch - g * kLanes); }

void channel_sums(const float* x, const float* dy, int channels, int plane, int batch,
                  const float* center, double* sum, double* prod) {
  const int G = groups(batch);
  for (int c = 0; c < channels; ++c) {
    double s = 0, p = 0;
    for (int g = 0; g < G; ++g) {
      const std::size_t base = (std::size_t(c) * G + g) * plane * kLanes;
      const float* a = dy ? dy + base : x + base;
      V vs{}, vp{};
      for (int e = 0; e < plane; ++e) {
        const V va = load(a + std::size_t(e) * kLanes);
        vs += va;
        if (center) {
          const V dev = load(x + base + std::size_t(e) * kLanes) - center[c];
          vp += dy ? va * dev : dev * dev;
        }
      }
      const int n = real_lanes(g, batch);
      s += hsum(vs, n);
      if (center) p += hsum(vp, n);
    }
    sum[c] = s;
    if (center) prod[c] = p;
  }
}

void channel_affine(const float* x, const float* a, const float* b, int channels, int plane,
                    int batch, float* y) {
  const std::size_t block = std::size_t(groups(batch)) * plane * kLanes;
  for (int c = 0; c < channels; ++c) {
    const V va = splat(a[c]), vb = splat(b[c]);
    const float* xc = x + c * block;
    float* yc = y + c * block;
    for (std::size_t e = 0; e < block; e += kLanes) store(yc + e, load(xc + e) * va + vb);
  }
}

void batchnorm_input_grad(const float* x, const float* dy, const float* mean, const float* k0,
                          const float* k1, const float* k2, int channels, int plane, int batch,
                          float* dx) {
  const int G = groups(batch);
  VI mask{};
  for (int l = 0; l < kLanes; ++l) mask[l] = l < real_lanes(G - 1, batch) ? -1 : 0;
  for (int c = 0; c < channels; ++c) {
    for (int g = 0; g < G; ++g) {
      const std::size_t base = (std::size_t(c) * G + g) * plane * kLanes;
      for (int e = 0; e < plane; ++e) {
        const std::size_t at = base + std::size_t(e) * kLanes;
        V v = load(dy + at) * k0[c] - k1[c] - (load(x + at) - mean[c]) * k2[c];
        if (g == G - 1) v = mask ? v : V{};
        store(dx + at, v);
      }
    }
  }
}

}  // namespace fedgrid::nn::lanes
