// Butterworth design (analog prototype -> band transform -> bilinear -> nearest pairing into
// second-order sections) and DF-II-transposed SOS filtering. The design steps and their order follow
// docs/daemon-ecosystem.md §6.2 (scipy 1.10.1's iirfilter/zpk2sos), so that sections come out in the
// same order and with the same pole/zero pairing as scipy's, row by row.
#include "core/dsp/iir.hpp"

#include <algorithm>
#include <cmath>
#include <complex>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace deepclean::dsp {
namespace {

using cplx = std::complex<double>;
constexpr double kPi = 3.14159265358979323846;

struct Zpk {
  std::vector<cplx> z, p;
  double k = 1.0;
};

std::string fmt(double v) {
  std::ostringstream s;
  s.precision(10);
  s << v;
  return s.str();
}

void check_order(int order) {
  if (order < 1 || order > 16) {
    throw std::invalid_argument("butterworth: order must be in 1..16, got " + std::to_string(order));
  }
}

void check_rate(double fs) {
  if (!(fs > 0) || !std::isfinite(fs)) {
    throw std::invalid_argument("butterworth: sample rate must be positive and finite, got " + fmt(fs) +
                                " Hz");
  }
}

void check_edge(const char* what, double f, double fs) {
  if (!std::isfinite(f) || !(f > 0) || !(f < fs / 2)) {
    throw std::invalid_argument(std::string("butterworth: ") + what + " " + fmt(f) +
                                " Hz must satisfy 0 < f < fs/2 = " + fmt(fs / 2) + " Hz");
  }
}

// Analog Butterworth prototype with unit cutoff: poles -exp(i*pi*m/(2N)), m = -N+1, -N+3, ..., N-1.
Zpk buttap(int n) {
  Zpk r;
  for (int m = -n + 1; m < n; m += 2) {
    r.p.push_back(-std::exp(cplx(0.0, kPi * m / (2.0 * n))));
  }
  return r;
}

// Pre-warp for the bilinear transform at the normalised rate 2 (scipy designs at fs = 2):
// 2 * fs * tan(pi * Wn / fs) with Wn = f / (fs_real / 2).
double prewarp(double f, double fs) {
  const double wn = 2.0 * f / fs;
  return 4.0 * std::tan(kPi * wn / 2.0);
}

cplx prod(const std::vector<cplx>& v, cplx offset, double sign) {
  cplx acc(1.0, 0.0);
  for (const cplx& x : v) acc *= offset + sign * x;
  return acc;
}

void lp2lp(Zpk& f, double wo) {
  const auto degree = static_cast<int>(f.p.size() - f.z.size());
  for (cplx& z : f.z) z *= wo;
  for (cplx& p : f.p) p *= wo;
  f.k *= std::pow(wo, degree);
}

void lp2hp(Zpk& f, double wo) {
  const std::size_t degree = f.p.size() - f.z.size();
  const double gain = (prod(f.z, 0.0, -1.0) / prod(f.p, 0.0, -1.0)).real();
  for (cplx& z : f.z) z = wo / z;
  for (cplx& p : f.p) p = wo / p;
  f.z.insert(f.z.end(), degree, cplx(0.0, 0.0));
  f.k *= gain;
}

void lp2bp(Zpk& f, double wo, double bw) {
  const std::size_t degree = f.p.size() - f.z.size();
  auto split = [&](const std::vector<cplx>& in) {
    std::vector<cplx> lo, hi;
    for (const cplx& x : in) {
      const cplx s = x * (bw / 2.0);
      const cplx r = std::sqrt(s * s - wo * wo);
      lo.push_back(s + r);
      hi.push_back(s - r);
    }
    lo.insert(lo.end(), hi.begin(), hi.end());
    return lo;
  };
  f.z = split(f.z);
  f.p = split(f.p);
  f.z.insert(f.z.end(), degree, cplx(0.0, 0.0));
  f.k *= std::pow(bw, static_cast<int>(degree));
}

// Bilinear transform at the normalised rate fs = 2 (so 2*fs = 4); zeros at infinity map to z = -1.
void bilinear(Zpk& f) {
  const double fs2 = 4.0;
  const std::size_t degree = f.p.size() - f.z.size();
  const double gain = (prod(f.z, fs2, -1.0) / prod(f.p, fs2, -1.0)).real();
  for (cplx& z : f.z) z = (fs2 + z) / (fs2 - z);
  for (cplx& p : f.p) p = (fs2 + p) / (fs2 - p);
  f.z.insert(f.z.end(), degree, cplx(-1.0, 0.0));
  f.k *= gain;
}

// A root kept for pairing: complex roots are represented by their positive-imaginary member only.
struct Root {
  cplx v;
  bool real;
};

// Splits roots into one member (imag > 0) of each conjugate pair, sorted by real part, followed by the
// real roots, sorted by value; a root counts as real when |imag| <= 100 eps |root| (scipy's _cplxreal
// rule). Pairs are averaged to remove rounding asymmetry.
std::vector<Root> cplxreal(const std::vector<cplx>& in) {
  const double tol = 100 * std::numeric_limits<double>::epsilon();
  std::vector<cplx> v = in;
  std::sort(v.begin(), v.end(), [](const cplx& a, const cplx& b) {
    if (a.real() != b.real()) return a.real() < b.real();
    return std::abs(a.imag()) < std::abs(b.imag());
  });
  std::vector<double> reals;
  std::vector<cplx> pos, neg;
  for (const cplx& x : v) {
    if (std::abs(x.imag()) <= tol * std::abs(x)) {
      reals.push_back(x.real());
    } else if (x.imag() > 0) {
      pos.push_back(x);
    } else {
      neg.push_back(x);
    }
  }
  if (pos.size() != neg.size()) {
    throw std::logic_error("butterworth: complex root without conjugate");
  }
  // Within runs of (nearly) equal real part, order by |imag| so conjugates line up.
  auto order_runs = [tol](std::vector<cplx>& w) {
    std::size_t i = 0;
    while (i < w.size()) {
      std::size_t j = i + 1;
      while (j < w.size() && w[j].real() - w[j - 1].real() <= tol * std::abs(w[j - 1])) ++j;
      std::stable_sort(w.begin() + static_cast<std::ptrdiff_t>(i), w.begin() + static_cast<std::ptrdiff_t>(j),
                       [](const cplx& a, const cplx& b) { return std::abs(a.imag()) < std::abs(b.imag()); });
      i = j;
    }
  };
  order_runs(pos);
  order_runs(neg);
  std::vector<Root> out;
  for (std::size_t i = 0; i < pos.size(); ++i) {
    out.push_back({(pos[i] + std::conj(neg[i])) / 2.0, false});
  }
  for (double r : reals) out.push_back({cplx(r, 0.0), true});
  return out;
}

enum class Which { Any, Real, Complex };

// Index of the root in `from` nearest to `to` among those of kind `which` (first in case of ties).
std::size_t nearest(const std::vector<Root>& from, cplx to, Which which) {
  std::size_t best = from.size();
  double best_d = std::numeric_limits<double>::infinity();
  for (std::size_t i = 0; i < from.size(); ++i) {
    if (which == Which::Real && !from[i].real) continue;
    if (which == Which::Complex && from[i].real) continue;
    const double d = std::abs(from[i].v - to);
    if (d < best_d) {
      best_d = d;
      best = i;
    }
  }
  if (best == from.size()) throw std::logic_error("butterworth: no root of the requested kind");
  return best;
}

// Pole closest to the unit circle (first on ties), optionally among real poles only.
std::size_t worst(const std::vector<Root>& p, bool real_only) {
  std::size_t best = p.size();
  double best_d = std::numeric_limits<double>::infinity();
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (real_only && !p[i].real) continue;
    const double d = std::abs(1.0 - std::abs(p[i].v));
    if (d < best_d) {
      best_d = d;
      best = i;
    }
  }
  return best;
}

