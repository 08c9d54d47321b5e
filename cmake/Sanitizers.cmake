# ASan + UBSan for our targets when DEEPCLEAN_SANITIZE=ON. Link flags are applied globally so that
# every executable (tests, tools) pulls in the runtimes.
if(DEEPCLEAN_SANITIZE)
  set(_san -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_compile_options(${_san})
  add_link_options(-fsanitize=address,undefined)
endif()
function(deepclean_sanitizers target)
  # Global flags above already cover the target; kept as a hook for per-target tweaks.
endfunction()

# Fuzzing build (clang): instrument all our code for coverage; fuzz/ adds -fsanitize=fuzzer on link.
if(DEEPCLEAN_FUZZ)
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
