# ctest driver (cmake -P): install QTUNE_BUILD_DIR into WORK_DIR/prefix, then configure, build
# and run CONSUMER_SOURCE_DIR against it with node and npm absent from PATH (a service needs
# neither). Checks that `consumer` (qtune::core) links no yaml-cpp, no tuner and no report.
# Any failing step fails the test with its output.
foreach(var QTUNE_BUILD_DIR CONSUMER_SOURCE_DIR WORK_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_consumer_test.cmake: -D${var}=... is required")
  endif()
endforeach()
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")

# PATH without node/npm: folders holding them are dropped, unless they also hold the compiler
# or cmake (e.g. /usr/bin); there, stand-ins that fail and leave a mark shadow them.
set(shadow "${WORK_DIR}/no-node-bin")
file(MAKE_DIRECTORY "${shadow}")
foreach(tool node nodejs npm npx)
  file(WRITE "${shadow}/${tool}" "#!/bin/sh\necho \"${tool} was called: \$*\" >> '${WORK_DIR}/node-called'\nexit 127\n")
  file(CHMOD "${shadow}/${tool}" PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
                                             WORLD_READ WORLD_EXECUTE)
endforeach()
set(clean_path "${shadow}")
string(REPLACE ":" ";" path_dirs "$ENV{PATH}")
foreach(dir IN LISTS path_dirs)
  if(EXISTS "${dir}/node" OR EXISTS "${dir}/nodejs" OR EXISTS "${dir}/npm")
    if(NOT (EXISTS "${dir}/c++" OR EXISTS "${dir}/g++" OR EXISTS "${dir}/cmake"))
      continue()
    endif()
  endif()
  string(APPEND clean_path ":${dir}")
endforeach()
set(ENV{PATH} "${clean_path}")

function(step name)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "package consumer: step '${name}' failed (${rc}):\n${out}\n${err}")
  endif()
  message(STATUS "package consumer: ${name}: ok")
  set(step_output "${out}" PARENT_SCOPE)
endfunction()

step(install ${CMAKE_COMMAND} --install "${QTUNE_BUILD_DIR}" --prefix "${WORK_DIR}/prefix")
foreach(f include/qtune/qtune.hpp include/qtune/version.hpp lib/cmake/qtune/qtune-config.cmake
          lib/cmake/qtune/qtune-config-version.cmake)
  if(NOT EXISTS "${WORK_DIR}/prefix/${f}")
    message(FATAL_ERROR "package consumer: ${f} was not installed")
  endif()
endforeach()
step(configure ${CMAKE_COMMAND} -S "${CONSUMER_SOURCE_DIR}" -B "${WORK_DIR}/build"
     -DCMAKE_BUILD_TYPE=Release "-DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix")
step(build ${CMAKE_COMMAND} --build "${WORK_DIR}/build")
if(EXISTS "${WORK_DIR}/node-called")
  file(READ "${WORK_DIR}/node-called" called)
  message(FATAL_ERROR "package consumer: building against the package called node/npm:\n${called}")
endif()

# The service's link line: the core layer and what it needs, nothing of the tuner or the report.
file(GLOB_RECURSE link_files "${WORK_DIR}/build/CMakeFiles/consumer.dir/link.txt")
if(NOT link_files)
  message(FATAL_ERROR "package consumer: no link.txt for `consumer` (not a Makefile generator?)")
endif()
file(READ "${link_files}" link_line)
string(STRIP "${link_line}" link_line)
message(STATUS "package consumer: link line: ${link_line}")
foreach(forbidden yaml-cpp yaml qtune_tune qtune_report report_assets qtune_eval hdf5)
  string(FIND "${link_line}" "${forbidden}" at)
  if(NOT at EQUAL -1)
    message(FATAL_ERROR "package consumer: `consumer` (qtune::core only) links '${forbidden}':\n${link_line}")
  endif()
endforeach()
string(FIND "${link_line}" "libqtune_core.a" at)
if(at EQUAL -1)
  message(FATAL_ERROR "package consumer: `consumer` does not link libqtune_core.a:\n${link_line}")
endif()

step(run "${WORK_DIR}/build/consumer" "${WORK_DIR}/consumer.qidx")
message(STATUS "${step_output}")
step(run_umbrella "${WORK_DIR}/build/consumer_umbrella" "${WORK_DIR}/consumer_umbrella.qidx")
