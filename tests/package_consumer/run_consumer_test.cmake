# ctest driver (cmake -P): install QTUNE_BUILD_DIR into WORK_DIR/prefix, then configure, build
# and run CONSUMER_SOURCE_DIR against it. Any failing step fails the test with its output.
foreach(var QTUNE_BUILD_DIR CONSUMER_SOURCE_DIR WORK_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_consumer_test.cmake: -D${var}=... is required")
  endif()
endforeach()
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")

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
step(run "${WORK_DIR}/build/consumer" "${WORK_DIR}/consumer.qidx")
message(STATUS "${step_output}")
