# Injected with -DCMAKE_PROJECT_INCLUDE=tools/gpu/gpu-project.cmake by tools/gpu/build-and-test.sh:
# it runs right after project() and before anything else in CMakeLists.txt. Workarounds for
# building against a PyTorch install's CUDA LibTorch without touching CMakeLists.txt; each is off
# unless the script detected the need (docs/gpu.md says how they should become proper options).
#
# DC_FORCE_CXX20: PyTorch 2.14 and later refuse C++17 in their headers; CMakeLists.txt sets
#   CMAKE_CXX_STANDARD 17 after this file runs, so make the flag CMake emits for "C++17" ask for
#   C++20 instead.
# DC_NVTOOLSEXT_STUB: PyTorch 2.7's Caffe2 cuda.cmake falls back to the NVTX2 library
#   CUDA::nvToolsExt when it cannot find NVTX3 headers, and CUDA >= 12.9 no longer ships that
#   library: the torch target then names a target that does not exist. deepclean makes no NVTX
#   calls and libtorch_cuda brings its own, so an empty stand-in is enough.
if(DC_FORCE_CXX20 AND (CMAKE_CXX_COMPILER_ID STREQUAL "GNU" OR CMAKE_CXX_COMPILER_ID MATCHES "Clang"))
  set(CMAKE_CXX17_STANDARD_COMPILE_OPTION "-std=c++20")
  set(CMAKE_CXX17_EXTENSION_COMPILE_OPTION "-std=gnu++20")
  message(STATUS "gpu-project.cmake: C++17 targets are compiled with -std=c++20 (LibTorch needs C++20)")
endif()
if(DC_NVTOOLSEXT_STUB AND NOT TARGET CUDA::nvToolsExt)
  add_library(CUDA::nvToolsExt INTERFACE IMPORTED GLOBAL)
  message(STATUS "gpu-project.cmake: empty CUDA::nvToolsExt (the CUDA toolkit has no libnvToolsExt)")
endif()