std::size_t count_real(const std::vector<Root>& v) {
  return static_cast<std::size_t>(std::count_if(v.begin(), v.end(), [](const Root& r) { return r.real; }));
}

Root take(std::vector<Root>& v, std::size_t i) {
  Root r = v[i];
  v.erase(v.begin() + static_cast<std::ptrdiff_t>(i));
  return r;
}

// Up to two roots of one section's numerator or denominator (fixed storage: no heap, no bounds to get
// wrong).
struct Roots2 {
  cplx v[2];
  std::size_t n;
};
Roots2 none() { return {{cplx(), cplx()}, 0}; }
Roots2 one(cplx a) { return {{a, cplx()}, 1}; }
Roots2 two(cplx a, cplx b) { return {{a, b}, 2}; }

// Real polynomial coefficients (leading 1) of a conjugate-closed set of up to two roots, right-aligned in
// three slots, as scipy's _single_zpksos places them.
void poly2(const Roots2& r, double* out3) {
  out3[0] = out3[1] = out3[2] = 0.0;
  if (r.n == 0) {
    out3[2] = 1.0;
  } else if (r.n == 1) {
    out3[1] = 1.0;
    out3[2] = -r.v[0].real();
  } else {
    out3[0] = 1.0;
    out3[1] = -(r.v[0] + r.v[1]).real();
    out3[2] = (r.v[0] * r.v[1]).real();
  }
}

