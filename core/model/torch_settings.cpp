#include "core/model/torch_settings.hpp"

#include <ATen/Parallel.h>
#include <dlfcn.h>

#include <cstdlib>
#include <mutex>
#include <string>

#include "core/bundle/bundle.hpp"
#include "core/model/torch_errors.hpp"

namespace deepclean::model {

void apply_torch_settings(const TorchSettings& settings) {
  const int intra = settings.intra_op_threads;
  const int interop = settings.interop_threads;
  static std::mutex mutex;
  static int set_intra = 0;
  static int set_interop = 0;
  std::lock_guard<std::mutex> lock(mutex);
  if ((intra > 0 && set_intra > 0 && intra != set_intra) ||
      (interop > 0 && set_interop > 0 && interop != set_interop)) {
    throw bundle::BundleError("LibTorch thread pools were already set for this process (intra-op " +
                      std::to_string(set_intra) + ", inter-op " + std::to_string(set_interop) +
                      "); every model of the process runs with them (a restart changes them)");
  }
  // OpenBLAS (when it is the libblas.so.3 LibTorch calls for ConvTranspose1d) starts its own
  // pool of one thread per core; inside LibTorch's intra-op threads that only oversubscribes the
  // cores. One BLAS thread per caller, unless OPENBLAS_NUM_THREADS says otherwise.
  static bool blas_done = false;
  if (!blas_done) {
    blas_done = true;
    if (std::getenv("OPENBLAS_NUM_THREADS") == nullptr) {
      using SetThreads = void (*)(int);
      if (void* f = ::dlsym(RTLD_DEFAULT, "openblas_set_num_threads")) {
        reinterpret_cast<SetThreads>(f)(1);
      }
    }
  }
  try {
    if (intra > 0 && set_intra == 0) {
      at::set_num_threads(intra);
      set_intra = intra;
    }
    if (interop > 0 && set_interop == 0) {
      at::set_num_interop_threads(interop);  // throws once the inter-op pool has started
      set_interop = interop;
    }
  } catch (const c10::Error& e) {
    throw bundle::BundleError("LibTorch thread pools: " + detail::torch_message(e));
  }
}

}  // namespace deepclean::model
