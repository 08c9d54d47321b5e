# Injected with -DCMAKE_PROJECT_INCLUDE=tools/gpu/cxx20.cmake by tools/gpu/build-and-test.sh when the
# LibTorch headers refuse C++17 (PyTorch 2.14 and later require C++20). It runs right after
# project(), before CMakeLists.txt sets CMAKE_CXX_STANDARD 17, and makes the flag CMake emits for
# "C++17" request C++20 instead: no change to CMakeLists.txt, and nothing changes without it.
# The proper fix is an option in CMakeLists.txt (docs/gpu.md).
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" OR CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  set(CMAKE_CXX17_STANDARD_COMPILE_OPTION "-std=c++20")
  set(CMAKE_CXX17_EXTENSION_COMPILE_OPTION "-std=gnu++20")
  message(STATUS "tools/gpu/cxx20.cmake: C++17 targets are compiled with -std=c++20 (LibTorch needs C++20)")
endif()
