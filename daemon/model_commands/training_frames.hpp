// The seconds a training configuration reads (train.cpp): its frame directories through the
// daemon's input reader, or the live service's training archive (`data.archive`).
#pragma once

#include "train/config.hpp"
#include "train/trainer.hpp"

namespace deepclean::cli {

train::SecondReader training_frames(const train::TrainConfig& cfg);

}  // namespace deepclean::cli
