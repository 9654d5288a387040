// lathe tracking UI: a hash-routed page over the REST API (/api/...). Plain browser JavaScript, no build step.
(function () {
  var C = window.LatheCharts,
    esc = C.esc,
    fmt = C.fmt;
  var view = document.getElementById('view');
  var PAGE = 50;
  var selected = new Set();
  var chosenCols = null; // null = default columns

  // The write token `lathe ui` printed (its URL carries ?token=...): kept for this origin, sent with every write.
  var TOKEN = (function () {
    var m = /[?&]token=([^&#]+)/.exec(location.search);
    try {
      if (m) {
        localStorage.setItem('lathe-ui-token', decodeURIComponent(m[1]));
        history.replaceState(null, '', location.pathname + location.hash);
      }
      return localStorage.getItem('lathe-ui-token') || '';
    } catch (_e) {
      return m ? decodeURIComponent(m[1]) : '';
    } // storage blocked: the token lives for this page only
  })();
  function write(method, path, body) {
    return fetch(path, {
      method: method,
      headers: { 'content-type': 'application/json', 'x-lathe-token': TOKEN },
      body: JSON.stringify(body),
    }).then(function (r) {
      return r.json().then(function (b) {
        if (!r.ok) throw new Error(b.error || r.statusText);
        return b;
      });
    });
  }
  function api(path) {
    return fetch(path).then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok) throw new Error(body.error || r.statusText);
        return body;
      });
    });
  }
  function qs(obj) {
    return Object.keys(obj)
      .filter(function (k) {
        return obj[k] !== undefined && obj[k] !== '';
      })
      .map(function (k) {
        return encodeURIComponent(k) + '=' + encodeURIComponent(obj[k]);
      })
      .join('&');
  }
  function parseHash() {
    var h = location.hash.replace(/^#/, '') || '/runs';
    var i = h.indexOf('?');
    var path = i < 0 ? h : h.slice(0, i),
      q = {};
    if (i >= 0)
      h.slice(i + 1)
        .split('&')
        .forEach(function (kv) {
          if (!kv) return;
          var p = kv.split('=');
          q[decodeURIComponent(p[0])] = decodeURIComponent(p[1] || '');
        });
    return { parts: path.split('/').filter(Boolean).map(decodeURIComponent), q: q };
  }
  function go(path, q) {
    location.hash = '#' + path + (q && qs(q) ? '?' + qs(q) : '');
  }
  function showError(err) {
    view.innerHTML = '<div class="error">' + esc(err.message || err) + '</div>';
  }
  function statusBadge(s) {
    return '<span class="status status-' + esc(s) + '">' + esc(s) + '</span>';
  }
  function time(ms) {
    return ms ? new Date(ms).toISOString().replace('T', ' ').slice(0, 19) : '–';
  }
  function kv(obj) {
    var ks = Object.keys(obj || {});
    return ks.length
      ? '<dl class="kv">' +
          ks
            .map(function (k) {
              var v = obj[k];
              return '<dt>' + esc(k) + '</dt><dd>' + esc(typeof v === 'object' ? JSON.stringify(v) : fmt(v)) + '</dd>';
            })
            .join('') +
          '</dl>'
      : '<p class="muted">none</p>';
  }

  /**
   * Metrics in the order a reader looks for them: validation accuracy, validation loss, test metrics, other
   * validation metrics, train loss, the rest.
   */
  function primaryMetrics(keys) {
    var rank = function (k) {
      var tests = [/^val\/acc/, /^val\/loss/, /^test\//, /^val\//, /^train\/loss$/, /loss/];
      for (var i = 0; i < tests.length; i++) if (tests[i].test(k)) return i;
      return tests.length;
    };
    return keys.slice().sort(function (a, b) {
      return rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0);
    });
  }

  // ---- runs table ----
  function runsPage(q) {
    var state = {
      exp: q.exp || '',
      filter: q.filter || '',
      sort: q.sort || 'start_time',
      order: q.order || 'desc',
      offset: +(q.offset || 0),
    };
    view.innerHTML =
      '<h1>Runs</h1><div class="toolbar">' +
      '<select id="exp"><option value="">all experiments</option></select>' +
      '<input id="filter" type="text" placeholder="filter, e.g. params.lr < 0.01 and metrics.loss < 0.5 and status = finished" value="' +
      esc(state.filter) +
      '">' +
      '<button id="apply">Apply</button><span class="cols"><button id="colsBtn">Columns</button><div id="colsPanel" class="cols-panel" hidden></div></span>' +
      '<button id="compare" class="primary" disabled>Compare selected</button><span id="count" class="muted"></span></div>' +
      '<div id="tableWrap"></div><div class="toolbar" style="margin-top:8px"><button id="prev">‹ Prev</button><button id="next">Next ›</button><span id="pageInfo" class="muted"></span></div>';
    var reload = function (patch) {
      var s = Object.assign({}, state, patch);
      go('/runs', { exp: s.exp, filter: s.filter, sort: s.sort, order: s.order, offset: s.offset || undefined });
    };
    document.getElementById('apply').onclick = function () {
      reload({ filter: document.getElementById('filter').value, offset: 0 });
    };
    document.getElementById('filter').onkeydown = function (e) {
      if (e.key === 'Enter') reload({ filter: e.target.value, offset: 0 });
    };
    document.getElementById('exp').onchange = function (e) {
      reload({ exp: e.target.value, offset: 0 });
    };
    document.getElementById('prev').onclick = function () {
      reload({ offset: Math.max(0, state.offset - PAGE) });
    };
    document.getElementById('next').onclick = function () {
      reload({ offset: state.offset + PAGE });
    };
    var cmp = document.getElementById('compare');
    var refreshCompare = function () {
      cmp.disabled = selected.size < 1;
      cmp.textContent = 'Compare selected (' + selected.size + ')';
    };
    refreshCompare();
    cmp.onclick = function () {
      go('/compare', { runs: Array.from(selected).join(',') });
    };

    var runsReq = api(
      '/api/runs?' +
        qs({
          experiment: state.exp,
          filter: state.filter,
          sort: state.sort,
          order: state.order,
          offset: state.offset,
          limit: PAGE,
        }),
    );
    var colsReq = api('/api/columns?' + qs({ experiment: state.exp }));
    api('/api/experiments')
      .then(function (r) {
        var sel = document.getElementById('exp');
        if (!sel) return;
        r.experiments.forEach(function (e) {
          var o = document.createElement('option');
          o.value = e.name;
          o.textContent = e.name + ' (' + e.runs + ')';
          if (e.name === state.exp) o.selected = true;
          sel.appendChild(o);
        });
      })
      .catch(function (err) {
        var sel = document.getElementById('exp');
        if (!sel) return;
        var o = document.createElement('option');
        o.disabled = true;
        o.textContent = 'experiments not loaded: ' + err.message;
        sel.appendChild(o);
      });
    Promise.all([runsReq, colsReq])
      .then(function (res) {
        var page = res[0],
          cols = res[1];
        var all = cols.params
          .map(function (k) {
            return 'params.' + k;
          })
          .concat(
            cols.metrics
              .filter(function (k) {
                return k.indexOf('sys/') !== 0;
              })
              .map(function (k) {
                return 'metrics.' + k;
              }),
          );
        var shown = chosenCols
          ? chosenCols.filter(function (c) {
              return all.indexOf(c) >= 0;
            })
          : defaultColumns(cols);
        var panel = document.getElementById('colsPanel');
        panel.innerHTML =
          all
            .map(function (c) {
              return (
                '<label><input type="checkbox" value="' +
                esc(c) +
                '"' +
                (shown.indexOf(c) >= 0 ? ' checked' : '') +
                '> ' +
                esc(c) +
                '</label>'
              );
            })
            .join('') || '<span class="muted">no columns</span>';
        document.getElementById('colsBtn').onclick = function () {
          panel.hidden = !panel.hidden;
        };
        panel.onchange = function () {
          chosenCols = Array.from(panel.querySelectorAll('input:checked')).map(function (i) {
            return i.value;
          });
          renderTable(page, chosenCols);
        };
        renderTable(page, shown);
        document.getElementById('count').textContent = page.total + ' runs';
        document.getElementById('pageInfo').textContent = page.total
          ? page.offset + 1 + '–' + (page.offset + page.runs.length) + ' of ' + page.total
          : '';
        document.getElementById('prev').disabled = state.offset === 0;
        document.getElementById('next').disabled = page.offset + page.runs.length >= page.total;
      })
      .catch(function (err) {
        document.getElementById('tableWrap').innerHTML = '<div class="error">' + esc(err.message) + '</div>';
      });

    /** The primary metric (and the next one) first, then up to five params: what fits a 1,400 px window. */
    function defaultColumns(cols) {
      var metrics = primaryMetrics(
        cols.metrics.filter(function (k) {
          return k.indexOf('sys/') !== 0 && k !== 'epoch';
        }),
      ).slice(0, 2);
      return metrics
        .map(function (k) {
          return 'metrics.' + k;
        })
        .concat(
          cols.params.slice(0, 5).map(function (k) {
            return 'params.' + k;
          }),
        );
    }

    function renderTable(page, shown) {
      var head = [
        ['', null],
        ['name', 'name'],
        ['status', 'status'],
        ['experiment', 'experiment'],
        ['started', 'start_time'],
      ].concat(
        shown.map(function (c) {
          return [c.replace(/^(params|metrics)\./, ''), c];
        }),
      );
      var h =
        '<table id="runs"><thead><tr>' +
        head
          .map(function (c) {
            if (!c[1]) return '<th></th>';
            var cls = 'sortable' + (state.sort === c[1] ? ' sorted-' + state.order : '');
            return (
              '<th class="' + cls + '" data-sort="' + esc(c[1]) + '" title="' + esc(c[1]) + '">' + esc(c[0]) + '</th>'
            );
          })
          .join('') +
        '</tr></thead><tbody>';
      page.runs.forEach(function (r) {
        h +=
          '<tr data-id="' +
          esc(r.id) +
          '"><td><input type="checkbox" class="pick" value="' +
          esc(r.id) +
          '"' +
          (selected.has(r.id) ? ' checked' : '') +
          '></td>' +
          '<td><a href="#/run/' +
          esc(r.id) +
          '">' +
          esc(r.name) +
          '</a></td><td>' +
          statusBadge(r.status) +
          '</td><td>' +
          esc(r.experiment) +
          '</td><td title="' +
          time(r.startTime) +
          '">' +
          time(r.startTime).slice(5, 16) +
          '</td>' +
          shown
            .map(function (c) {
              var p = c.indexOf('params.') === 0,
                k = c.replace(/^(params|metrics)\./, '');
              var v = p ? r.params[k] : r.latest[k];
              return '<td class="num" title="' + esc(fmt(v)) + '">' + esc(fmt(v)) + '</td>';
            })
            .join('') +
          '</tr>';
      });
      h += '</tbody></table>';
      if (!page.runs.length) h += '<p class="muted">No runs match.</p>';
      document.getElementById('tableWrap').innerHTML = h;
      document.querySelectorAll('#runs th.sortable').forEach(function (th) {
        th.onclick = function () {
          var s = th.getAttribute('data-sort');
          reload({ sort: s, order: state.sort === s && state.order === 'desc' ? 'asc' : 'desc', offset: 0 });
        };
      });
      document.querySelectorAll('#runs input.pick').forEach(function (cb) {
        cb.onchange = function () {
          if (cb.checked) selected.add(cb.value);
          else selected.delete(cb.value);
          refreshCompare();
        };
      });
    }
  }

  // ---- chart controls shared by the run and compare pages: x axis, smoothing, log y (kept while browsing) ----
  var chartPrefs = { x: 'step', smooth: 0, logY: false };
  function chartToolbar(hasEpoch) {
    return (
      '<div class="toolbar chart-controls">x axis <select id="xAxis"><option value="step">step</option>' +
      '<option value="time">time (s)</option><option value="epoch"' +
      (hasEpoch ? '' : ' disabled') +
      '>epoch</option></select>' +
      '<label>smoothing <input id="smooth" type="range" min="0" max="0.99" step="0.01" value="' +
      chartPrefs.smooth +
      '"> <span id="smoothVal">' +
      chartPrefs.smooth +
      '</span></label>' +
      '<label><input id="logY" type="checkbox"' +
      (chartPrefs.logY ? ' checked' : '') +
      '> log y</label><span class="muted">drag to zoom · double-click to reset · hover for values</span></div>'
    );
  }
  function bindChartToolbar(redraw, hasEpoch) {
    var xs = document.getElementById('xAxis');
    if (chartPrefs.x === 'epoch' && !hasEpoch) chartPrefs.x = 'step';
    xs.value = chartPrefs.x;
    xs.onchange = function () {
      chartPrefs.x = xs.value;
      redraw();
    };
    var sm = document.getElementById('smooth');
    sm.oninput = function () {
      chartPrefs.smooth = +sm.value;
      document.getElementById('smoothVal').textContent = sm.value;
      redraw();
    };
    document.getElementById('logY').onchange = function (e) {
      chartPrefs.logY = e.target.checked;
      redraw();
    };
  }
  /** step → epoch: interpolated between the steps where `epoch` was logged (epoch e ends at x = e + 1 when 0-based). */
  function epochMapper(epochPoints) {
    if (!epochPoints?.length) return null;
    var base = epochPoints[0][1] === 0 ? 1 : 0;
    var knots = [[0, 0]].concat(
      epochPoints.map(function (p) {
        return [p[0], p[1] + base];
      }),
    );
    return function (s) {
      for (var i = 1; i < knots.length; i++)
        if (s <= knots[i][0]) {
          var a = knots[i - 1],
            b = knots[i];
          return b[0] === a[0] ? b[1] : a[1] + ((s - a[0]) / (b[0] - a[0])) * (b[1] - a[1]);
        }
      var p = knots[knots.length - 2],
        q = knots[knots.length - 1];
      return q[0] === p[0] ? q[1] : q[1] + ((s - q[0]) / (q[0] - p[0])) * (q[1] - p[1]);
    };
  }
  /** Points [[step, value, time]] on the chosen x axis. */
  function onAxis(points, toEpoch, t0) {
    return points.map(function (p) {
      var x = chartPrefs.x === 'time' ? (p[2] - t0) / 1000 : chartPrefs.x === 'epoch' && toEpoch ? toEpoch(p[0]) : p[0];
      return [x, p[1]];
    });
  }
  function firstTime(series) {
    var t = Infinity;
    series.forEach(function (s) {
      if (s.points.length && s.points[0][2] < t) t = s.points[0][2];
    });
    return t === Infinity ? 0 : t;
  }
  /** A metric logged once (test accuracy at the end) is a value, not an empty chart. */
  function singleValue(k, p) {
    return (
      '<div class="single-value"><b>' +
      esc(k) +
      '</b><div class="big">' +
      esc(fmt(p[1])) +
      '</div><div class="muted">logged once, at step ' +
      p[0] +
      '</div></div>'
    );
  }
  function artifactUrl(runId, path) {
    return '/api/runs/' + encodeURIComponent(runId) + '/artifacts/' + path.split('/').map(encodeURIComponent).join('/');
  }
  function lineageKv(lin) {
    lin = lin || {};
    return kv({
      git: lin.git ? lin.git.commit.slice(0, 12) + (lin.git.dirty ? ' (dirty)' : '') : '–',
      config_hash: lin.configHash ? lin.configHash.slice(0, 19) + '…' : '–',
      dataset: lin.dataset
        ? (lin.dataset.name ? lin.dataset.name + ' ' : '') + lin.dataset.fingerprint.slice(0, 26) + '…'
        : '–',
      seed: lin.seed === null || lin.seed === undefined ? '–' : lin.seed,
      versions: lin.versions || {},
    });
  }

  // ---- one run ----
  function runPage(id) {
    Promise.all([
      api('/api/runs/' + encodeURIComponent(id)),
      api('/api/runs/' + encodeURIComponent(id) + '/metrics'),
      api('/api/runs/' + encodeURIComponent(id) + '/artifacts'),
    ])
      .then(function (res) {
        var run = res[0],
          keys = res[1].keys,
          arts = res[2].artifacts;
        var hasEpoch = keys.indexOf('epoch') >= 0;
        var images = arts.filter(function (a) {
          return /\.(png|jpe?g|gif|webp|svg)$/i.test(a.path);
        });
        view.innerHTML =
          '<h1>' +
          esc(run.name) +
          ' ' +
          statusBadge(run.status) +
          '</h1>' +
          '<p class="muted">' +
          esc(run.id) +
          ' · ' +
          esc(run.experiment) +
          ' · started ' +
          time(run.startTime) +
          ' · ended ' +
          time(run.endTime) +
          ' · ' +
          esc(run.host) +
          ' pid ' +
          run.pid +
          '</p>' +
          '<div class="grid"><div class="card"><h2>Params</h2>' +
          kv(run.params) +
          '</div><div class="card"><h2>Latest metrics</h2>' +
          kv(run.latest) +
          '</div>' +
          '<div class="card"><h2>Lineage</h2>' +
          lineageKv(run.lineage) +
          '</div>' +
          '<div class="card"><h2>Tags</h2>' +
          kv(run.tags) +
          '<h2>Notes</h2><textarea id="notes">' +
          esc(run.notes) +
          '</textarea><button id="saveNotes">Save notes</button></div></div>' +
          '<h2>Metrics</h2>' +
          chartToolbar(hasEpoch) +
          '<div id="values" class="values"></div><div id="charts" class="grid"></div>' +
          (images.length
            ? '<h2>Images</h2><div class="images">' +
              images
                .map(function (a) {
                  return (
                    '<figure class="artifact-image"><img src="' +
                    artifactUrl(run.id, a.path) +
                    '" alt="' +
                    esc(a.path) +
                    '"><figcaption class="muted">' +
                    esc(a.path) +
                    '</figcaption></figure>'
                  );
                })
                .join('') +
              '</div>'
            : '') +
          '<h2>Artifacts</h2>' +
          (arts.length
            ? '<table><tr><th>path</th><th>kind</th><th>size</th><th>digest</th></tr>' +
              arts
                .map(function (a) {
                  return (
                    '<tr><td><a href="' +
                    artifactUrl(run.id, a.path) +
                    '">' +
                    esc(a.path) +
                    '</a></td><td>' +
                    esc(a.kind) +
                    '</td><td class="num">' +
                    a.size +
                    '</td><td>' +
                    esc(a.digest.slice(0, 19)) +
                    '…</td></tr>'
                  );
                })
                .join('') +
              '</table>'
            : '<p class="muted">none</p>');
        document.getElementById('saveNotes').onclick = function () {
          write('PATCH', '/api/runs/' + encodeURIComponent(run.id), {
            notes: document.getElementById('notes').value,
          }).catch(function (err) {
            alert('notes not saved: ' + err.message);
          });
        };
        var shown = keys.filter(function (k) {
          return k !== 'epoch';
        });
        return Promise.all(
          keys.map(function (k) {
            return api('/api/runs/' + encodeURIComponent(run.id) + '/series?' + qs({ key: k, max_points: 1000 })).then(
              function (s) {
                return s.points;
              },
              function (err) {
                return err;
              },
            );
          }),
        ).then(function (all) {
          var byKey = {};
          keys.forEach(function (k, i) {
            byKey[k] = all[i];
          });
          var toEpoch = hasEpoch && Array.isArray(byKey.epoch) ? epochMapper(byKey.epoch) : null;
          var values = shown.filter(function (k) {
            return Array.isArray(byKey[k]) && byKey[k].length === 1;
          });
          document.getElementById('values').innerHTML = values
            .map(function (k) {
              return singleValue(k, byKey[k][0]);
            })
            .join('');
          var charts = document.getElementById('charts');
          var boxes = shown
            .filter(function (k) {
              return values.indexOf(k) < 0;
            })
            .map(function (k) {
              var card = document.createElement('div');
              card.className = 'card';
              card.innerHTML = '<b>' + esc(k) + '</b><div class="chart-box" data-key="' + esc(k) + '"></div>';
              charts.appendChild(card);
              if (!Array.isArray(byKey[k]))
                card.lastChild.innerHTML = '<div class="error">' + esc(byKey[k].message) + '</div>';
              return { k: k, el: card.lastChild };
            });
          var redraw = function () {
            boxes.forEach(function (b) {
              if (!Array.isArray(byKey[b.k])) return;
              var t0 = byKey[b.k].length ? byKey[b.k][0][2] : 0;
              C.plot(b.el, [{ name: b.k, points: onAxis(byKey[b.k], toEpoch, t0) }], {
                xLabel: chartPrefs.x === 'time' ? 'time (s)' : chartPrefs.x,
                logY: chartPrefs.logY,
                smooth: chartPrefs.smooth,
                height: 220,
              });
            });
          };
          bindChartToolbar(redraw, !!toEpoch);
          redraw();
        });
      })
      .catch(showError);
  }

  // ---- comparison: several metrics overlaid for several runs, and their params side by side ----
  function comparePage(q) {
    var ids = (q.runs || '').split(',').filter(Boolean);
    if (!ids.length) {
      view.innerHTML = '<p class="muted">Select runs in the runs table, then “Compare selected”.</p>';
      return;
    }
    Promise.all(
      ids.map(function (id) {
        return Promise.all([
          api('/api/runs/' + encodeURIComponent(id)),
          api('/api/runs/' + encodeURIComponent(id) + '/metrics'),
        ]);
      }),
    )
      .then(function (res) {
        var runs = res.map(function (r) {
          return r[0];
        });
        var keys = Array.from(
          new Set(
            [].concat.apply(
              [],
              res.map(function (r) {
                return r[1].keys;
              }),
            ),
          ),
        ).sort();
        var plain = keys.filter(function (k) {
          return k.indexOf('sys/') !== 0 && k !== 'epoch';
        });
        var chosen = q.keys
          ? q.keys.split(',').filter(function (k) {
              return keys.indexOf(k) >= 0;
            })
          : primaryMetrics(plain).slice(0, 2);
        if (!chosen.length && plain.length) chosen = [plain[0]];
        var paramKeys = Array.from(
          new Set(
            [].concat.apply(
              [],
              runs.map(function (r) {
                return Object.keys(r.params);
              }),
            ),
          ),
        ).sort();
        var differs = function (k) {
          var seen = new Set(
            runs.map(function (r) {
              return JSON.stringify(r.params[k]);
            }),
          );
          return seen.size > 1;
        };
        view.innerHTML =
          '<h1>Compare ' +
          ids.length +
          ' runs</h1><div class="toolbar"><span class="cols"><button id="metricsBtn">Metrics (' +
          chosen.length +
          ')</button><div id="metricsPanel" class="cols-panel" hidden>' +
          keys
            .map(function (k) {
              return (
                '<label><input type="checkbox" value="' +
                esc(k) +
                '"' +
                (chosen.indexOf(k) >= 0 ? ' checked' : '') +
                '> ' +
                esc(k) +
                '</label>'
              );
            })
            .join('') +
          '</div></span></div>' +
          chartToolbar(false) +
          '<div id="cmpCharts" class="grid wide"></div><h2>Params</h2>' +
          '<label class="muted"><input id="onlyDiff" type="checkbox"> only params that differ</label>' +
          '<div class="scroll-x"><table id="paramsDiff"><thead><tr><th>param</th>' +
          runs
            .map(function (r) {
              return '<th><a href="#/run/' + esc(r.id) + '">' + esc(r.name) + '</a></th>';
            })
            .join('') +
          '</tr></thead><tbody>' +
          paramKeys
            .map(function (k) {
              var d = differs(k);
              return (
                '<tr class="' +
                (d ? 'differs' : 'same') +
                '"><td>' +
                esc(k) +
                '</td>' +
                runs
                  .map(function (r) {
                    return '<td class="num">' + esc(fmt(r.params[k])) + '</td>';
                  })
                  .join('') +
                '</tr>'
              );
            })
            .join('') +
          '</tbody></table></div>';
        document.getElementById('metricsBtn').onclick = function () {
          var p = document.getElementById('metricsPanel');
          p.hidden = !p.hidden;
        };
        document.getElementById('metricsPanel').onchange = function () {
          var picked = Array.from(document.querySelectorAll('#metricsPanel input:checked')).map(function (i) {
            return i.value;
          });
          go('/compare', { runs: ids.join(','), keys: picked.join(',') || undefined });
        };
        document.getElementById('onlyDiff').onchange = function (e) {
          document.getElementById('paramsDiff').classList.toggle('only-diff', e.target.checked);
        };
        if (!chosen.length) {
          document.getElementById('cmpCharts').innerHTML = '<p class="muted">These runs have no metrics.</p>';
          return;
        }
        return Promise.all(
          chosen.map(function (key) {
            return api('/api/compare?' + qs({ runs: ids.join(','), key: key, max_points: 1000 }));
          }),
        ).then(function (all) {
          var host = document.getElementById('cmpCharts');
          var boxes = all.map(function (c) {
            var card = document.createElement('div');
            card.className = 'card';
            card.innerHTML = '<b>' + esc(c.key) + '</b><div class="chart-box" data-key="' + esc(c.key) + '"></div>';
            host.appendChild(card);
            return { c: c, el: card.lastChild };
          });
          var redraw = function () {
            boxes.forEach(function (b) {
              var t0 = firstTime(b.c.series);
              var single = b.c.series.every(function (s) {
                return s.points.length <= 1;
              });
              if (single) {
                b.el.innerHTML =
                  '<table class="values-table">' +
                  b.c.series
                    .map(function (s) {
                      return (
                        '<tr><td>' +
                        esc(s.name) +
                        '</td><td class="num">' +
                        esc(fmt(s.points.length ? s.points[0][1] : null)) +
                        '</td></tr>'
                      );
                    })
                    .join('') +
                  '</table>';
                return;
              }
              C.plot(
                b.el,
                b.c.series.map(function (s) {
                  return { name: s.name, points: onAxis(s.points, null, t0) };
                }),
                {
                  xLabel: chartPrefs.x === 'time' ? 'time (s)' : 'step',
                  yLabel: b.c.key,
                  logY: chartPrefs.logY,
                  smooth: chartPrefs.smooth,
                  height: 300,
                },
              );
            });
          };
          bindChartToolbar(redraw, false);
          redraw();
        });
      })
      .catch(showError);
  }

  // ---- studies ----
  function studiesPage() {
    api('/api/studies')
      .then(function (r) {
        view.innerHTML =
          '<h1>Studies</h1>' +
          (r.studies.length
            ? '<table id="studies"><tr><th>name</th><th>directions</th><th>trials</th></tr>' +
              r.studies
                .map(function (s) {
                  return (
                    '<tr><td><a href="#/study/' +
                    encodeURIComponent(s.id) +
                    '">' +
                    esc(s.name) +
                    '</a></td><td>' +
                    esc(s.directions.join(', ')) +
                    '</td><td class="num">' +
                    s.trials +
                    '</td></tr>'
                  );
                })
                .join('') +
              '</table>'
            : '<p class="muted">No studies.</p>');
      })
      .catch(showError);
  }

  function studyPage(id) {
    api('/api/studies/' + encodeURIComponent(id))
      .then(function (r) {
        var s = r.study,
          done = r.trials.filter(function (t) {
            return t.state === 'COMPLETE' && t.values;
          });
        var minimize = s.directions[0] !== 'maximize';
        var logs = new Set(
          [].concat.apply(
            [],
            r.trials.map(function (t) {
              return t.logParams || [];
            }),
          ),
        );
        var names = Array.from(
          new Set(
            [].concat.apply(
              [],
              r.trials.map(function (t) {
                return Object.keys(t.params);
              }),
            ),
          ),
        ).sort();
        var numeric = names.filter(function (n) {
          return done.every(function (t) {
            return t.params[n] === undefined || typeof t.params[n] === 'number';
          });
        });
        var withSteps = r.trials.filter(function (t) {
          return t.intermediate?.length;
        });
        var html =
          '<h1>Study ' +
          esc(s.name) +
          '</h1><p class="muted">' +
          r.trials.length +
          ' trials · ' +
          done.length +
          ' complete · ' +
          esc(s.directions.join(', ')) +
          '</p><div class="grid">' +
          '<div class="card"><b>Optimization history</b><div id="history" class="chart-box"></div></div>' +
          '<div class="card" id="importance"><b>Parameter importance</b> <span class="muted">(random-forest permutation importance, as <code>lathe tune</code> prints it)</span><div id="importanceChart"></div></div>' +
          '<div class="card"><b>Intermediate values</b><div id="intermediate" class="chart-box">' +
          (withSteps.length ? '' : '<p class="muted">no trial reported intermediate values</p>') +
          '</div></div>' +
          '<div class="card"><b>Contour</b> <select id="cx"></select> × <select id="cy"></select><div id="contour"></div></div>' +
          '<div class="card" style="grid-column: 1 / -1"><b>Slices</b> <span class="muted">(objective against each parameter)</span><div id="slices" class="grid slices"></div></div>' +
          '<div class="card" id="parallel" style="grid-column: 1 / -1"><b>Parallel coordinates</b> <span class="muted">(blue = better)</span><div id="parallelChart"></div></div>';
        if (s.directions.length > 1) {
          var front = new Set(r.pareto);
          html +=
            '<div class="card" id="pareto"><b>Pareto front</b> <span class="muted">(' +
            esc(s.directions[0]) +
            ' × ' +
            esc(s.directions[1]) +
            ')</span>' +
            C.scatterChart(
              done.map(function (t) {
                return {
                  x: t.values[0],
                  y: t.values[1],
                  color: front.has(t.number) ? '#e4572e' : '#9aa5b1',
                  r: front.has(t.number) ? 5 : 3,
                  title: '#' + t.number,
                };
              }),
              [],
              { xLabel: 'objective 0', yLabel: 'objective 1' },
            ) +
            '</div>';
        }
        html += '</div><h2>Trials</h2><div class="scroll-x" id="trialsWrap"></div>';
        view.innerHTML = html;

        C.plot(
          document.getElementById('history'),
          [
            {
              name: 'objective',
              dots: true,
              points: r.history.map(function (h) {
                return [h.number, h.value];
              }),
            },
            {
              name: 'best so far',
              points: r.history.map(function (h) {
                return [h.number, h.best];
              }),
            },
          ],
          { intX: true, xLabel: 'trial', yLabel: 'objective', height: 260 },
        );
        var imp = document.getElementById('importanceChart');
        imp.innerHTML = r.importance.length
          ? C.barChart(
              r.importance.map(function (i) {
                return { label: i.param, value: i.importance };
              }),
              { width: Math.max(280, imp.clientWidth) },
            )
          : '<p class="muted">needs four complete trials</p>';
        if (withSteps.length)
          C.plot(
            document.getElementById('intermediate'),
            withSteps.map(function (t) {
              return { name: '#' + t.number, points: t.intermediate };
            }),
            { intX: true, xLabel: 'step', yLabel: 'intermediate value', height: 260, legend: false },
          );

        // contour over two numeric parameters (the two most important by default)
        var ranked = r.importance
          .map(function (i) {
            return i.param;
          })
          .filter(function (p) {
            return numeric.indexOf(p) >= 0;
          });
        numeric.forEach(function (p) {
          if (ranked.indexOf(p) < 0) ranked.push(p);
        });
        var cx = document.getElementById('cx'),
          cy = document.getElementById('cy');
        [cx, cy].forEach(function (sel, j) {
          sel.innerHTML = numeric
            .map(function (n) {
              return '<option>' + esc(n) + '</option>';
            })
            .join('');
          if (ranked[j]) sel.value = ranked[j];
        });
        var drawContour = function () {
          var el = document.getElementById('contour');
          if (numeric.length < 2 || cx.value === cy.value) {
            el.innerHTML = '<p class="muted">needs two different numeric parameters</p>';
            return;
          }
          C.contour(
            el,
            done
              .filter(function (t) {
                return t.params[cx.value] !== undefined && t.params[cy.value] !== undefined;
              })
              .map(function (t) {
                return { x: t.params[cx.value], y: t.params[cy.value], z: t.values[0] };
              }),
            {
              xLabel: cx.value,
              yLabel: cy.value,
              logX: logs.has(cx.value),
              logY: logs.has(cy.value),
              maximize: !minimize,
            },
          );
        };
        cx.onchange = cy.onchange = drawContour;
        drawContour();

        var slices = document.getElementById('slices');
        names.forEach(function (n) {
          var card = document.createElement('div');
          card.innerHTML = '<b>' + esc(n) + (logs.has(n) ? ' (log)' : '') + '</b><div class="chart-box"></div>';
          slices.appendChild(card);
          var cats =
            numeric.indexOf(n) >= 0
              ? null
              : Array.from(
                  new Set(
                    done.map(function (t) {
                      return String(t.params[n]);
                    }),
                  ),
                ).sort();
          C.plot(
            card.lastChild,
            [
              {
                name: 'objective',
                dots: true,
                points: done
                  .filter(function (t) {
                    return t.params[n] !== undefined;
                  })
                  .map(function (t) {
                    return [cats ? cats.indexOf(String(t.params[n])) : t.params[n], t.values[0]];
                  }),
              },
            ],
            {
              xLabel: n,
              logX: logs.has(n),
              xValues: cats || undefined,
              xRange: cats ? [-0.5, cats.length - 0.5] : undefined,
              height: 200,
              legend: false,
            },
          );
        });

        var vals = done.map(function (t) {
            return t.values[0];
          }),
          lo = Math.min.apply(null, vals),
          hi = Math.max.apply(null, vals);
        var dims = names
          .map(function (n) {
            return {
              name: n,
              log: logs.has(n),
              values: done.map(function (t) {
                return t.params[n] === undefined ? null : t.params[n];
              }),
            };
          })
          .concat([{ name: 'objective', values: vals }]);
        var scores = vals.map(function (v) {
          var x = hi > lo ? (v - lo) / (hi - lo) : 0.5;
          return minimize ? x : 1 - x;
        });
        var pc = document.getElementById('parallelChart');
        pc.innerHTML = done.length ? C.parallelCoords(dims, scores, { width: Math.max(480, pc.clientWidth) }) : '';

        // trials table, sorted by clicking a header
        var cols = [
          [
            '#',
            function (t) {
              return t.number;
            },
          ],
          [
            'state',
            function (t) {
              return t.state;
            },
          ],
        ]
          .concat(
            s.directions.map(function (_d, i) {
              return [
                'value ' + i,
                function (t) {
                  return t.values ? t.values[i] : null;
                },
              ];
            }),
          )
          .concat(
            names.map(function (n) {
              return [
                n,
                function (t) {
                  return t.params[n];
                },
              ];
            }),
          )
          .concat([
            [
              'duration (s)',
              function (t) {
                return t.startedAt && t.completedAt ? (t.completedAt - t.startedAt) / 1000 : null;
              },
            ],
          ]);
        var sortCol = 0,
          desc = false;
        var drawTrials = function () {
          var rows = r.trials.slice().sort(function (a, b) {
            var x = cols[sortCol][1](a),
              y = cols[sortCol][1](b);
            if (x === y) return 0;
            if (x === null || x === undefined) return 1;
            if (y === null || y === undefined) return -1;
            return (x < y ? -1 : 1) * (desc ? -1 : 1);
          });
          document.getElementById('trialsWrap').innerHTML =
            '<table id="trials"><thead><tr>' +
            cols
              .map(function (c, i) {
                return (
                  '<th class="sortable' +
                  (i === sortCol ? (desc ? ' sorted-desc' : ' sorted-asc') : '') +
                  '" data-i="' +
                  i +
                  '">' +
                  esc(c[0]) +
                  '</th>'
                );
              })
              .join('') +
            '</tr></thead><tbody>' +
            rows
              .map(function (t) {
                return (
                  '<tr>' +
                  cols
                    .map(function (c, i) {
                      var v = c[1](t);
                      return i === 1
                        ? '<td>' + statusBadge(String(v).toLowerCase()) + '</td>'
                        : '<td class="num">' + esc(fmt(v)) + '</td>';
                    })
                    .join('') +
                  '</tr>'
                );
              })
              .join('') +
            '</tbody></table>';
          document.querySelectorAll('#trials th').forEach(function (th) {
            th.onclick = function () {
              var i = +th.getAttribute('data-i');
              desc = i === sortCol ? !desc : false;
              sortCol = i;
              drawTrials();
            };
          });
        };
        drawTrials();
      })
      .catch(showError);
  }

  // ---- registry ----
  function modelsPage() {
    api('/api/models')
      .then(function (r) {
        view.innerHTML =
          '<h1>Registered models</h1>' +
          (r.models.length
            ? '<table id="models"><tr><th>name</th><th>latest version</th><th>aliases</th></tr>' +
              r.models
                .map(function (m) {
                  return (
                    '<tr><td><a href="#/model/' +
                    encodeURIComponent(m.name) +
                    '">' +
                    esc(m.name) +
                    '</a></td><td class="num">' +
                    m.latestVersion +
                    '</td><td>' +
                    Object.keys(m.aliases)
                      .map(function (a) {
                        return '<span class="alias">@' + esc(a) + ' → v' + m.aliases[a] + '</span>';
                      })
                      .join('') +
                    '</td></tr>'
                  );
                })
                .join('') +
              '</table>'
            : '<p class="muted">No registered models.</p>');
      })
      .catch(showError);
  }

  function modelPage(name) {
    api('/api/models/' + encodeURIComponent(name))
      .then(function (r) {
        var byVersion = {};
        Object.keys(r.model.aliases).forEach(function (a) {
          (byVersion[r.model.aliases[a]] = byVersion[r.model.aliases[a]] || []).push(a);
        });
        view.innerHTML =
          '<h1>' +
          esc(name) +
          '</h1><p class="muted">URIs: models:/' +
          esc(name) +
          '@&lt;alias&gt; · models:/' +
          esc(name) +
          '/&lt;version&gt;</p>' +
          '<table id="versions"><tr><th>version</th><th>aliases</th><th>run</th><th>metrics</th><th>signature</th><th>created</th></tr>' +
          r.versions
            .map(function (v) {
              var sig = v.signature
                ? v.signature.inputs
                    .map(function (t) {
                      return t.name + ': ' + t.dtype + '[' + t.shape.join(', ') + ']';
                    })
                    .join(' ') +
                  ' → ' +
                  v.signature.outputs
                    .map(function (t) {
                      return t.name + ': ' + t.dtype + '[' + t.shape.join(', ') + ']';
                    })
                    .join(' ')
                : 'not recorded';
              return (
                '<tr><td class="num">' +
                v.version +
                '</td><td>' +
                (byVersion[v.version] || [])
                  .map(function (a) {
                    return '<span class="alias">@' + esc(a) + '</span>';
                  })
                  .join('') +
                '</td><td>' +
                (v.runId ? '<a href="#/run/' + esc(v.runId) + '">' + esc(v.runId.slice(0, 8)) + '</a>' : '–') +
                '</td><td>' +
                esc(
                  Object.keys(v.metrics)
                    .slice(0, 4)
                    .map(function (k) {
                      return k + '=' + fmt(v.metrics[k]);
                    })
                    .join(' '),
                ) +
                '</td><td>' +
                esc(sig) +
                '</td><td>' +
                time(v.createdAt) +
                '</td></tr>'
              );
            })
            .join('') +
          '</table><h2>Lineage</h2>' +
          '<table id="lineage"><tr><th>version</th><th>run</th><th>git</th><th>dataset</th><th>config hash</th><th>seed</th></tr>' +
          r.versions
            .map(function (v) {
              var lin = v.lineage || {};
              return (
                '<tr><td class="num">' +
                v.version +
                '</td><td>' +
                (v.runId
                  ? '<a class="run-link" data-run="' +
                    esc(v.runId) +
                    '" href="#/run/' +
                    esc(v.runId) +
                    '">' +
                    esc(v.runId.slice(0, 8)) +
                    '</a>'
                  : '–') +
                '</td><td>' +
                esc(lin.git ? lin.git.commit.slice(0, 12) + (lin.git.dirty ? ' (dirty)' : '') : '–') +
                '</td><td title="' +
                esc(lin.dataset ? lin.dataset.fingerprint : '') +
                '">' +
                esc(lin.dataset ? (lin.dataset.name || '') + ' ' + lin.dataset.fingerprint.slice(0, 19) + '…' : '–') +
                '</td><td title="' +
                esc(lin.configHash || '') +
                '">' +
                esc(lin.configHash ? lin.configHash.slice(0, 19) + '…' : '–') +
                '</td><td class="num">' +
                esc(lin.seed === null || lin.seed === undefined ? '–' : String(lin.seed)) +
                '</td></tr>'
              );
            })
            .join('') +
          '</table><h2>Alias history</h2>' +
          (r.history.length
            ? '<table><tr><th>when</th><th>alias</th><th>version</th></tr>' +
              r.history
                .slice()
                .reverse()
                .map(function (h) {
                  return (
                    '<tr><td>' +
                    time(h.at) +
                    '</td><td>@' +
                    esc(h.alias) +
                    '</td><td>' +
                    (h.version === null ? 'removed' : 'v' + h.version) +
                    '</td></tr>'
                  );
                })
                .join('') +
              '</table>'
            : '<p class="muted">no alias moves</p>');
        // runs are shown by their readable names
        var runIds = Array.from(
          new Set(
            r.versions
              .map(function (v) {
                return v.runId;
              })
              .filter(Boolean),
          ),
        );
        runIds.forEach(function (rid) {
          api('/api/runs/' + encodeURIComponent(rid))
            .then(function (run) {
              document
                .querySelectorAll('a.run-link[data-run="' + rid + '"], #versions a[href="#/run/' + rid + '"]')
                .forEach(function (a) {
                  a.textContent = run.name;
                });
            })
            .catch(function () {});
        });
      })
      .catch(showError);
  }

  function route() {
    var h = parseHash(),
      p = h.parts;
    document.querySelectorAll('nav a').forEach(function (a) {
      a.classList.toggle(
        'active',
        a.getAttribute('data-nav') ===
          ({ run: 'runs', compare: 'runs', study: 'studies', model: 'models' }[p[0]] || p[0]),
      );
    });
    if (p[0] === 'run' && p[1]) return runPage(p[1]);
    if (p[0] === 'compare') return comparePage(h.q);
    if (p[0] === 'studies') return studiesPage();
    if (p[0] === 'study' && p[1]) return studyPage(p[1]);
    if (p[0] === 'models') return modelsPage();
    if (p[0] === 'model' && p[1]) return modelPage(p[1]);
    return runsPage(h.q);
  }
  window.addEventListener('hashchange', route);
  route();
})();
