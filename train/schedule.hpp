// Learning-rate schedule of `deepclean train`: reduce on a validation-loss plateau, with the
// semantics of PyTorch's torch.optim.lr_scheduler.ReduceLROnPlateau(mode="min",
// threshold=1e-4, threshold_mode="rel", cooldown=0, eps=1e-8), as DC-2022 and DC-MS use it
// (deepclean-reference §3.2). Torch-free so that it can be tested as a pure function.
#pragma once

#include <vector>

namespace deepclean::train {

class PlateauSchedule {
 public:
  // factor in (0, 1]: 1 never reduces. patience >= 0. min_lr >= 0.
  PlateauSchedule(double lr, double factor, int patience, double min_lr, double threshold = 1e-4, int cooldown = 0);
  // Feed one epoch's validation loss; returns the learning rate for the next epoch. As PyTorch: the
  // loss is "better" when loss < best * (1 - threshold); after more than `patience` epochs without
  // a better loss the rate becomes max(lr * factor, min_lr), unless that changes it by no more than
  // 1e-8; then `cooldown` epochs pass in which bad epochs are not counted.
  double step(double loss);
  double lr() const { return lr_; }
  double best() const { return best_; }
  int bad_epochs() const { return bad_; }

 private:
  double lr_, factor_, min_lr_, threshold_;
  int patience_, cooldown_;
  double best_;
  int bad_ = 0;
  int cooldown_left_ = 0;
};

// The learning rate used in each epoch 1..N for a sequence of N validation losses (entry i is the
// rate of epoch i + 1, i.e. before loss i is fed), for tests and the documentation.
std::vector<double> plateau_lrs(const std::vector<double>& losses, double lr, double factor, int patience,
                                double min_lr);

}  // namespace deepclean::train