Section make_section(const Roots2& z, const Roots2& p) {
  Section s{};
  poly2(z, s.data());
  poly2(p, s.data() + 3);
  return s;
}

// Digital zpk -> SOS with "nearest" pairing: the pole nearest the unit circle is taken first and placed
// in the last section, paired with the nearest zeros; the gain goes into the first section.
Sos zpk2sos(Zpk f) {
  if (f.z.empty() && f.p.empty()) return Sos{Section{f.k, 0, 0, 1, 0, 0}};
  while (f.p.size() < f.z.size()) f.p.emplace_back(0.0, 0.0);
  while (f.z.size() < f.p.size()) f.z.emplace_back(0.0, 0.0);
  const std::size_t n_sections = (f.p.size() + 1) / 2;
  if (f.p.size() % 2 == 1) {
    f.p.emplace_back(0.0, 0.0);
    f.z.emplace_back(0.0, 0.0);
  }
  std::vector<Root> z = cplxreal(f.z);
  std::vector<Root> p = cplxreal(f.p);
  Sos sos(n_sections);
  for (std::size_t si = n_sections; si-- > 0;) {
    const Root p1 = take(p, worst(p, false));
    if (p1.real && count_real(p) == 0) {
      // Last remaining real pole: pair with the nearest real zero, pad with a root at 0.
      const Root z1 = take(z, nearest(z, p1.v, Which::Real));
      sos[si] = make_section(two(z1.v, 0.0), two(p1.v, 0.0));
    } else if (p.size() + 1 == z.size() && !p1.real && count_real(p) == 1 && count_real(z) == 1) {
      // One real pole and one real zero left: this complex pole must take a complex zero pair.
      const Root z1 = take(z, nearest(z, p1.v, Which::Complex));
      sos[si] = make_section(two(z1.v, std::conj(z1.v)), two(p1.v, std::conj(p1.v)));
    } else {
      cplx p2;
      if (p1.real) {
        p2 = take(p, worst(p, true)).v;
      } else {
        p2 = std::conj(p1.v);
      }
      if (!z.empty()) {
        const Root z1 = take(z, nearest(z, p1.v, Which::Any));
        if (!z1.real) {
          sos[si] = make_section(two(z1.v, std::conj(z1.v)), two(p1.v, p2));
        } else if (!z.empty()) {
          const Root z2 = take(z, nearest(z, p1.v, Which::Real));
          sos[si] = make_section(two(z1.v, z2.v), two(p1.v, p2));
        } else {
          sos[si] = make_section(one(z1.v), two(p1.v, p2));
        }
      } else {
        sos[si] = make_section(none(), two(p1.v, p2));
      }
    }
  }
  for (std::size_t i = 0; i < 3; ++i) sos[0][i] *= f.k;
  return sos;
}

}  // namespace

Sos butter_bandpass(int order, double lo, double hi, double fs) {
  check_order(order);
  check_rate(fs);
  check_edge("band-pass low edge", lo, fs);
  check_edge("band-pass high edge", hi, fs);
  if (!(lo < hi)) {
    throw std::invalid_argument("butterworth: band-pass low edge " + fmt(lo) + " Hz must be below the high edge " +
                                fmt(hi) + " Hz");
  }
  Zpk f = buttap(order);
  const double w1 = prewarp(lo, fs), w2 = prewarp(hi, fs);
  lp2bp(f, std::sqrt(w1 * w2), w2 - w1);
  bilinear(f);
  return zpk2sos(std::move(f));
}

Sos butter_lowpass(int order, double fc, double fs) {
  check_order(order);
  check_rate(fs);
  check_edge("low-pass cutoff", fc, fs);
  Zpk f = buttap(order);
  lp2lp(f, prewarp(fc, fs));
  bilinear(f);
  return zpk2sos(std::move(f));
}

Sos butter_highpass(int order, double fc, double fs) {
  check_order(order);
  check_rate(fs);
  check_edge("high-pass cutoff", fc, fs);
  Zpk f = buttap(order);
  lp2hp(f, prewarp(fc, fs));
  bilinear(f);
  return zpk2sos(std::move(f));
}

