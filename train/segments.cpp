#include "train/segments.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace deepclean::train {

Split split_segments(const std::vector<Segment>& segments, double validation_fraction, std::size_t kernel) {
  Split s;
  std::vector<Segment> usable;
  std::size_t total = 0;
  for (const Segment& g : segments) {
    if (g.size() >= kernel && kernel > 0) {
      usable.push_back(g);
      total += g.size();
    } else {
      s.short_samples += g.size();
    }
  }
  auto need = static_cast<std::size_t>(std::floor(static_cast<double>(total) * validation_fraction));
  const auto keep = [&](std::vector<Segment>& to, Segment p) {
    if (p.size() == 0) return;
    if (p.size() >= kernel) {
      to.push_back(p);
    } else {
      s.short_samples += p.size();
    }
  };
  std::vector<Segment> valid_rev;
  std::size_t i = usable.size();
  while (i > 0 && need > 0) {
    const Segment g = usable[--i];
    if (g.size() <= need) {
      valid_rev.push_back(g);
      need -= g.size();
      continue;
    }
    const std::size_t v = std::min(g.size(), std::max(need, kernel));
    keep(valid_rev, {g.end - v, g.end});
    need = 0;
    ++i;  // the rest of this segment trains
    usable[i - 1] = {g.begin, g.end - v};
  }
  for (std::size_t j = 0; j < i; ++j) keep(s.train, usable[j]);
  for (auto it = valid_rev.rbegin(); it != valid_rev.rend(); ++it) s.valid.push_back(*it);
  return s;
}

Split split_segments_first(const std::vector<Segment>& segments, double validation_fraction, std::size_t kernel) {
  // Mirror the time axis (sample m -> M - m), split, mirror back.
  std::size_t m = 0;
  for (const Segment& g : segments) m = std::max(m, g.end);
  const auto mirror = [m](const std::vector<Segment>& in) {
    std::vector<Segment> out;
    for (auto it = in.rbegin(); it != in.rend(); ++it) out.push_back({m - it->end, m - it->begin});
    return out;
  };
  Split s = split_segments(mirror(segments), validation_fraction, kernel);
  s.train = mirror(s.train);
  s.valid = mirror(s.valid);
  return s;
}

std::size_t kernels_per_epoch(const std::vector<Segment>& pieces, std::size_t kernel, std::size_t stride) {
  if (stride == 0) throw std::invalid_argument("kernels_per_epoch: stride 0");
  std::size_t n = 0;
  for (const Segment& p : pieces) {
    if (p.size() >= kernel) n += (p.size() - kernel) / stride + 1;
  }
  return n;
}

std::vector<std::size_t> tiled_offsets(const std::vector<Segment>& pieces, std::size_t kernel) {
  std::vector<std::size_t> out;
  if (kernel == 0) return out;
  for (const Segment& p : pieces) {
    for (std::size_t o = p.begin; o + kernel <= p.end; o += kernel) out.push_back(o);
  }
  return out;
}

OffsetSampler::OffsetSampler(const std::vector<Segment>& pieces, std::size_t kernel) : kernel_(kernel) {
  for (const Segment& p : pieces) {
    if (kernel == 0 || p.size() < kernel) continue;
    pieces_.push_back(p);
    first_.push_back(count_);
    count_ += p.size() - kernel + 1;
  }
}

std::size_t OffsetSampler::at(std::size_t index) const {
  if (index >= count_) throw std::out_of_range("OffsetSampler: index past the last offset");
  const auto it = std::upper_bound(first_.begin(), first_.end(), index);
  const auto p = static_cast<std::size_t>(it - first_.begin()) - 1;
  return pieces_[p].begin + (index - first_[p]);
}

}  // namespace deepclean::train
