// Pure parts of `deepclean train`: the ReduceLROnPlateau schedule (against a hand-computed sequence
// and, when /usr/bin/python3 has torch, against torch.optim.lr_scheduler.ReduceLROnPlateau on the
// same losses) and the kernel planning around bad seconds (train/segments.hpp).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "train/schedule.hpp"
#include "train/segments.hpp"
#include "common/test_support.hpp"

using deepclean::train::OffsetSampler;
using deepclean::train::PlateauSchedule;
using deepclean::train::Segment;
using deepclean::train::plateau_lrs;
using deepclean::train::split_segments;

namespace {

int run(const std::string& cmd, std::string* out) { return deepclean::testing::run_shell(cmd, out); }

}  // namespace

// lr 1, factor 0.5, patience 2, min_lr 0.2, by hand (PyTorch: "better" = loss < best * (1 - 1e-4);
// a reduction after more than `patience` bad epochs, then the count restarts):
//  epoch  1: 1.0     best 1.0
//  epoch  2: 0.9     best 0.9
//  epoch  3: 0.95    bad 1
//  epoch  4: 0.9     bad 2 (equal is not better)
//  epoch  5: 0.89995 bad 3 (lower, but not by 1e-4 relative) -> lr 0.5
//  epoch  6: 0.8     best 0.8
//  epochs 7-9: 0.8   bad 1, 2, 3 -> lr 0.25
//  epochs 10-12: 0.8 bad 1, 2, 3 -> lr max(0.125, 0.2) = 0.2
//  epochs 13-15: 0.8 bad 1, 2, 3 -> max(0.1, 0.2) = 0.2: no change
TEST(PlateauSchedule, HandComputedSequence) {
  const std::vector<double> losses{1.0, 0.9, 0.95, 0.9, 0.89995, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8};
  const std::vector<double> expect{1, 1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.2, 0.2, 0.2, 0.2};
  EXPECT_EQ(plateau_lrs(losses, 1.0, 0.5, 2, 0.2), expect);

  PlateauSchedule s(1.0, 0.5, 2, 0.2);
  EXPECT_EQ(s.step(1.0), 1.0);
  EXPECT_EQ(s.step(0.9), 1.0);
  EXPECT_EQ(s.best(), 0.9);
  EXPECT_EQ(s.step(0.95), 1.0);
  EXPECT_EQ(s.bad_epochs(), 1);
  EXPECT_EQ(s.step(0.9), 1.0);
  EXPECT_EQ(s.step(0.89995), 0.5);
  EXPECT_EQ(s.bad_epochs(), 0);
  EXPECT_EQ(s.best(), 0.9);
}

TEST(PlateauSchedule, FactorOneNeverReducesAndCooldownSkipsEpochs) {
  EXPECT_EQ(plateau_lrs({1, 1, 1, 1, 1, 1}, 0.05, 1.0, 0, 0.0), std::vector<double>(6, 0.05));
  // patience 0, cooldown 1: reduce on the first bad epoch, ignore the next one.
  PlateauSchedule s(1.0, 0.1, 0, 0.0, 1e-4, 1);
  EXPECT_EQ(s.step(1.0), 1.0);
  EXPECT_DOUBLE_EQ(s.step(1.0), 0.1);   // bad 1 > 0
  EXPECT_DOUBLE_EQ(s.step(1.0), 0.1);   // cooldown
  EXPECT_DOUBLE_EQ(s.step(1.0), 0.01);  // bad again
  EXPECT_THROW(PlateauSchedule(1.0, 0.0, 1, 0.0), std::invalid_argument);
  EXPECT_THROW(PlateauSchedule(1.0, 1.5, 1, 0.0), std::invalid_argument);
}