// ---- filtering -------------------------------------------------------------------------------

namespace {
Sos normalised(Sos sos) {
  if (sos.empty()) throw std::invalid_argument("SosFilter: no sections");
  for (Section& s : sos) {
    if (s[3] == 0.0 || !std::isfinite(s[3])) {
      throw std::invalid_argument("SosFilter: a0 of a section is zero or not finite");
    }
    if (s[3] != 1.0) {
      const double a0 = s[3];
      for (double& c : s) c /= a0;
    }
  }
  return sos;
}

// G consecutive DF-II-transposed biquads over a block, in place. One biquad is bound by the latency of
// its recursion (y -> z0 -> y: add, multiply, subtract, add per sample), and in a plain sample-major
// cascade the sections of one sample also wait on each other. So the sections are software-pipelined:
// in iteration i, section g processes sample i - g, taking section g-1's output of the previous
// iteration from h[g-1]. The G updates of one iteration are independent, and the CPU overlaps G
// recursions. Each section still applies exactly scipy's operations to exactly the same sequence, so
// the output is bit-identical to a section-by-section or sample-by-sample loop, and to any chunking.
// Backward runs over x[n-1], ..., x[0] (sosfiltfilt's second pass) without reversing the data.
template <std::size_t G, bool Backward>
[[gnu::noinline]] void biquads_block(const Section* c, double* zi, double* x, std::size_t n) {
  double b0[G], b1[G], b2[G], a1[G], a2[G], z0[G], z1[G], h[G];
  for (std::size_t g = 0; g < G; ++g) {
    b0[g] = c[g][0];
    b1[g] = c[g][1];
    b2[g] = c[g][2];
    a1[g] = c[g][4];
    a2[g] = c[g][5];
    z0[g] = zi[2 * g];
    z1[g] = zi[2 * g + 1];
    h[g] = 0.0;
  }
  auto at = [x, n](std::size_t j) -> double& { return x[Backward ? n - 1 - j : j]; };
  auto step = [&](std::size_t g, double v) {
    const double y = b0[g] * v + z0[g];
    z0[g] = b1[g] * v - a1[g] * y + z1[g];
    z1[g] = b2[g] * v - a2[g] * y;
    return y;
  };
  // Sections in descending order within an iteration, so h[g-1] is read before it is overwritten.
  auto checked = [&](std::size_t i) {
    for (std::size_t g = G; g-- > 0;) {
      if (i < g || i - g >= n) continue;  // pipeline filling or draining
      const double y = step(g, g == 0 ? at(i) : h[g - 1]);
      if (g == G - 1) {
        at(i - g) = y;
      } else {
        h[g] = y;
      }
    }
  };
  const std::size_t fill = G - 1, total = n + G - 1;
  std::size_t i = 0;
  for (; i < fill && i < total; ++i) checked(i);
  for (; i < n; ++i) {  // steady state: every section busy, no bounds tests
    if constexpr (G == 1) {
      at(i) = step(0, at(i));
    } else {
      at(i - (G - 1)) = step(G - 1, h[G - 2]);
      for (std::size_t g = G - 1; g-- > 1;) h[g] = step(g, h[g - 1]);
      h[0] = step(0, at(i));
    }
  }
  for (; i < total; ++i) checked(i);
  for (std::size_t g = 0; g < G; ++g) {
    zi[2 * g] = z0[g];
    zi[2 * g + 1] = z1[g];
  }
}

template <bool Backward>
void run_cascade_dir(const Sos& sos, std::vector<double>& zi, double* x, std::size_t n) {
  // Groups of up to eight sections per pass over the data (an order-8 band-pass is one group).
  std::size_t s = 0;
  const std::size_t ns = sos.size();
  while (s < ns) {
    const std::size_t g = std::min<std::size_t>(8, ns - s);
    const Section* c = &sos[s];
    double* z = &zi[2 * s];
    switch (g) {
      case 8: biquads_block<8, Backward>(c, z, x, n); break;
      case 7: biquads_block<7, Backward>(c, z, x, n); break;
      case 6: biquads_block<6, Backward>(c, z, x, n); break;
      case 5: biquads_block<5, Backward>(c, z, x, n); break;
      case 4: biquads_block<4, Backward>(c, z, x, n); break;
      case 3: biquads_block<3, Backward>(c, z, x, n); break;
      case 2: biquads_block<2, Backward>(c, z, x, n); break;
      default: biquads_block<1, Backward>(c, z, x, n); break;
    }
    s += g;
  }
}

void run_cascade(const Sos& sos, std::vector<double>& zi, double* x, std::size_t n) {
  run_cascade_dir<false>(sos, zi, x, n);
}
}  // namespace

