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

# deepclean_library(<name> <dir> [LIBS ...]): one static library per source folder, from every *.cpp in
# <dir> (globbed, so adding a file needs no CMake edit). Namespaced alias deepclean::<name>.
function(deepclean_library name dir)
  cmake_parse_arguments(ARG "" "" "LIBS;EXCLUDE" ${ARGN})
  file(GLOB _src CONFIGURE_DEPENDS ${dir}/*.cpp)
  foreach(_ex ${ARG_EXCLUDE})
    list(FILTER _src EXCLUDE REGEX "${_ex}")
  endforeach()
  if(NOT _src)
    return()
  endif()
  add_library(deepclean_${name} STATIC ${_src})
  add_library(deepclean::${name} ALIAS deepclean_${name})
  deepclean_set_options(deepclean_${name})
  if(ARG_LIBS)
    target_link_libraries(deepclean_${name} PUBLIC ${ARG_LIBS})
  endif()
endfunction()
