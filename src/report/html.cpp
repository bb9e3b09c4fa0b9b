// The HTML shell of every report: inlined Vega bundles, an error recorder, the charts, tables.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "report/report.hpp"

namespace qtune::report {

namespace assets {
const std::string& vega();
const std::string& vega_lite();
const std::string& vega_embed();
const char* vega_version();
const char* vega_lite_version();
const char* vega_embed_version();
}  // namespace assets

std::string html_escape(const std::string& s) {
  std::string o;
  o.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      case '\'': o += "&#39;"; break;
      default: o += c;
    }
  }
  return o;
}

namespace {

/// JSON for a <script> element: "</" cannot end the element early; bad UTF-8 is replaced.
std::string script_json(const nlohmann::json& j) {
  const std::string s = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::string o;
  o.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '<' && i + 1 < s.size() && s[i + 1] == '/') o += "<\\";
    else if (s[i] == '<' && s.compare(i, 4, "<!--") == 0) o += "\\u003c";
    else o += s[i];
  }
  return o;
}

const char* style = R"css(
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;max-width:1300px;color:#222;padding:0 16px}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.15em;margin-top:1.6em}
dl.facts{display:grid;grid-template-columns:max-content auto;gap:2px 16px;font-size:.9em;margin:.6em 0}
dl.facts dt{color:#666}dl.facts dd{margin:0;font-family:ui-monospace,monospace;word-break:break-all}
p.summary{background:#f4f6f8;border-left:4px solid #4c78a8;padding:8px 12px}
.charts{display:flex;flex-wrap:wrap;gap:24px}.chart-box{flex:1 1 600px}
.caption{font-size:.85em;color:#555;margin:4px 0 0}
table.data{border-collapse:collapse;font-size:.82em;width:100%}
table.data th,table.data td{border-bottom:1px solid #ddd;padding:3px 6px;text-align:right;white-space:nowrap}
table.data th{cursor:pointer;background:#f0f0f0;position:sticky;top:0;user-select:none}
table.data th.sorted-asc::after{content:" \25B2"}table.data th.sorted-desc::after{content:" \25BC"}
table.data td:first-child,table.data th:first-child{text-align:left}
table.data tr.hl td{background:#fff3bf;font-weight:600}
#qtune-errors{color:#b00;background:#fee;padding:8px}
footer{margin-top:2em;font-size:.8em;color:#777}
)css";

// Records console.error, uncaught errors and rejections before anything else runs.
const char* error_recorder = R"js(
window.__qtuneErrors = [];
(function () {
  var original = console.error;
  console.error = function () {
    window.__qtuneErrors.push(Array.prototype.map.call(arguments, String).join(' '));
    return original.apply(console, arguments);
  };
  window.addEventListener('error', function (e) { window.__qtuneErrors.push('error: ' + (e.message || e)); });
  window.addEventListener('unhandledrejection', function (e) {
    window.__qtuneErrors.push('unhandled rejection: ' + (e.reason && e.reason.message || e.reason));
  });
})();
)js";

const char* page_script = R"js(
(function () {
  var specs = JSON.parse(document.getElementById('qtune-specs').textContent);
  var finish = function () {
    var errs = window.__qtuneErrors;
    document.body.dataset.errors = String(errs.length);
    if (errs.length) {
      var pre = document.getElementById('qtune-errors');
      pre.hidden = false;
      pre.textContent = errs.join('\n');
    }
    document.body.dataset.done = '1';
  };
  var jobs = specs.map(function (s) {
    return vegaEmbed('#' + s.id, s.spec, {
      renderer: 'svg',
      actions: {export: true, source: false, compiled: false, editor: false}
    });
  });
  // Counted once the whole page has loaded (scripts after this one included) and every chart
  // has rendered.
  var loaded = new Promise(function (resolve) {
    if (document.readyState === 'complete') resolve();
    else window.addEventListener('load', function () { resolve(); });
  });
  Promise.all(jobs).then(function (views) {
    document.body.dataset.rendered = String(views.length);
  }, function (e) {
    window.__qtuneErrors.push('render: ' + (e && e.message || e));
  }).then(function () { return loaded; }).then(finish);

  // Sortable tables: click a header; numbers sort numerically (data-v), text alphabetically.
  Array.prototype.forEach.call(document.querySelectorAll('table.data'), function (table) {
    var heads = table.querySelectorAll('th');
    Array.prototype.forEach.call(heads, function (th, col) {
      th.addEventListener('click', function () {
        var asc = !th.classList.contains('sorted-asc');
        Array.prototype.forEach.call(heads, function (h) { h.classList.remove('sorted-asc', 'sorted-desc'); });
        th.classList.add(asc ? 'sorted-asc' : 'sorted-desc');
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        var key = function (r) {
          var c = r.cells[col];
          var v = c.getAttribute('data-v');
          return v !== null ? parseFloat(v) : c.textContent;
        };
        rows.sort(function (a, b) {
          var x = key(a), y = key(b);
          var d = (typeof x === 'number' && typeof y === 'number') ? x - y : String(x).localeCompare(String(y));
          return asc ? d : -d;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });
})();
)js";

std::string number_attr(double v) {
  if (!std::isfinite(v)) return v > 0 ? "1e308" : "-1e308";
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

}  // namespace

std::string render_page(const page& p) {
  std::ostringstream o;
  o << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
    << "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    << "<meta name=\"generator\" content=\"qtune\">\n"
    << "<title>" << html_escape(p.title) << "</title>\n"
    << "<style>" << style << "</style>\n"
    << "<script>" << error_recorder << "</script>\n"
    << "<!-- Vega " << assets::vega_version() << ", Vega-Lite " << assets::vega_lite_version() << ", Vega-Embed "
    << assets::vega_embed_version() << " (BSD-3-Clause, https://vega.github.io), inlined so this file works offline -->\n"
    << "<script>" << assets::vega() << "</script>\n"
    << "<script>" << assets::vega_lite() << "</script>\n"
    << "<script>" << assets::vega_embed() << "</script>\n"
    << "</head>\n<body>\n"
    << "<h1>" << html_escape(p.title) << "</h1>\n";
  if (!p.facts.empty()) {
    o << "<dl class=\"facts\">\n";
    for (const auto& [k, v] : p.facts) o << "<dt>" << html_escape(k) << "</dt><dd>" << html_escape(v) << "</dd>\n";
    o << "</dl>\n";
  }
  if (!p.summary.empty()) o << "<p class=\"summary\">" << html_escape(p.summary) << "</p>\n";
  o << "<pre id=\"qtune-errors\" hidden></pre>\n<div class=\"charts\">\n";
  nlohmann::json specs = nlohmann::json::array();
  for (const auto& c : p.charts) {
    o << "<div class=\"chart-box\"><div id=\"" << html_escape(c.id) << "\" class=\"chart\"></div>";
    if (!c.caption.empty()) o << "<p class=\"caption\">" << html_escape(c.caption) << "</p>";
    o << "</div>\n";
    specs.push_back({{"id", c.id}, {"spec", c.spec}});
  }
  o << "</div>\n";
  for (std::size_t t = 0; t < p.tables.size(); ++t) {
    const table& tb = p.tables[t];
    if (t < p.table_titles.size()) o << "<h2>" << html_escape(p.table_titles[t]) << "</h2>\n";
    o << "<div style=\"overflow-x:auto\"><table class=\"data\" id=\"" << html_escape(tb.id) << "\">\n<thead><tr>";
    for (const auto& h : tb.header) o << "<th>" << html_escape(h) << "</th>";
    o << "</tr></thead>\n<tbody>\n";
    for (std::size_t r = 0; r < tb.rows.size(); ++r) {
      const bool hl = std::find(tb.highlight.begin(), tb.highlight.end(), r) != tb.highlight.end();
      o << (hl ? "<tr class=\"hl\">" : "<tr>");
      for (const auto& c : tb.rows[r]) {
        o << "<td";
        if (c.number) o << " data-v=\"" << number_attr(*c.number) << "\"";
        if (!c.title.empty()) o << " title=\"" << html_escape(c.title) << "\"";
        o << ">" << html_escape(c.text) << "</td>";
      }
      o << "</tr>\n";
    }
    o << "</tbody></table></div>\n";
  }
  o << "<footer>Written by qtune. Charts: Vega-Lite (inlined, no network needed). Click a column header to "
       "sort; hover a point for its parameters.</footer>\n"
    << "<script type=\"application/json\" id=\"qtune-specs\">" << script_json(specs) << "</script>\n"
    << "<script>" << page_script << "</script>\n"
    << "</body>\n</html>\n";
  return o.str();
}

}  // namespace qtune::report
