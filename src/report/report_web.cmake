# The HTML reports (src/report/) inline Vega, Vega-Lite and Vega-Embed, pinned by
# src/report/web/package-lock.json. At build time `npm ci` installs them into the build folder
# (never the source tree), once: a stamp file depending on package.json/package-lock.json keeps
# later builds from downloading again. gen_assets.js then writes a C++ source that embeds the
# minified bundles, compiled into the qtune library.
find_program(QTUNE_NPM npm)
find_program(QTUNE_NODE NAMES node nodejs)
if(NOT QTUNE_NPM OR NOT QTUNE_NODE)
  message(FATAL_ERROR
    "qtune: node and npm are needed at build time to inline Vega-Lite into the HTML reports "
    "(src/report/web/package.json). Install them (Debian: apt-get install nodejs npm, or run "
    "bash .ci/install-deps) and configure again.")
endif()

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

target_sources(qtune PRIVATE ${QTUNE_REPORT_ASSETS_CPP})
