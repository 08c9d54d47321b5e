# Strict warnings for our own targets only; third-party headers come in as SYSTEM includes.
function(deepclean_warnings target)
  # -Wnull-dereference is left out: at -O2 it fires inside inlined Boost.Asio and libstdc++ code.
  set(_w -Wall -Wextra -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Wunused
         -Woverloaded-virtual -Wpedantic -Wconversion -Wsign-conversion
         -Wdouble-promotion -Wformat=2 -Wimplicit-fallthrough -Wmisleading-indentation)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    list(APPEND _w -Wduplicated-cond -Wduplicated-branches -Wlogical-op -Wuseless-cast)
  endif()
  if(DEEPCLEAN_WERROR)
    list(APPEND _w -Werror)
  endif()
  target_compile_options(${target} PRIVATE ${_w})
endfunction()

# deepclean_library(<name> SOURCES ... [PUBLIC ...] [PRIVATE ...]): the static library of one source
# folder, deepclean::<name>, from the sources its CMakeLists.txt lists. PUBLIC: what its headers
# need (consumers get it too); PRIVATE: what only its .cpp files use (third-party libraries whose
# headers ours do not include: consumers link them without seeing their headers).
function(deepclean_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;PUBLIC;PRIVATE" ${ARGN})
  add_library(deepclean_${name} STATIC ${ARG_SOURCES})
  add_library(deepclean::${name} ALIAS deepclean_${name})
  deepclean_set_options(deepclean_${name})
  target_link_libraries(deepclean_${name} PUBLIC ${ARG_PUBLIC} PRIVATE ${ARG_PRIVATE})
endfunction()
