# Included from the top-level CMakeLists.txt when QTUNE_BUILD_FUZZERS is ON, before any target:
# the whole build (library, tests, fuzz targets) gets AddressSanitizer + UndefinedBehaviorSanitizer
# and libFuzzer's coverage instrumentation (-fsanitize=fuzzer-no-link). Only the fuzz targets link
# libFuzzer's main (-fsanitize=fuzzer, in tests/fuzz/CMakeLists.txt). The same build runs
# qtune_tests under ASan+UBSan (.ci/sanitize). System libraries (FAISS, OpenBLAS, TBB, HDF5,
# yaml-cpp) are not instrumented.
if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "QTUNE_BUILD_FUZZERS needs clang (libFuzzer); configure with "
                      "-DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++")
endif()
set(QTUNE_SANITIZE_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
add_compile_options(${QTUNE_SANITIZE_FLAGS} -fsanitize=fuzzer-no-link -gline-tables-only)
add_link_options(${QTUNE_SANITIZE_FLAGS})
# hnswlib 0.6.2's searchKnn computes the prefetch address of the slot after a full level-0 list
# from a signed int read out of the next element's data (hnswalg.h:300): the address is only
# prefetched, never loaded, but the arithmetic wraps (UBSan pointer-overflow). qtune searches its
# own layout; only the test hook hnswlib_search_knn runs that loop. This one check is off for the
# one file that includes hnswlib; every other check stays on there.
set_source_files_properties(${CMAKE_CURRENT_SOURCE_DIR}/src/index/hnswlib_graph.cpp PROPERTIES
                            COMPILE_OPTIONS -fno-sanitize=pointer-overflow)
