// Small self-contained SVG charts for the lathe tracking UI (no dependencies).
(function () {
  var PALETTE = [
    '#2f6fde',
    '#e4572e',
    '#17a398',
    '#f3a712',
    '#8e44ad',
    '#29335c',
    '#db2763',
    '#4c956c',
    '#7d5ba6',
    '#b5651d',
  ];
  var esc = function (s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
    });
  };

  function extent(values) {
    var lo = Infinity,
      hi = -Infinity;
    for (var i = 0; i < values.length; i++) {
      var v = values[i];
      if (v === null || !Number.isFinite(v)) continue;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (lo === Infinity) return [0, 1];
    if (lo === hi) {
      var d = Math.abs(lo) * 0.05 || 1;
      return [lo - d, hi + d];
    }
    return [lo, hi];
  }

  /** About `count` round tick values covering [lo, hi]. */
  function ticks(lo, hi, count) {
    var step = 10 ** Math.floor(Math.log10((hi - lo) / count));
    var err = (hi - lo) / count / step;
    if (err >= 7.5) step *= 10;
    else if (err >= 3.5) step *= 5;
    else if (err >= 1.5) step *= 2;
    var out = [];
    for (var t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push(+t.toPrecision(12));
    return out;
  }

  function fmt(v) {
    if (v === null || v === undefined || (typeof v === 'number' && !Number.isFinite(v))) return '–';
    if (typeof v !== 'number') return String(v);
    var a = Math.abs(v);
    if (a !== 0 && (a >= 1e5 || a < 1e-3)) return v.toExponential(2);
    return String(+v.toPrecision(4));
  }

  function frame(o) {
    return { w: o.width || 520, h: o.height || 300, l: 56, r: 14, t: 12, b: 34 + (o.legendRows || 0) * 16 };
  }

  function axes(f, xs, ys, xLabel, yLabel) {
    var sx = function (v) {
      return f.l + ((v - xs[0]) / (xs[1] - xs[0])) * (f.w - f.l - f.r);
    };
    var sy = function (v) {
      return f.h - f.b - ((v - ys[0]) / (ys[1] - ys[0])) * (f.h - f.t - f.b);
    };
    var s = '';
    ticks(ys[0], ys[1], 5).forEach(function (t) {
      s +=
        '<line x1="' +
        f.l +
        '" x2="' +
        (f.w - f.r) +
        '" y1="' +
        sy(t) +
        '" y2="' +
        sy(t) +
        '" stroke="#eef1f4"/><text x="' +
        (f.l - 6) +
        '" y="' +
        (sy(t) + 4) +
        '" text-anchor="end">' +
        fmt(t) +
        '</text>';
    });
    ticks(xs[0], xs[1], 6).forEach(function (t) {
      s += '<text x="' + sx(t) + '" y="' + (f.h - f.b + 15) + '" text-anchor="middle">' + fmt(t) + '</text>';
    });
    s += '<line x1="' + f.l + '" x2="' + f.l + '" y1="' + f.t + '" y2="' + (f.h - f.b) + '" stroke="#b8c0c8"/>';
    s +=
      '<line x1="' +
      f.l +
      '" x2="' +
      (f.w - f.r) +
      '" y1="' +
      (f.h - f.b) +
      '" y2="' +
      (f.h - f.b) +
      '" stroke="#b8c0c8"/>';
    if (xLabel)
      s +=
        '<text x="' +
        (f.l + f.w - f.r) / 2 +
        '" y="' +
        (f.h - f.b + 29) +
        '" text-anchor="middle">' +
        esc(xLabel) +
        '</text>';
    if (yLabel)
      s +=
        '<text transform="translate(12,' +
        (f.t + f.h - f.b) / 2 +
        ') rotate(-90)" text-anchor="middle">' +
        esc(yLabel) +
        '</text>';
    return { svg: s, sx: sx, sy: sy };
  }

  function legend(f, names, offset) {
    offset = offset || 0;
    var s = '<g class="legend">',
      x = f.l,
      y = f.h - (f.b - 34) + 6;
    names.forEach(function (n, i) {
      var label = esc(n.length > 28 ? n.slice(0, 27) + '…' : n);
      if (x + 170 > f.w) {
        x = f.l;
        y += 16;
      }
      s +=
        '<rect x="' +
        x +
        '" y="' +
        (y - 8) +
        '" width="10" height="10" fill="' +
        PALETTE[(i + offset) % PALETTE.length] +
        '"/><text x="' +
        (x + 14) +
        '" y="' +
        y +
        '">' +
        label +
        '</text>';
      x += 170;
    });
    return s + '</g>';
  }

  /** Lines: series = [{name, points: [[x, y], ...]}] (null y values are gaps). */
  function lineChart(series, o) {
    o = o || {};
    var f = frame({ width: o.width, height: o.height, legendRows: Math.ceil(series.length / 3) });
    var xs = [],
      ys = [];
    series.forEach(function (s) {
      s.points.forEach(function (p) {
        xs.push(p[0]);
        ys.push(p[1]);
      });
    });
    var a = axes(f, extent(xs), extent(ys), o.xLabel, o.yLabel);
    var body = '';
    series.forEach(function (s, i) {
      var d = '',
        pen = false;
      s.points.forEach(function (p) {
        if (p[1] === null || !Number.isFinite(p[1])) {
          pen = false;
          return;
        }
        d += (pen ? 'L' : 'M') + a.sx(p[0]).toFixed(1) + ' ' + a.sy(p[1]).toFixed(1);
        pen = true;
      });
      body +=
        '<path class="series" data-name="' +
        esc(s.name) +
        '" d="' +
        d +
        '" fill="none" stroke="' +
        PALETTE[i % PALETTE.length] +
        '" stroke-width="1.6"/>';
    });
    return (
      '<svg class="chart" width="' +
      f.w +
      '" height="' +
      f.h +
      '" viewBox="0 0 ' +
      f.w +
      ' ' +
      f.h +
      '">' +
      a.svg +
      body +
      legend(
        f,
        series.map(function (s) {
          return s.name;
        }),
      ) +
      '</svg>'
    );
  }

  /** Dots [{x, y, color?, title?}] plus optional lines [{name, points}] (e.g. best-so-far). */
  function scatterChart(dots, lines, o) {
    o = o || {};
    lines = lines || [];
    var f = frame({ width: o.width, height: o.height, legendRows: lines.length ? 1 : 0 });
    var xs = dots.map(function (p) {
        return p.x;
      }),
      ys = dots.map(function (p) {
        return p.y;
      });
    lines.forEach(function (l) {
      l.points.forEach(function (p) {
        xs.push(p[0]);
        ys.push(p[1]);
      });
    });
    var a = axes(f, extent(xs), extent(ys), o.xLabel, o.yLabel);
    var body = '';
    dots.forEach(function (p) {
      body +=
        '<circle class="dot" cx="' +
        a.sx(p.x).toFixed(1) +
        '" cy="' +
        a.sy(p.y).toFixed(1) +
        '" r="' +
        (p.r || 3.5) +
        '" fill="' +
        (p.color || PALETTE[0]) +
        '" fill-opacity="0.75"><title>' +
        esc(p.title || '') +
        '</title></circle>';
    });
    lines.forEach(function (l, i) {
      var d = l.points
        .map(function (p, j) {
          return (j ? 'L' : 'M') + a.sx(p[0]).toFixed(1) + ' ' + a.sy(p[1]).toFixed(1);
        })
        .join('');
      body += '<path d="' + d + '" fill="none" stroke="' + PALETTE[(i + 1) % PALETTE.length] + '" stroke-width="2"/>';
    });
    return (
      '<svg class="chart" width="' +
      f.w +
      '" height="' +
      f.h +
      '">' +
      a.svg +
      body +
      (lines.length
        ? legend(
            f,
            lines.map(function (l) {
              return l.name;
            }),
            1,
          )
        : '') +
      '</svg>'
    );
  }

  /** Parallel coordinates: dims = [{name, values: [...]}], one polyline per index; color by `score` (0..1, low = blue). */
  function parallelCoords(dims, scores, o) {
    o = o || {};
    var w = o.width || Math.max(520, dims.length * 130),
      h = o.height || 300,
      t = 24,
      b = 24,
      l = 40,
      r = 40;
    var n = dims.length ? dims[0].values.length : 0;
    var scales = dims.map(function (d) {
      var numeric = d.values.every(function (v) {
        return typeof v === 'number';
      });
      if (numeric) {
        var e = extent(d.values);
        return {
          numeric: true,
          e: e,
          at: function (v) {
            return h - b - ((v - e[0]) / (e[1] - e[0])) * (h - t - b);
          },
        };
      }
      var cats = Array.from(new Set(d.values.map(String))).sort();
      return {
        numeric: false,
        cats: cats,
        at: function (v) {
          return h - b - ((cats.indexOf(String(v)) + 0.5) / cats.length) * (h - t - b);
        },
      };
    });
    var x = function (i) {
      return dims.length < 2 ? w / 2 : l + (i * (w - l - r)) / (dims.length - 1);
    };
    var s = '<svg class="chart parcoords" width="' + w + '" height="' + h + '">';
    for (var k = 0; k < n; k++) {
      var c = scores[k] === undefined ? 0.5 : scores[k];
      var color = 'hsl(' + Math.round(220 - 200 * c) + ',70%,50%)';
      s +=
        '<polyline fill="none" stroke="' +
        color +
        '" stroke-opacity="0.55" points="' +
        dims
          .map(function (d, i) {
            return x(i).toFixed(1) + ',' + scales[i].at(d.values[k]).toFixed(1);
          })
          .join(' ') +
        '"/>';
    }
    dims.forEach(function (d, i) {
      var sc = scales[i];
      s += '<line x1="' + x(i) + '" x2="' + x(i) + '" y1="' + t + '" y2="' + (h - b) + '" stroke="#556"/>';
      s +=
        '<text x="' +
        x(i) +
        '" y="' +
        (t - 8) +
        '" text-anchor="middle" style="fill:#1d232b;font-weight:600">' +
        esc(d.name) +
        '</text>';
      if (sc.numeric) {
        s +=
          '<text x="' +
          (x(i) + 4) +
          '" y="' +
          (h - b + 14) +
          '">' +
          fmt(sc.e[0]) +
          '</text><text x="' +
          (x(i) + 4) +
          '" y="' +
          (t + 10) +
          '">' +
          fmt(sc.e[1]) +
          '</text>';
      } else
        sc.cats.forEach(function (cat) {
          s += '<text x="' + (x(i) + 4) + '" y="' + (sc.at(cat) + 4) + '">' + esc(cat) + '</text>';
        });
    });
    return s + '</svg>';
  }

  /** Horizontal bars [{label, value}] with values in 0..1. */
  function barChart(bars, o) {
    o = o || {};
    var w = o.width || 520,
      row = 22,
      l = 140,
      h = bars.length * row + 10;
    var s = '<svg class="chart bars" width="' + w + '" height="' + h + '">';
    bars.forEach(function (bar, i) {
      var y = 5 + i * row,
        len = Math.max(1, bar.value * (w - l - 60));
      s +=
        '<text x="' +
        (l - 6) +
        '" y="' +
        (y + 14) +
        '" text-anchor="end" style="fill:#1d232b">' +
        esc(bar.label) +
        '</text>';
      s +=
        '<rect x="' +
        l +
        '" y="' +
        (y + 3) +
        '" width="' +
        len.toFixed(1) +
        '" height="' +
        (row - 8) +
        '" fill="' +
        PALETTE[0] +
        '"/>';
      s += '<text x="' + (l + len + 5) + '" y="' + (y + 14) + '">' + fmt(bar.value) + '</text>';
    });
    return s + '</svg>';
  }

  window.LatheCharts = {
    lineChart: lineChart,
    scatterChart: scatterChart,
    parallelCoords: parallelCoords,
    barChart: barChart,
    fmt: fmt,
    esc: esc,
    PALETTE: PALETTE,
  };
})();
