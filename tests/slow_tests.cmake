# A CTest include file (tests/CMakeLists.txt adds it after gtest_discover_tests): labels the
# slowest, data-heavy tests "slow". The sanitizer build (.ci/sanitize) runs `ctest -LE slow`;
# the normal build runs everything. qtune_tests_TESTS is the list gtest_discover_tests made.
# (package_consumer gets the label where it is added, in tests/CMakeLists.txt.)
set(QTUNE_SLOW_TEST_REGEX
    "^(codec_faiss\\.|codec_error\\.budgets_per_bit_width|tune_cli\\.sigkill|report\\.renders_in_headless_chromium|report\\.chromium_check|weights_report\\.stats_and_plan_write_html|index_hnsw\\.every_codec_matches|index_hnsw\\.sift10k_recall|readme\\.library_example|tune_sift10k\\.)")
foreach(t IN LISTS qtune_tests_TESTS)
  if(t MATCHES "${QTUNE_SLOW_TEST_REGEX}")
    set_tests_properties("${t}" PROPERTIES LABELS slow)
  endif()
endforeach()
