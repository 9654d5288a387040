// Charts of the lathe tracking UI: line and scatter plots on uPlot (served from the installed package, no CDN) with
// hover values, drag-to-zoom (double-click resets), log axes and EMA smoothing; small SVG charts for the rest
// (parallel coordinates, bars, Pareto front) and a canvas contour map.
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
      l = 48,
      r = 56;
    var n = dims.length ? dims[0].values.length : 0;
    var scales = dims.map(function (d) {
      var numeric = d.values.every(function (v) {
        return typeof v === 'number';
      });
      if (numeric) {
        // a log-scaled parameter gets a log axis (its values spread over decades, not bunched at the bottom)
        var log =
          d.log &&
          d.values.every(function (v) {
            return v > 0;
          });
        var tf = log
          ? Math.log10
          : function (v) {
              return v;
            };
        var e = extent(d.values.map(tf));
        return {
          numeric: true,
          log: !!log,
          e: e,
          at: function (v) {
            return h - b - ((tf(v) - e[0]) / (e[1] - e[0])) * (h - t - b);
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
      s +=
        '<line class="axis' +
        (sc.log ? ' log' : '') +
        '" x1="' +
        x(i) +
        '" x2="' +
        x(i) +
        '" y1="' +
        t +
        '" y2="' +
        (h - b) +
        '" stroke="#556"/>';
      s +=
        '<text x="' +
        x(i) +
        '" y="' +
        (t - 8) +
        '" text-anchor="middle" style="fill:#1d232b;font-weight:600">' +
        esc(d.name + (sc.log ? ' (log)' : '')) +
        '</text>';
      if (sc.numeric) {
        var lo = sc.log ? 10 ** sc.e[0] : sc.e[0],
          hi = sc.log ? 10 ** sc.e[1] : sc.e[1];
        s +=
          '<text x="' +
          (x(i) + 4) +
          '" y="' +
          (h - b + 14) +
          '">' +
          fmt(lo) +
          '</text><text x="' +
          (x(i) + 4) +
          '" y="' +
          (t + 10) +
          '">' +
          fmt(hi) +
          '</text>';
        if (sc.log)
          for (var dec = Math.ceil(sc.e[0]); dec <= Math.floor(sc.e[1]); dec++)
            s +=
              '<g class="decade"><line x1="' +
              (x(i) - 3) +
              '" x2="' +
              (x(i) + 3) +
              '" y1="' +
              sc.at(10 ** dec) +
              '" y2="' +
              sc.at(10 ** dec) +
              '" stroke="#556"/><text x="' +
              (x(i) - 6) +
              '" y="' +
              (sc.at(10 ** dec) + 4) +
              '" text-anchor="end">1e' +
              dec +
              '</text></g>';
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

  /** TensorBoard's debiased exponential moving average (weight 0: the raw values); nulls stay gaps. */
  function ema(values, weight) {
    if (!(weight > 0)) return values;
    var last = 0,
      n = 0;
    return values.map(function (v) {
      if (v === null || !Number.isFinite(v)) return null;
      last = last * weight + (1 - weight) * v;
      n++;
      return last / (1 - weight ** n);
    });
  }

  var INT_INCRS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6];

  var uplotQueue = null;
  /** Loads /ui/uplot.js and /ui/uplot.css once, then runs every callback queued meanwhile. */
  function loadUplot(cb) {
    if (uplotQueue) return uplotQueue.push(cb);
    uplotQueue = [cb];
    var css = document.createElement('link');
    css.rel = 'stylesheet';
    css.href = '/ui/uplot.css';
    document.head.appendChild(css);
    var tag = document.createElement('script');
    tag.src = '/ui/uplot.js';
    tag.onload = function () {
      var q = uplotQueue;
      uplotQueue = [];
      q.forEach(function (f) {
        f();
      });
    };
    document.head.appendChild(tag);
  }

  /** Charts drawn into an element follow its width (the page is responsive; uPlot draws at a fixed size). */
  var resizer =
    typeof ResizeObserver === 'function'
      ? new ResizeObserver(function (entries) {
          entries.forEach(function (e) {
            var u = e.target._uplot;
            var w = Math.floor(e.contentRect.width);
            if (u && w > 50 && Math.abs(u.width - w) > 2) u.setSize({ width: w, height: u.height });
          });
        })
      : null;

  /**
   * A uPlot chart in `el`: series = [{name, points: [[x, y], ...], dots?, color?}] on one x axis (their x values merged).
   * o: {xLabel, yLabel, height, logX, logY, intX (integer ticks), smooth (EMA weight 0..0.99, raw kept faint),
   * xValues (tick labels for category indices), onZoom(min, max)}. Hover shows values in the legend; drag zooms x,
   * double-click resets. Returns the uPlot instance (also el._uplot; null while uPlot is still loading: the chart is
   * drawn once it is); el.dataset.xmin/xmax follow the x range.
   */
  function plot(el, series, o) {
    o = o || {};
    if (!window.uPlot) {
      // uPlot is loaded on the first chart, so the runs table (no charts) paints without it
      loadUplot(function () {
        plot(el, series, o);
      });
      return null;
    }
    if (el._uplot) el._uplot.destroy();
    el.innerHTML = '';
    el.classList.add('plot');
    // uPlot aligns series on shared x values: dots that share an x (trials with the same width or optimizer) are
    // spread a little (category axes) or nudged by a negligible amount, so every trial stays visible
    series = series.map(function (s) {
      if (!s.dots) return s;
      var seen = new Map();
      s.points.forEach(function (p) {
        seen.set(p[0], (seen.get(p[0]) || 0) + 1);
      });
      var used = new Map();
      return Object.assign({}, s, {
        points: s.points.map(function (p) {
          var n = seen.get(p[0]);
          if (n < 2) return p;
          var k = used.get(p[0]) || 0;
          used.set(p[0], k + 1);
          var x = o.xValues ? p[0] + (k - (n - 1) / 2) * Math.min(0.6 / n, 0.06) : p[0] * (1 + k * 1e-9) + k * 1e-12;
          return [x, p[1]];
        }),
      });
    });
    var xsSet = new Set();
    series.forEach(function (s) {
      s.points.forEach(function (p) {
        if (p[0] !== null && Number.isFinite(p[0])) xsSet.add(p[0]);
      });
    });
    var xs = Array.from(xsSet).sort(function (a, b) {
      return a - b;
    });
    if (o.logX)
      xs = xs.filter(function (x) {
        return x > 0;
      });
    var index = new Map();
    xs.forEach(function (x, i) {
      index.set(x, i);
    });
    var data = [xs],
      specs = [
        {
          label: o.xLabel || 'x',
          value: o.xValues
            ? function (_u, v) {
                return v === null ? '–' : o.xValues[v] || fmt(v);
              }
            : function (_u, v) {
                return v === null ? '–' : fmt(v);
              },
        },
      ];
    var smooth = o.smooth > 0 ? Math.min(0.999, o.smooth) : 0;
    series.forEach(function (s, k) {
      var ys = new Array(xs.length).fill(null);
      s.points.forEach(function (p) {
        var i = index.get(p[0]);
        if (i === undefined) return;
        var v = p[1];
        ys[i] = v === null || !Number.isFinite(v) || (o.logY && v <= 0) ? null : v;
      });
      var color = s.color || PALETTE[k % PALETTE.length];
      if (smooth && !s.dots) {
        data.push(ys);
        specs.push({
          label: s.name + ' (raw)',
          stroke: color + '40',
          width: 1,
          spanGaps: true,
          points: { show: false },
          value: valueFmt,
        });
        data.push(ema(ys, smooth));
        specs.push({
          label: s.name,
          stroke: color,
          width: 1.8,
          spanGaps: true,
          points: { show: false },
          value: valueFmt,
        });
      } else {
        data.push(ys);
        specs.push(
          s.dots
            ? {
                label: s.name,
                stroke: color,
                fill: color + '80',
                width: 0,
                paths: function () {
                  return null;
                },
                points: { show: true, size: 7, stroke: color, fill: color + 'b0' },
                value: valueFmt,
              }
            : {
                label: s.name,
                stroke: color,
                width: 1.8,
                spanGaps: true,
                points: { show: xs.length < 40 },
                value: valueFmt,
              },
        );
      }
    });
    function valueFmt(_u, v) {
      return v === null || v === undefined ? '–' : fmt(v);
    }
    var width = Math.max(240, Math.floor(el.clientWidth || o.width || 480));
    var xAxis = {
      label: o.xLabel || '',
      labelSize: 18,
      size: 36,
      values: function (_u, splits) {
        return splits.map(function (v) {
          var decade = Math.abs(Math.log10(Math.abs(v)) - Math.round(Math.log10(Math.abs(v)))) < 1e-9;
          return o.logX && !decade ? '' : fmt(v);
        });
      },
    };
    if (o.intX || o.xValues) {
      xAxis.incrs = INT_INCRS;
      xAxis.values = function (_u, splits) {
        return splits.map(function (v) {
          return o.xValues ? (Number.isInteger(v) ? o.xValues[v] || '' : '') : Number.isInteger(v) ? String(v) : '';
        });
      };
    }
    var opts = {
      width: width,
      height: o.height || 240,
      scales: {
        x: o.logX ? { time: false, distr: 3, log: 10 } : { time: false, range: o.xRange },
        y: o.logY ? { distr: 3, log: 10 } : {},
      },
      series: specs,
      axes: [
        xAxis,
        {
          label: o.yLabel || '',
          labelSize: 18,
          size: 56,
          values: function (_u, splits) {
            return splits.map(fmt);
          },
        },
      ],
      cursor: { drag: { x: true, y: false, setScale: true }, points: { size: 7 } },
      legend: { show: o.legend !== false, live: true },
      hooks: {
        setScale: [
          function (u, key) {
            if (key !== 'x') return;
            el.dataset.xmin = String(u.scales.x.min);
            el.dataset.xmax = String(u.scales.x.max);
            if (o.onZoom) o.onZoom(u.scales.x.min, u.scales.x.max);
          },
        ],
      },
    };
    var u = new window.uPlot(opts, data, el);
    el._uplot = u;
    if (resizer) resizer.observe(el);
    return u;
  }

  /**
   * A contour map of `z` over two parameters on a canvas: z is interpolated (inverse distance weighting, in log space
   * for log axes) on a grid and coloured (blue = low), the trials drawn as dots. points = [{x, y, z, title}].
   */
  function contour(el, points, o) {
    o = o || {};
    var w = Math.max(240, Math.floor(el.clientWidth || 420)),
      h = o.height || 300,
      l = 72,
      r = 12,
      t = 10,
      b = 36;
    var tx = o.logX
        ? Math.log10
        : function (v) {
            return v;
          },
      ty = o.logY
        ? Math.log10
        : function (v) {
            return v;
          };
    var pts = points.filter(function (p) {
      return Number.isFinite(tx(p.x)) && Number.isFinite(ty(p.y)) && Number.isFinite(p.z);
    });
    var ex = extent(
        pts.map(function (p) {
          return tx(p.x);
        }),
      ),
      ey = extent(
        pts.map(function (p) {
          return ty(p.y);
        }),
      ),
      ez = extent(
        pts.map(function (p) {
          return p.z;
        }),
      );
    var sx = function (v) {
        return l + ((v - ex[0]) / (ex[1] - ex[0])) * (w - l - r);
      },
      sy = function (v) {
        return h - b - ((v - ey[0]) / (ey[1] - ey[0])) * (h - t - b);
      };
    var color = function (z) {
      var c = (z - ez[0]) / (ez[1] - ez[0] || 1);
      if (o.maximize) c = 1 - c;
      return 'hsl(' + Math.round(220 - 200 * c) + ',70%,' + (55 + 10 * c) + '%)';
    };
    el.innerHTML = '';
    var canvas = document.createElement('canvas');
    canvas.width = w;
    canvas.height = h;
    canvas.className = 'contour';
    el.appendChild(canvas);
    var g = canvas.getContext('2d');
    var cell = 8;
    for (var px = l; px < w - r; px += cell)
      for (var py = t; py < h - b; py += cell) {
        var gx = ex[0] + ((px + cell / 2 - l) / (w - l - r)) * (ex[1] - ex[0]),
          gy = ey[0] + ((h - b - (py + cell / 2)) / (h - t - b)) * (ey[1] - ey[0]);
        var num = 0,
          den = 0;
        for (var k = 0; k < pts.length; k++) {
          var dx = (tx(pts[k].x) - gx) / (ex[1] - ex[0] || 1),
            dy = (ty(pts[k].y) - gy) / (ey[1] - ey[0] || 1);
          var wt = 1 / (dx * dx + dy * dy + 1e-6) ** 2;
          num += wt * pts[k].z;
          den += wt;
        }
        g.fillStyle = color(num / den);
        g.fillRect(px, py, cell, cell);
      }
    g.strokeStyle = '#1d232b';
    pts.forEach(function (p) {
      g.beginPath();
      g.arc(sx(tx(p.x)), sy(ty(p.y)), 3, 0, 2 * Math.PI);
      g.stroke();
    });
    g.fillStyle = '#6a7480';
    g.font = '11px system-ui, sans-serif';
    var label = function (v, log) {
      return fmt(log ? 10 ** v : v);
    };
    g.textAlign = 'center';
    [0, 0.5, 1].forEach(function (f) {
      var v = ex[0] + f * (ex[1] - ex[0]);
      g.fillText(label(v, o.logX), sx(v), h - b + 14);
    });
    g.fillText((o.xLabel || '') + (o.logX ? ' (log)' : ''), (l + w - r) / 2, h - 4);
    g.textAlign = 'right';
    [0, 0.5, 1].forEach(function (f) {
      var v = ey[0] + f * (ey[1] - ey[0]);
      g.fillText(label(v, o.logY), l - 4, sy(v) + 4);
    });
    g.save();
    g.translate(12, (t + h - b) / 2);
    g.rotate(-Math.PI / 2);
    g.textAlign = 'center';
    g.fillText((o.yLabel || '') + (o.logY ? ' (log)' : ''), 0, 0);
    g.restore();
    return canvas;
  }

  window.LatheCharts = {
    plot: plot,
    contour: contour,
    ema: ema,
    scatterChart: scatterChart,
    parallelCoords: parallelCoords,
    barChart: barChart,
    fmt: fmt,
    esc: esc,
    PALETTE: PALETTE,
  };
})();
