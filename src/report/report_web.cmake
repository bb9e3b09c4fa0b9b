# The HTML reports (src/report/) inline Vega, Vega-Lite and Vega-Embed, pinned by
# src/report/web/package-lock.json. At build time `npm ci` installs them into the build folder
# (never the source tree), once: a stamp file depending on package.json/package-lock.json keeps
# later builds from downloading again. gen_assets.js then writes a C++ source that embeds the
# minified bundles, compiled into qtune_report.
# Included only when node and npm were found (the top-level CMakeLists.txt says so otherwise).
set(QTUNE_REPORT_WEB_SRC ${CMAKE_CURRENT_SOURCE_DIR}/src/report/web)
set(QTUNE_REPORT_WEB_DIR ${CMAKE_CURRENT_BINARY_DIR}/report-web)
set(QTUNE_REPORT_WEB_STAMP ${QTUNE_REPORT_WEB_DIR}/npm-ci.stamp)
set(QTUNE_REPORT_ASSETS_CPP ${CMAKE_CURRENT_BINARY_DIR}/generated/report_assets.cpp)
file(MAKE_DIRECTORY ${QTUNE_REPORT_WEB_DIR})  # the working folder of npm ci

add_custom_command(
  OUTPUT ${QTUNE_REPORT_WEB_STAMP}
  COMMAND ${CMAKE_COMMAND} -E copy_if_different ${QTUNE_REPORT_WEB_SRC}/package.json
          ${QTUNE_REPORT_WEB_SRC}/package-lock.json ${QTUNE_REPORT_WEB_DIR}/
  COMMAND ${QTUNE_NPM} ci --no-audit --no-fund --ignore-scripts --loglevel=error
  COMMAND ${CMAKE_COMMAND} -E touch ${QTUNE_REPORT_WEB_STAMP}
  WORKING_DIRECTORY ${QTUNE_REPORT_WEB_DIR}
  DEPENDS ${QTUNE_REPORT_WEB_SRC}/package.json ${QTUNE_REPORT_WEB_SRC}/package-lock.json
  COMMENT "npm ci: Vega, Vega-Lite, Vega-Embed for the HTML reports (into ${QTUNE_REPORT_WEB_DIR})"
  VERBATIM)

add_custom_command(
  OUTPUT ${QTUNE_REPORT_ASSETS_CPP}
  COMMAND ${QTUNE_NODE} ${QTUNE_REPORT_WEB_SRC}/gen_assets.js ${QTUNE_REPORT_WEB_DIR}/node_modules
          ${QTUNE_REPORT_ASSETS_CPP}
  DEPENDS ${QTUNE_REPORT_WEB_STAMP} ${QTUNE_REPORT_WEB_SRC}/gen_assets.js
  COMMENT "Embedding the Vega bundles into report_assets.cpp"
  VERBATIM)

target_sources(qtune_report PRIVATE ${QTUNE_REPORT_ASSETS_CPP})