// The same loss sequences through PyTorch's ReduceLROnPlateau (the outside oracle).
TEST(PlateauSchedule, MatchesPyTorchReduceLROnPlateau) {
  if (run(std::string(DEEPCLEAN_PYTHON) + " -c 'import torch' 2>/dev/null", nullptr) != 0) {
    GTEST_SKIP() << DEEPCLEAN_PYTHON << " has no torch";
  }
  struct Case {
    double lr, factor;
    int patience;
    double min_lr;
    std::vector<double> losses;
  };
  std::vector<Case> cases;
  cases.push_back({1.0, 0.5, 2, 0.2, {1.0, 0.9, 0.95, 0.9, 0.89995, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8}});
  // A noisy learning curve like the trainer's (plateau at 1, fall, jumps), DC-2022's and our defaults.
  std::vector<double> curve;
  for (int e = 0; e < 60; ++e) {
    const double base = e < 4 ? 1.0 : 0.15 + 0.85 * std::exp(-(e - 4) / 3.0);
    curve.push_back(base * (1.0 + 0.3 * std::sin(1.7 * e) * std::sin(0.37 * e * e)));
  }
  cases.push_back({0.05, 0.2, 2, 0.05 * 0.04, curve});
  cases.push_back({3.2e-2, 0.2, 8, 3.2e-2 * 0.04, curve});
  cases.push_back({1e-3, 0.1, 5, 0.0, curve});
  cases.push_back({0.05, 0.2, 0, 1e-4, curve});

  // One Python process for all cases (importing torch is slow): a line per case
  // "lr factor patience min_lr loss..." in, a line of learning rates out.
  const auto dir = std::filesystem::temp_directory_path() / ("dc_plateau_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "oracle.py") << "import sys, torch\n"
                                      "for line in sys.stdin:\n"
                                      "    v = line.split()\n"
                                      "    lr, factor, patience, min_lr = float(v[0]), float(v[1]), int(v[2]), float(v[3])\n"
                                      "    p = torch.nn.Parameter(torch.zeros(1))\n"
                                      "    opt = torch.optim.Adam([p], lr=lr)\n"
                                      "    s = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode='min', factor=factor, "
                                      "patience=patience, min_lr=min_lr)\n"
                                      "    out = []\n"
                                      "    for l in v[4:]:\n"
                                      "        out.append(repr(opt.param_groups[0]['lr']))\n"
                                      "        s.step(float(l))\n"
                                      "    print(' '.join(out))\n";
  {
    std::ofstream in(dir / "cases.txt");
    in.precision(17);
    for (const Case& c : cases) {
      in << c.lr << " " << c.factor << " " << c.patience << " " << c.min_lr;
      for (double l : c.losses) in << " " << l;
      in << "\n";
    }
  }
  std::string out;
  ASSERT_EQ(run(std::string(DEEPCLEAN_PYTHON) + " " + (dir / "oracle.py").string() + " < " +
                    (dir / "cases.txt").string() + " 2>&1",
                &out),
            0)
      << out;
  std::istringstream py(out);
  for (const Case& c : cases) {
    std::string line;
    ASSERT_TRUE(std::getline(py, line)) << out;
    std::istringstream theirs_line(line);
    const auto ours = plateau_lrs(c.losses, c.lr, c.factor, c.patience, c.min_lr);
    int reductions = 0;
    for (std::size_t i = 0; i < ours.size(); ++i) {
      double theirs = 0;
      ASSERT_TRUE(theirs_line >> theirs) << line;
      EXPECT_NEAR(ours[i], theirs, 1e-15 * c.lr) << "epoch " << i + 1 << " of case lr " << c.lr << " patience "
                                                 << c.patience;
      if (i > 0 && ours[i] != ours[i - 1]) ++reductions;
    }
    EXPECT_GT(reductions, 0) << "the case should exercise a reduction";
  }
  std::filesystem::remove_all(dir);
}

TEST(Segments, OneSegmentSplitsLikeTheFirstVersion) {
  // n = 20480 samples, validation 0.2: the last floor(0.2 n) = 4096 validate.
  const auto s = split_segments({{512, 512 + 20480}}, 0.2, 2048);
  ASSERT_EQ(s.train.size(), 1u);
  ASSERT_EQ(s.valid.size(), 1u);
  EXPECT_EQ(s.train[0], (Segment{512, 512 + 16384}));
  EXPECT_EQ(s.valid[0], (Segment{512 + 16384, 512 + 20480}));
  EXPECT_EQ(s.short_samples, 0u);
}

TEST(Segments, SplitAcrossSegments) {
  // 10000 usable samples, 0.3 validate = 3000: all of the last segment (2000) and the last 1000 of
  // the one before.
  const auto s = split_segments({{0, 5000}, {6000, 9000}, {10000, 12000}}, 0.3, 1000);
  EXPECT_EQ(s.train, (std::vector<Segment>{{0, 5000}, {6000, 8000}}));
  EXPECT_EQ(s.valid, (std::vector<Segment>{{8000, 9000}, {10000, 12000}}));
  EXPECT_EQ(s.short_samples, 0u);
}

TEST(Segments, ShortSegmentsAndPiecesAreDropped) {
  // Segments of 500 samples cannot hold a 1000-sample kernel; 7000 usable, 0.25 -> 1750 validate.
  const auto s = split_segments({{0, 500}, {1000, 4000}, {4100, 4600}, {5000, 9000}}, 0.25, 1000);
  EXPECT_EQ(s.train, (std::vector<Segment>{{1000, 4000}, {5000, 7250}}));
  EXPECT_EQ(s.valid, (std::vector<Segment>{{7250, 9000}}));
  EXPECT_EQ(s.short_samples, 1000u);
  // 4200 usable, 0.3 -> 1260: the last segment (1200) and 60 more, made a whole kernel (1000).
  const auto t = split_segments({{0, 3000}, {3500, 4700}}, 0.3, 1000);
  EXPECT_EQ(t.train, (std::vector<Segment>{{0, 2000}}));
  EXPECT_EQ(t.valid, (std::vector<Segment>{{2000, 3000}, {3500, 4700}}));
  // A cut that leaves less than a kernel for training drops the remainder.
  const auto u = split_segments({{0, 1500}}, 0.5, 1000);
  EXPECT_TRUE(u.train.empty());
  EXPECT_EQ(u.valid, (std::vector<Segment>{{500, 1500}}));
  EXPECT_EQ(u.short_samples, 500u);
}

TEST(Segments, ValidationFirstIsTheMirrorImage) {
  // As SplitAcrossSegments and ShortSegmentsAndPiecesAreDropped, read from the other end: 10000
  // usable samples, 0.3 validate = 3000: all of the first segment's 5000 would be too many, so its
  // first 3000; the rest trains.
  const auto s = deepclean::train::split_segments_first({{0, 5000}, {6000, 9000}, {10000, 12000}}, 0.3, 1000);
  EXPECT_EQ(s.valid, (std::vector<Segment>{{0, 3000}}));
  EXPECT_EQ(s.train, (std::vector<Segment>{{3000, 5000}, {6000, 9000}, {10000, 12000}}));
  // 4200 usable, 0.3 -> 1260: the first segment (1200) and 60 more, made a whole kernel (1000).
  const auto t = deepclean::train::split_segments_first({{0, 1200}, {1700, 4700}}, 0.3, 1000);
  EXPECT_EQ(t.valid, (std::vector<Segment>{{0, 1200}, {1700, 2700}}));
  EXPECT_EQ(t.train, (std::vector<Segment>{{2700, 4700}}));
  EXPECT_EQ(t.short_samples, 0u);
}

TEST(Segments, KernelOffsetsStayInsidePieces) {
  const std::vector<Segment> train{{0, 5000}, {6000, 8000}};
  EXPECT_EQ(deepclean::train::kernels_per_epoch(train, 1000, 256), (4000u / 256 + 1) + (1000u / 256 + 1));
  EXPECT_EQ(deepclean::train::tiled_offsets({{8000, 9000}, {10000, 12000}}, 1000),
            (std::vector<std::size_t>{8000, 10000, 11000}));
  const OffsetSampler s(train, 1000);
  ASSERT_EQ(s.count(), 4001u + 1001u);
  EXPECT_EQ(s.at(0), 0u);
  EXPECT_EQ(s.at(4000), 4000u);
  EXPECT_EQ(s.at(4001), 6000u);
  EXPECT_EQ(s.at(5001), 7000u);
  EXPECT_THROW(s.at(5002), std::out_of_range);
  std::size_t prev = 0;
  for (std::size_t i = 0; i < s.count(); ++i) {
    const std::size_t o = s.at(i);
    const bool inside = (o + 1000 <= 5000) || (o >= 6000 && o + 1000 <= 8000);
    ASSERT_TRUE(inside) << o;
    if (i > 0) {
      ASSERT_GT(o, prev);
    }
    prev = o;
  }
}
