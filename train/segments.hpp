// Where `deepclean train` takes its kernels from (docs/training.md, "Bad seconds"): the data are
// contiguous good segments of samples; they are split in time into training and validation pieces,
// and every kernel lies inside one piece, so none straddles a bad second or the split. Torch-free
// pure functions, tested directly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace deepclean::train {

// Samples [begin, end) of a Dataset's timeline.
struct Segment {
  std::size_t begin = 0;
  std::size_t end = 0;
  std::size_t size() const { return end - begin; }
  bool operator==(const Segment& o) const { return begin == o.begin && end == o.end; }
};

struct Split {
  std::vector<Segment> train;  // pieces at least one kernel long, in time order
  std::vector<Segment> valid;
  std::size_t short_samples = 0;  // samples in segments or pieces shorter than a kernel (unused)
};

// Splits good segments (in time order) in time: the last floor(validation_fraction * N) samples of
// the N samples in segments at least `kernel` long validate, the rest train. The segment the split
// falls in is cut; its validation piece is made at least one kernel long (when the segment allows)
// and a piece shorter than a kernel is dropped (counted in short_samples). For one segment this is
// "the first 1 - validation_fraction of the samples train, the rest validate".
Split split_segments(const std::vector<Segment>& segments, double validation_fraction, std::size_t kernel);
// The same with the validation part at the start: the first floor(validation_fraction * N) samples
// validate (the mirror image of split_segments: retraining against drift trains on the newest data).
Split split_segments_first(const std::vector<Segment>& segments, double validation_fraction, std::size_t kernel);

// Kernels per epoch: sum over pieces of floor((size - kernel) / stride) + 1.
std::size_t kernels_per_epoch(const std::vector<Segment>& pieces, std::size_t kernel, std::size_t stride);

// Validation kernels: consecutive non-overlapping kernels from the start of each piece.
std::vector<std::size_t> tiled_offsets(const std::vector<Segment>& pieces, std::size_t kernel);

// Random training kernels: every start offset o with [o, o + kernel) inside one piece, numbered
// 0..count()-1 in time order, so that a uniform index gives a uniform offset.
class OffsetSampler {
 public:
  OffsetSampler(const std::vector<Segment>& pieces, std::size_t kernel);
  std::size_t count() const { return count_; }
  std::size_t at(std::size_t index) const;  // index < count()

 private:
  std::vector<Segment> pieces_;
  std::vector<std::size_t> first_;  // index of each piece's first offset
  std::size_t kernel_, count_ = 0;
};

}  // namespace deepclean::train
