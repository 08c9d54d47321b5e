# ASan + UBSan for our targets when DEEPCLEAN_SANITIZE=ON. Link flags are applied globally so that
# every executable (tests, tools) pulls in the runtimes.
if(DEEPCLEAN_SANITIZE)
  set(_san -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_compile_options(${_san})
  add_link_options(-fsanitize=address,undefined)
endif()
# ThreadSanitizer when DEEPCLEAN_SANITIZE_THREAD=ON (tools/tsan.sh). TSan cannot be combined with
# ASan, hence the two options are exclusive. -O1 keeps the run fast enough while leaving the
# stacks readable; it comes after the build type's flags, so it wins.
if(DEEPCLEAN_SANITIZE_THREAD)
  if(DEEPCLEAN_SANITIZE OR DEEPCLEAN_FUZZ)
    message(FATAL_ERROR "DEEPCLEAN_SANITIZE_THREAD cannot be combined with DEEPCLEAN_SANITIZE or DEEPCLEAN_FUZZ "
                        "(ThreadSanitizer and AddressSanitizer are exclusive)")
  endif()
  # -Wno-tsan: GCC warns that TSan does not model std::atomic_thread_fence, which Boost.Asio's
  # std_fenced_block uses around handler dispatch; Asio's queues themselves are mutex-protected,
  # which TSan does see. Without it -Werror (DEEPCLEAN_WERROR) fails every file including Asio.
  add_compile_options(-fsanitize=thread -g -O1 -fno-omit-frame-pointer)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    add_compile_options(-Wno-tsan)
  endif()
  add_link_options(-fsanitize=thread)
endif()
function(deepclean_sanitizers target)
  # Global flags above already cover the target; kept as a hook for per-target tweaks.
endfunction()

# Fuzzing build (clang): instrument all our code for coverage; fuzz/ adds -fsanitize=fuzzer on link.
if(DEEPCLEAN_FUZZ)
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
