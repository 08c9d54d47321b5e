// LibTorch's process-wide settings. LibTorch keeps one intra-op and one inter-op thread pool per
// process, and the inter-op pool cannot be resized once it has started; so they are set once, by
// whoever owns the process (the service at start-up, a subcommand before its first load), and
// every model the process loads afterwards runs with them.
#pragma once

namespace deepclean::model {

struct TorchSettings {
  int intra_op_threads = 0;  // 0: keep LibTorch's default
  int interop_threads = 0;   // 0: keep LibTorch's default
};

// The first non-zero request for a pool fixes it for the process; a later request for a different
// count throws bundle::BundleError rather than silently changing the pools under a running model.
// The first call also limits OpenBLAS (when it is the BLAS LibTorch calls) to one thread per
// caller, unless OPENBLAS_NUM_THREADS says otherwise.
void apply_torch_settings(const TorchSettings& settings);

}  // namespace deepclean::model
