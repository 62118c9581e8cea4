// inferbench report: turns the data embedded in #report-data (computed by
// src/report/html.cpp: box statistics, Pareto front, speed-ups) into ECharts
// charts, one per .chart container, drawn as SVG so the DOM shows what was
// drawn. Every chart is built in its own try/catch; errors (and any uncaught
// one, through the window's error event) are reported on #report-status,
// which the browser test (tests/report/report_test.cpp) reads:
//   data-charts-expected  charts the page holds (written by html.cpp)
//   data-charts-rendered  containers holding an <svg> with drawn elements
//   data-errors           "" when none, else the messages joined by " | "
(function () {
  'use strict';
  var errors = [];
  var statusEl = document.getElementById('report-status');
  // The page states the count; it stands even if the data cannot be read.
  var expected = parseInt(statusEl.getAttribute('data-charts-expected'), 10) || 0;

  function countRendered() {
    var n = 0;
    var els = document.querySelectorAll('.chart');
    for (var i = 0; i < els.length; i++) {
      var svg = els[i].querySelector('svg');
      if (svg && svg.querySelectorAll('path, rect, circle, line, polyline, polygon, text').length > 0) n++;
    }
    return n;
  }

  function report() {
    var rendered = countRendered();
    statusEl.setAttribute('data-charts-expected', String(expected));
    statusEl.setAttribute('data-charts-rendered', String(rendered));
    statusEl.setAttribute('data-errors', errors.join(' | '));
    statusEl.textContent = 'charts: ' + rendered + ' of ' + expected + ' rendered' +
        (errors.length ? '; errors: ' + errors.join(' | ') : '');
    statusEl.className = errors.length || rendered !== expected ? 'failed' : 'ok';
  }

  window.addEventListener('error', function (e) {
    errors.push((e.message || 'error') + (e.lineno ? ' (line ' + e.lineno + ')' : ''));
    report();
  });

  // ------------------------------------------------------------ formatting
  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}[c];
    });
  }
  function num(v) {
    if (v === null || v === undefined || isNaN(v)) return '-';
    var a = Math.abs(v);
    return a >= 1000 ? v.toFixed(0) : a >= 100 ? v.toFixed(1) : a >= 10 ? v.toFixed(2) : v.toFixed(3);
  }
  // "backend artifact" on two lines under a category axis.
  function twoLines(label) {
    var i = label.indexOf(' ');
    return i < 0 ? label : label.slice(0, i) + '\n' + label.slice(i + 1);
  }

  // ------------------------------------------------------------ common parts
  function base(c) {
    return {
      animation: false,  // the final picture at once: screenshots and the status count see it
      title: {text: c.title, subtext: c.subtitle, left: 'center', top: 6,
               textStyle: {fontSize: 16}, subtextStyle: {fontSize: 12, color: '#5b6570'}},
      legend: {top: 58, type: 'scroll'},
      grid: {left: 80, right: 50, top: 104, bottom: 70},
      tooltip: {confine: true}
    };
  }
  function valueAxis(name, extra) {
    var a = {type: 'value', name: name, nameLocation: 'middle', nameGap: 52,
             nameTextStyle: {fontSize: 13}, scale: true};
    for (var k in extra) a[k] = extra[k];
    return a;
  }
  function categoryAxis(name, data, extra) {
    var a = {type: 'category', name: name, nameLocation: 'middle', nameGap: 50,
             nameTextStyle: {fontSize: 13}, data: data, axisLabel: {interval: 0}};
    for (var k in extra) a[k] = extra[k];
    return a;
  }

  // ------------------------------------------------------------ chart kinds
  // Box plots of the raw samples; the statistics come precomputed.
  function box(c) {
    var o = base(c);
    var many = c.categories.length > 6;
    o.grid.bottom = many ? 120 : 80;
    o.xAxis = categoryAxis(c.x_name, c.categories, {
      nameGap: many ? 100 : 55,
      axisLabel: {interval: 0, formatter: twoLines, rotate: many ? 25 : 0, fontSize: 11, lineHeight: 15}
    });
    o.yAxis = valueAxis(c.y_name);
    var outliers = [];
    c.boxes.forEach(function (b, i) {
      b.outliers.forEach(function (v) { outliers.push([i, v]); });
    });
    o.tooltip.trigger = 'item';
    o.tooltip.formatter = function (p) {
      if (p.seriesType === 'boxplot') {
        var b = c.boxes[p.dataIndex];
        return '<b>' + esc(c.categories[p.dataIndex]) + '</b><br>from ' + b.count + ' raw samples (ms)<br>' +
            'max ' + num(b.max) + '<br>upper whisker ' + num(b.hi) + '<br>Q3 ' + num(b.q3) +
            '<br>median ' + num(b.median) + '<br>Q1 ' + num(b.q1) + '<br>lower whisker ' + num(b.lo) +
            '<br>min ' + num(b.min) + '<br>outliers ' + b.outlier_count +
            (b.outlier_count > b.outliers.length ? ' (' + b.outliers.length + ' drawn)' : '');
      }
      return '<b>' + esc(c.categories[p.value[0]]) + '</b><br>outlier: ' + num(p.value[1]) + ' ms';
    };
    o.series = [
      {name: 'quartiles, 1.5 IQR whiskers', type: 'boxplot', boxWidth: [12, 60],
       data: c.boxes.map(function (b) { return [b.lo, b.q1, b.median, b.q3, b.hi]; })},
      {name: 'outliers', type: 'scatter', symbolSize: 5, itemStyle: {opacity: 0.6}, data: outliers}
    ];
    return o;
  }

  function throughput(c) {
    var o = base(c);
    o.legend.top = 58;
    o.grid.top = 100 + 22 * Math.max(0, Math.ceil(c.series.length / 4) - 1);
    o.xAxis = categoryAxis(c.x_name, c.batches.map(String), {boundaryGap: false, nameGap: 32});
    o.yAxis = valueAxis(c.y_name, {scale: false, nameGap: 58});
    o.tooltip.trigger = 'axis';
    o.tooltip.formatter = function (ps) {
      var lines = ['<b>batch ' + esc(ps[0].axisValue) + '</b>'];
      ps.forEach(function (p) {
        if (p.value !== null && p.value !== undefined) {
          lines.push(p.marker + esc(p.seriesName) + ': ' + num(p.value) + ' images/s');
        }
      });
      return lines.join('<br>');
    };
    o.series = c.series.map(function (s) {
      return {name: s.name, type: 'line', connectNulls: true, symbolSize: 7, data: s.values};
    });
    return o;
  }

  function pareto(c) {
    var o = base(c);
    // Room around the points, so none sits on an axis; top-1 never above 100%.
    // Latencies an order of magnitude apart (a small and a large model) get a
    // log axis, or the fast ones crowd into one corner.
    var xs = [];
    c.groups.forEach(function (g) { g.points.forEach(function (p) { xs.push(p.x); }); });
    var wide = Math.max.apply(null, xs) / Math.min.apply(null, xs) > 8;
    o.xAxis = wide ? valueAxis(c.x_name + ', log scale', {type: 'log', nameGap: 32, scale: false})
                   : valueAxis(c.x_name, {nameGap: 32, scale: false});
    o.yAxis = valueAxis(c.y_name, {
      nameGap: 50,
      min: function (v) { return Math.max(0, Math.floor(v.min - Math.max(0.5, 0.1 * (v.max - v.min)))); },
      max: function (v) { return Math.min(100, Math.ceil(v.max + Math.max(0.5, 0.1 * (v.max - v.min)))); }
    });
    o.tooltip.trigger = 'item';
    o.tooltip.formatter = function (p) {
      var d = p.data;
      if (!d || !d.value) return '';
      return '<b>' + esc(d.name) + '</b><br>median ' + num(d.value[0]) + ' ms<br>top-1 ' +
          d.value[1].toFixed(2) + '%' +
          (d.lo !== undefined ? ' (95% CI ' + d.lo.toFixed(2) + ' to ' + d.hi.toFixed(2) + '%, ' + d.images +
                                ' images)' : '') +
          (d.optimal ? '<br>on the Pareto front' : '');
    };
    o.series = c.groups.map(function (g) {
      return {name: g.name, type: 'scatter', symbolSize: 11, z: 3,
              data: g.points.map(function (p) {
                return {name: p.label, value: [p.x, p.y], optimal: p.optimal, lo: p.y_lo, hi: p.y_hi,
                        images: p.images};
              })};
    });
    // The top-1 intervals as vertical error bars (points without one have none).
    var bars = [];
    c.groups.forEach(function (g) {
      g.points.forEach(function (p) {
        if (p.y_lo !== undefined) bars.push([p.x, p.y_lo, p.y_hi]);
      });
    });
    if (bars.length) {
      o.series.push({
        name: '95% CI of top-1', type: 'custom', z: 2, silent: true,
        itemStyle: {color: '#555'},
        encode: {x: 0, y: [1, 2]},
        data: bars,
        renderItem: function (params, api) {
          var lo = api.coord([api.value(0), api.value(1)]);
          var hi = api.coord([api.value(0), api.value(2)]);
          var w = 5;
          var style = {stroke: '#555', lineWidth: 1.2};
          return {type: 'group', children: [
            {type: 'line', shape: {x1: lo[0], y1: lo[1], x2: hi[0], y2: hi[1]}, style: style},
            {type: 'line', shape: {x1: lo[0] - w, y1: lo[1], x2: lo[0] + w, y2: lo[1]}, style: style},
            {type: 'line', shape: {x1: hi[0] - w, y1: hi[1], x2: hi[0] + w, y2: hi[1]}, style: style}
          ]};
        }
      });
    }
    o.series.push({
      name: 'Pareto front', type: 'line', z: 4, symbol: 'diamond', symbolSize: 17,
      lineStyle: {type: 'dashed', width: 2, color: '#222'},
      itemStyle: {color: 'rgba(0,0,0,0)', borderColor: '#222', borderWidth: 2},

      data: c.front.map(function (p) { return {name: p.label, value: [p.x, p.y], optimal: true}; })
    });
    return o;
  }

  // Categories down the y axis, values along x: long labels stay readable.
  function horizontal(c) {
    var o = base(c);
    o.grid.left = 30;
    o.grid.right = 60;
    o.grid.bottom = 60;
    o.yAxis = categoryAxis('', c.categories, {inverse: true, axisLabel: {interval: 0, fontSize: 11}});
    o.xAxis = valueAxis(c.x_name, {scale: false, nameGap: 30});
    return o;
  }

  // Horizontal bars (memory, cold start).
  function hbar(c) {
    var o = horizontal(c);
    o.tooltip.trigger = 'axis';
    o.tooltip.axisPointer = {type: 'shadow'};
    o.tooltip.valueFormatter = function (v) { return num(v) + ' ' + c.unit; };
    o.series = c.series.map(function (s) {
      var x = {name: s.name, type: 'bar', data: s.values, barMaxWidth: 22};
      if (c.stacked) x.stack = 'total';
      return x;
    });
    return o;
  }

  // Bars (one series per model, stacked so each category keeps one slot) with
  // a custom series drawing the 95% interval as error bars.
  function speedup(c) {
    var o = horizontal(c);
    o.tooltip.trigger = 'item';
    o.tooltip.formatter = function (p) {
      var i = p.dataIndex, d = c.details[i];
      return '<b>' + esc(c.categories[i]) + '</b><br>speed-up ' + num(c.values[i]) + '× (95% CI ' +
          num(c.ci[i][0]) + ' to ' + num(c.ci[i][1]) + ')<br>median ' + num(d.median) + ' ms against ' +
          esc(c.baseline) + ' ' + num(d.baseline_median) + ' ms<br>Mann-Whitney p = ' + d.p.toPrecision(2) +
          (d.significant ? ' (significant)' : ' (not significant)');
    };
    o.series = c.models.map(function (m, k) {
      return {name: m, type: 'bar', stack: 'speedup', barMaxWidth: 22,
              data: c.values.map(function (v, i) { return c.model_of[i] === k ? v : null; })};
    });
    o.series[0].markLine = {
      symbol: 'none', silent: true, lineStyle: {type: 'dashed', color: '#222', width: 1.5},
      // No text on the line: it would sit on the bars or the axis' own "1";
      // the subtitle names it.
      label: {show: false},
      data: [{xAxis: 1}]
    };
    o.series.push({
      name: '95% CI', type: 'custom', z: 10,
      itemStyle: {color: '#222'},
      encode: {x: [0, 1], y: 2},
      data: c.ci.map(function (ci, i) { return [ci[0], ci[1], i]; }),
      renderItem: function (params, api) {
        var lo = api.coord([api.value(0), api.value(2)]);
        var hi = api.coord([api.value(1), api.value(2)]);
        var h = api.size([0, 1])[1] * 0.3;
        var style = {stroke: '#222', lineWidth: 1.5};
        return {type: 'group', children: [
          {type: 'line', shape: {x1: lo[0], y1: lo[1], x2: hi[0], y2: hi[1]}, style: style},
          {type: 'line', shape: {x1: lo[0], y1: lo[1] - h / 2, x2: lo[0], y2: lo[1] + h / 2}, style: style},
          {type: 'line', shape: {x1: hi[0], y1: hi[1] - h / 2, x2: hi[0], y2: hi[1] + h / 2}, style: style}
        ]};
      }
    });
    return o;
  }

  var kinds = {box: box, throughput: throughput, pareto: pareto, hbar: hbar, speedup: speedup};

  // ------------------------------------------------------------ main
  var data;
  try {
    data = JSON.parse(document.getElementById('report-data').textContent);
  } catch (e) {
    errors.push('report data: ' + e.message);
    report();
    return;
  }
  if (data.charts.length !== expected) {
    errors.push('the data holds ' + data.charts.length + ' charts, the page expects ' + expected);
  }
  var instances = [];
  data.charts.forEach(function (c, i) {
    var el = document.getElementById('chart-' + i);
    try {
      if (!el) throw new Error('no container');
      if (typeof echarts === 'undefined') throw new Error('ECharts did not load');
      if (!kinds[c.kind]) throw new Error('unknown chart kind ' + c.kind);
      el.style.height = (c.height || 420) + 'px';
      var chart = echarts.init(el, null, {renderer: 'svg'});
      chart.setOption(kinds[c.kind](c));
      instances.push(chart);
    } catch (e) {
      errors.push(c.id + ': ' + (e && e.message ? e.message : String(e)));
      if (el) {
        el.className += ' chart-error';
        el.textContent = 'This chart could not be drawn: ' + (e && e.message ? e.message : String(e));
      }
    }
  });
  window.addEventListener('resize', function () {
    instances.forEach(function (ch) { ch.resize(); });
  });
  report();
  // ECharts may finish drawing on the next frame: count again then.
  setTimeout(report, 0);
  if (window.requestAnimationFrame) window.requestAnimationFrame(function () { setTimeout(report, 0); });
})();