SosFilter::SosFilter(Sos sos) : sos_(normalised(std::move(sos))), zi_(2 * sos_.size(), 0.0) {}

void SosFilter::reset() { std::fill(zi_.begin(), zi_.end(), 0.0); }

void SosFilter::process(const double* in, double* out, std::size_t n) {
  if (n == 0) return;
  if (out != in) std::copy(in, in + n, out);
  run_cascade(sos_, zi_, out, n);
}

void SosFilter::set_state(std::vector<double> zi) {
  if (zi.size() != 2 * sos_.size()) {
    throw std::invalid_argument("SosFilter::set_state: expected " + std::to_string(2 * sos_.size()) +
                                " values (2 per section), got " + std::to_string(zi.size()));
  }
  zi_ = std::move(zi);
}

std::vector<double> sosfilt_zi(const Sos& sos_in) {
  const Sos sos = normalised(sos_in);
  std::vector<double> zi(2 * sos.size());
  double scale = 1.0;
  for (std::size_t s = 0; s < sos.size(); ++s) {
    const Section& c = sos[s];
    const double b0 = c[0], b1 = c[1], b2 = c[2], a1 = c[4], a2 = c[5];
    // Steady state of a DF-II-T biquad under a unit step: z0 = y - b0, z1 = b2 - a2*y with
    // y = H(1) = (b0+b1+b2)/(1+a1+a2); solving the state equations for constant input 1 gives
    // z0 = (b1 - a1 b0 + b2 - a2 b0) / (1 + a1 + a2) and z1 = (b2 - a2 b0) - a2 z0.
    const double den = 1.0 + a1 + a2;
    const double z0 = ((b1 - a1 * b0) + (b2 - a2 * b0)) / den;
    const double z1 = (b2 - a2 * b0) - a2 * z0;
    zi[2 * s] = scale * z0;
    zi[2 * s + 1] = scale * z1;
    // The next section's input settles at this section's DC gain times the step.
    scale *= (b0 + b1 + b2) / den;
  }
  return zi;
}

std::size_t sosfiltfilt_padlen(const Sos& sos) {
  std::size_t zb2 = 0, za2 = 0;
  for (const Section& s : sos) {
    zb2 += s[2] == 0.0 ? 1U : 0U;
    za2 += s[5] == 0.0 ? 1U : 0U;
  }
  return 3 * (2 * sos.size() + 1 - std::min(zb2, za2));
}

void sosfiltfilt(const Sos& sos_in, const double* x, std::size_t n, double* y, std::vector<double>& work) {
  const Sos sos = normalised(sos_in);
  const std::size_t edge = sosfiltfilt_padlen(sos);
  if (n <= edge) {
    throw std::invalid_argument("sosfiltfilt: input length " + std::to_string(n) +
                                " must be greater than padlen " + std::to_string(edge));
  }
  // Odd extension: 2*x[0] - x[edge..1] before, 2*x[n-1] - x[n-2..n-1-edge] after.
  if (work.size() < n + 2 * edge) work.resize(n + 2 * edge);
  double* ext = work.data();
  const std::size_t len = n + 2 * edge;
  for (std::size_t i = 0; i < edge; ++i) ext[i] = 2.0 * x[0] - x[edge - i];
  for (std::size_t i = 0; i < edge; ++i) ext[edge + n + i] = 2.0 * x[n - 1] - x[n - 2 - i];
  std::copy(x, x + n, ext + edge);  // after the extensions are built, so y may alias x

  const std::vector<double> zi = sosfilt_zi(sos);
  std::vector<double> state(zi.size());
  const double x0 = ext[0];
  for (std::size_t i = 0; i < zi.size(); ++i) state[i] = zi[i] * x0;
  run_cascade(sos, state, ext, len);

  // Backward pass over the forward output, starting from its last sample's steady state.
  const double y0 = ext[len - 1];
  for (std::size_t i = 0; i < zi.size(); ++i) state[i] = zi[i] * y0;
  run_cascade_dir<true>(sos, state, ext, len);
  std::copy(ext + edge, ext + edge + n, y);
}

std::vector<double> sosfiltfilt(const Sos& sos, const double* x, std::size_t n) {
  std::vector<double> work;
  std::vector<double> y(n);
  sosfiltfilt(sos, x, n, y.data(), work);
  return y;
}

}  // namespace deepclean::dsp
