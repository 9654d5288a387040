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
          : all.slice(0, 8);
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
          '</td><td>' +
          time(r.startTime) +
          '</td>' +
          shown
            .map(function (c) {
              var p = c.indexOf('params.') === 0,
                k = c.replace(/^(params|metrics)\./, '');
              var v = p ? r.params[k] : r.latest[k];
              return '<td class="num">' + esc(fmt(v)) + '</td>';
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
        var lin = run.lineage || {};
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
          kv({
            git: lin.git ? lin.git.commit.slice(0, 12) + (lin.git.dirty ? ' (dirty)' : '') : '–',
            config_hash: lin.configHash || '–',
            dataset: lin.dataset ? lin.dataset.fingerprint : '–',
            seed: lin.seed === null || lin.seed === undefined ? '–' : lin.seed,
            versions: lin.versions || {},
          }) +
          '</div>' +
          '<div class="card"><h2>Tags</h2>' +
          kv(run.tags) +
          '<h2>Notes</h2><textarea id="notes">' +
          esc(run.notes) +
          '</textarea><button id="saveNotes">Save notes</button></div></div>' +
          '<h2>Metrics</h2><div id="charts" class="grid"></div><h2>Artifacts</h2>' +
          (arts.length
            ? '<table><tr><th>path</th><th>kind</th><th>size</th><th>digest</th></tr>' +
              arts
                .map(function (a) {
                  return (
                    '<tr><td><a href="/api/runs/' +
                    encodeURIComponent(run.id) +
                    '/artifacts/' +
                    a.path.split('/').map(encodeURIComponent).join('/') +
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
            : '<p class="muted">none</p>') +
          // raster images (sample grids, plots) are shown inline below the table
          arts
            .filter(function (a) {
              return /\.(png|jpe?g|gif|webp)$/i.test(a.path);
            })
            .map(function (a) {
              return (
                '<figure class="artifact-image"><img src="/api/runs/' +
                encodeURIComponent(run.id) +
                '/artifacts/' +
                a.path.split('/').map(encodeURIComponent).join('/') +
                '" alt="' +
                esc(a.path) +
                '" style="max-width:100%;image-rendering:pixelated"><figcaption class="muted">' +
                esc(a.path) +
                '</figcaption></figure>'
              );
            })
            .join('');
        document.getElementById('saveNotes').onclick = function () {
          write('PATCH', '/api/runs/' + encodeURIComponent(run.id), {
            notes: document.getElementById('notes').value,
          }).catch(function (err) {
            alert('notes not saved: ' + err.message);
          });
        };
        var charts = document.getElementById('charts');
        keys.forEach(function (k) {
          var card = document.createElement('div');
          card.className = 'card';
          card.innerHTML = '<b>' + esc(k) + '</b><div class="muted">loading…</div>';
          charts.appendChild(card);
          api('/api/runs/' + encodeURIComponent(run.id) + '/series?' + qs({ key: k, max_points: 500 }))
            .then(function (s) {
              card.innerHTML =
                '<b>' +
                esc(k) +
                '</b>' +
                C.lineChart([{ name: run.name, points: s.points }], { width: 420, height: 220, xLabel: 'step' });
            })
            .catch(function (err) {
              card.innerHTML = '<b>' + esc(k) + '</b><div class="error">' + esc(err.message) + '</div>';
            });
        });
      })
      .catch(showError);
  }

  // ---- comparison ----
  function comparePage(q) {
    var ids = (q.runs || '').split(',').filter(Boolean);
    if (!ids.length) {
      view.innerHTML = '<p class="muted">Select runs in the runs table, then “Compare selected”.</p>';
      return;
    }
    Promise.all(
      ids.map(function (id) {
        return api('/api/runs/' + encodeURIComponent(id) + '/metrics');
      }),
    )
      .then(function (res) {
        var keys = Array.from(
          new Set(
            [].concat.apply(
              [],
              res.map(function (r) {
                return r.keys;
              }),
            ),
          ),
        ).sort();
        var key =
          q.key && keys.indexOf(q.key) >= 0
            ? q.key
            : keys.filter(function (k) {
                return k.indexOf('sys/') !== 0;
              })[0] || keys[0];
        view.innerHTML =
          '<h1>Compare ' +
          ids.length +
          ' runs</h1><div class="toolbar">metric <select id="key">' +
          keys
            .map(function (k) {
              return '<option' + (k === key ? ' selected' : '') + '>' + esc(k) + '</option>';
            })
            .join('') +
          '</select></div><div id="chart" class="card"></div>';
        document.getElementById('key').onchange = function (e) {
          go('/compare', { runs: ids.join(','), key: e.target.value });
        };
        if (!key) {
          document.getElementById('chart').innerHTML = '<p class="muted">These runs have no metrics.</p>';
          return;
        }
        return api('/api/compare?' + qs({ runs: ids.join(','), key: key, max_points: 1000 })).then(function (c) {
          document.getElementById('chart').innerHTML = C.lineChart(
            c.series.map(function (s) {
              return { name: s.name, points: s.points };
            }),
            { width: 900, height: 420, xLabel: 'step', yLabel: key },
          );
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
        var html =
          '<h1>Study ' +
          esc(s.name) +
          '</h1><p class="muted">' +
          r.trials.length +
          ' trials · ' +
          done.length +
          ' complete · ' +
          esc(s.directions.join(', ')) +
          '</p><div class="grid">';
        html +=
          '<div class="card" id="history"><b>Optimization history</b>' +
          C.scatterChart(
            r.history.map(function (h) {
              return { x: h.number, y: h.value, title: '#' + h.number + ': ' + fmt(h.value) };
            }),
            [
              {
                name: 'best so far',
                points: r.history.map(function (h) {
                  return [h.number, h.best];
                }),
              },
            ],
            { xLabel: 'trial', yLabel: 'objective 0' },
          ) +
          '</div>';
        html +=
          '<div class="card" id="importance"><b>Parameter importance</b>' +
          (r.importance.length
            ? C.barChart(
                r.importance.map(function (i) {
                  return { label: i.param, value: i.importance };
                }),
              )
            : '<p class="muted">needs two complete trials</p>') +
          '</div>';
        var names = Array.from(
          new Set(
            [].concat.apply(
              [],
              done.map(function (t) {
                return Object.keys(t.params);
              }),
            ),
          ),
        ).sort();
        var vals = done.map(function (t) {
            return t.values[0];
          }),
          lo = Math.min.apply(null, vals),
          hi = Math.max.apply(null, vals);
        var dims = names
          .map(function (n) {
            return {
              name: n,
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
        html +=
          '<div class="card" id="parallel" style="grid-column: 1 / -1"><b>Parallel coordinates</b> <span class="muted">(blue = better)</span>' +
          (done.length ? C.parallelCoords(dims, scores, { width: 900 }) : '') +
          '</div>';
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
        view.innerHTML = html + '</div>';
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
                      return t.name + ':' + t.dtype + '[' + t.shape.join(',') + ']';
                    })
                    .join(' ') +
                  ' → ' +
                  v.signature.outputs
                    .map(function (t) {
                      return t.name;
                    })
                    .join(' ')
                : '–';
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
