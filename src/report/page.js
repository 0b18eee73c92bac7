/* diffuse-dse report: draws every section from the JSON embedded in #report-data.
   Plain DOM and SVG, no libraries and no network: the page must open from a file anywhere.
   Text from the store is only ever set with textContent, never parsed as HTML. */
'use strict';
(function () {
  var D = JSON.parse(document.getElementById('report-data').textContent);
  // The SVG namespace, taken from an inline <svg> the HTML parser already placed in it.
  var SVGNS = document.getElementById('svg-ns').namespaceURI;
  var OBJ = D.objectives;
  var PARAMS = D.params;
  var RESULTS = D.results;
  var drawn = {};

  /* ---------- small helpers ---------- */
  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    setAttrs(e, attrs);
    append(e, children);
    return e;
  }
  function sv(tag, attrs, children) {
    var e = document.createElementNS(SVGNS, tag);
    setAttrs(e, attrs);
    append(e, children);
    return e;
  }
  function setAttrs(e, attrs) {
    if (!attrs) return;
    Object.keys(attrs).forEach(function (k) {
      var v = attrs[k];
      if (v === null || v === undefined || v === false) return;
      if (k === 'text') e.textContent = String(v);
      else if (k === 'onclick') e.addEventListener('click', v);
      else e.setAttribute(k, String(v));
    });
  }
  function append(e, children) {
    if (children === null || children === undefined) return;
    if (!Array.isArray(children)) children = [children];
    children.forEach(function (c) {
      if (c === null || c === undefined) return;
      e.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
    });
  }
  function body(id) {
    return document.querySelector('#' + id + ' .body');
  }
  function empty(id, text) {
    body(id).appendChild(el('p', { 'class': 'empty', text: text }));
  }
  function isNum(x) {
    return typeof x === 'number' && isFinite(x);
  }
  /** A number for people: integers as they are, others to 4 significant digits. */
  function fmt(x) {
    if (x === null || x === undefined) return '';
    if (typeof x === 'boolean') return x ? 'yes' : 'no';
    if (typeof x !== 'number') return String(x);
    if (!isFinite(x)) return String(x);
    if (Number.isInteger(x) && Math.abs(x) < 1e9) return String(x);
    var a = Math.abs(x);
    if (a !== 0 && (a < 1e-3 || a >= 1e6)) return x.toExponential(3);
    return String(Number(x.toPrecision(4)));
  }
  function when(t) {
    if (!t) return '';
    return String(t).replace('T', ' ').replace(/\.\d+Z$/, 'Z').replace('Z', ' UTC');
  }
  function unitOf(o) {
    return o.unit ? o.unit : '';
  }
  function objLabel(o) {
    return o.name + (o.unit ? ' [' + o.unit + ']' : '') + (o.direction === 'max' ? ' \u2191 max' : ' \u2193 min');
  }
  function value(r, o) {
    var v = r.metrics ? r.metrics[o.name] : undefined;
    return isNum(v) ? v : null;
  }
  function resultById() {
    var m = {};
    RESULTS.forEach(function (r) { m[r.id] = r; });
    return m;
  }
  /** `n` round tick values covering [lo, hi]. */
  function ticks(lo, hi, n) {
    if (!(hi > lo)) return [lo];
    var step = Math.pow(10, Math.floor(Math.log10((hi - lo) / n)));
    var err = (hi - lo) / n / step;
    if (err >= 7.5) step *= 10; else if (err >= 3.5) step *= 5; else if (err >= 1.5) step *= 2;
    var out = [];
    for (var t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push(Number(t.toPrecision(12)));
    return out;
  }
  function extent(values) {
    var lo = Infinity, hi = -Infinity;
    values.forEach(function (v) { if (isNum(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); } });
    if (lo === Infinity) return [0, 1];
    if (lo === hi) { var pad = Math.abs(lo) * 0.05 || 1; return [lo - pad, hi + pad]; }
    var p = (hi - lo) * 0.04;
    return [lo - p, hi + p];
  }
  function scale(d0, d1, r0, r1) {
    return function (v) { return r0 + (v - d0) / (d1 - d0) * (r1 - r0); };
  }
  function tooltip(r) {
    var parts = ['result ' + r.id + (r.on_front === 1 ? ' (on the front)' : '')];
    OBJ.forEach(function (o) { parts.push(o.name + ' = ' + fmt(value(r, o)) + (o.unit ? ' ' + o.unit : '')); });
    PARAMS.forEach(function (p) { if (r.params && p.name in r.params) parts.push(p.name + ' = ' + fmt(r.params[p.name])); });
    return parts.join('\n');
  }
  /** A table; `cols` are {label, unit, get, cls, tag}. Rows of `rows` through `get`. */
  function table(cols, rows, rowClass) {
    var head = el('tr', null, cols.map(function (c) {
      return el('th', { 'class': c.cls || null, scope: 'col' }, headerCell(c));
    }));
    var tb = el('tbody');
    rows.forEach(function (r) {
      tb.appendChild(el('tr', { 'class': rowClass ? rowClass(r) : null }, cols.map(function (c) {
        return el('td', { 'class': c.cls || null, text: fmt(c.get(r)) });
      })));
    });
    return el('div', { 'class': 'table-wrap' }, el('table', null, [el('thead', null, head), tb]));
  }
  function headerCell(c) {
    var parts = [c.label];
    if (c.unit) parts.push(el('span', { 'class': 'unit', text: ' [' + c.unit + ']' }));
    if (c.tag) parts.push(el('span', { 'class': 'tag ' + c.tag, text: c.tag === 'unknown' ? '?' : c.tag }));
    return parts;
  }
  function objectiveColumns() {
    return OBJ.map(function (o) {
      return { label: o.name, unit: (o.unit || '') + (o.direction === 'max' ? ' \u2191' : ' \u2193'), get: function (r) { return value(r, o); } };
    });
  }
  function paramColumns() {
    return PARAMS.map(function (p) {
      return { label: p.name, unit: p.unit || null, tag: p.layer || 'unknown', get: function (r) { return r.params ? r.params[p.name] : null; } };
    });
  }

  /* ---------- header ---------- */
  function header() {
    document.getElementById('subtitle').textContent = 'Store ' + D.store + ' \u00b7 generated ' + when(D.generated_at) +
      ' by diffuse-dse ' + D.diffuse_dse_version + (D.space_hash ? ' \u00b7 space ' + D.space_hash : '');
    var c = D.counts;
    var cards = [
      ['designs evaluated (OK)', c.ok],
      ['feasible', c.feasible],
      ['on the Pareto front', c.front],
      ['hypervolume', isNum(D.hv_final) ? String(Number(D.hv_final.toPrecision(7))) : '\u2013'],
      ['batches', D.batches.length],
      ['model versions', D.models.length],
      ['failed evaluations', c.failed],
      ['rejected inbox rows', c.rejected]
    ];
    var box = document.getElementById('summary');
    cards.forEach(function (k) {
      box.appendChild(el('div', { 'class': 'card' }, [el('div', { 'class': 'v', text: fmt(k[1]) }), el('div', { 'class': 'k', text: k[0] })]));
    });
    var notes = [];
    if (c.ok === 0) notes.push('No results yet: the plots fill in after the first batch is evaluated.');
    if (OBJ.some(function (o) { return o.assumed; })) notes.push('The store does not record the objectives (no daemon has opened it yet): every metric is shown as an objective to minimize.');
    if (!D.layers_known && PARAMS.length) notes.push('The store does not record which parameters are hardware and which are EDA (it was last opened by an older diffuse-dse); start the daemon once to record them.');
    if (D.results_total > RESULTS.length) notes.push('The store holds ' + D.results_total + ' results; this page shows ' + RESULTS.length + ' of them: the front, the best per target, and the newest.');
    var ul = document.getElementById('notices');
    notes.forEach(function (n) { ul.appendChild(el('li', { text: n })); });
    var toc = document.getElementById('toc');
    Array.prototype.forEach.call(document.querySelectorAll('main section'), function (s) {
      toc.appendChild(el('a', { href: '#' + s.id, text: s.querySelector('h2').textContent }));
    });
    document.getElementById('footer').textContent = 'Self-contained report: no network access; the data is embedded in this file.';
  }

  /* ---------- objective pairs ---------- */
  function pairs() {
    if (OBJ.length < 2) { empty('pairs', OBJ.length ? 'Only one objective: there are no pairs to plot.' : 'No objectives recorded in the store.'); return; }
    var pts = RESULTS.filter(function (r) { return OBJ.every(function (o) { return value(r, o) !== null; }); });
    if (!pts.length) { empty('pairs', 'No results yet: nothing to plot.'); return; }
    var b = body('pairs');
    b.appendChild(el('div', { 'class': 'legend' }, [
      el('span', null, [el('i', { style: 'background:var(--front)' }), 'Pareto front']),
      el('span', null, [el('i', { style: 'background:var(--feasible);opacity:.5' }), 'feasible, dominated']),
      el('span', null, [el('i', { style: 'background:var(--infeasible)' }), 'infeasible (\u00d7)'])
    ]));
    var grid = el('div', { 'class': 'grid' });
    b.appendChild(grid);
    var W = 330, H = 280, L = 62, R = 12, T = 22, B = 44, count = 0;
    for (var i = 0; i < OBJ.length; i++) {
      for (var j = i + 1; j < OBJ.length; j++) {
        var ox = OBJ[i], oy = OBJ[j];
        var ex = extent(pts.map(function (r) { return value(r, ox); }));
        var ey = extent(pts.map(function (r) { return value(r, oy); }));
        var X = scale(ex[0], ex[1], L, W - R), Y = scale(ey[0], ey[1], H - B, T);
        var s = sv('svg', { 'class': 'plot pair', width: W, height: H, viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-label': oy.name + ' against ' + ox.name });
        axes(s, ex, ey, X, Y, L, W - R, T, H - B, objLabel(ox), objLabel(oy));
        s.appendChild(sv('text', { 'class': 'title', x: L, y: 14, text: oy.name + ' vs ' + ox.name }));
        var sorted = pts.slice().sort(function (a, c) { return (a.on_front === 1) - (c.on_front === 1); });
        sorted.forEach(function (r) {
          var x = X(value(r, ox)), y = Y(value(r, oy));
          var t = sv('title', { text: tooltip(r) });
          if (r.feasible !== 1) {
            s.appendChild(sv('path', { 'class': 'pt-infeasible', d: 'M' + (x - 3) + ' ' + (y - 3) + 'l6 6m0 -6l-6 6', 'data-result': r.id }, t));
          } else {
            s.appendChild(sv('circle', { 'class': r.on_front === 1 ? 'pt pt-front' : 'pt', cx: x.toFixed(1), cy: y.toFixed(1), r: r.on_front === 1 ? 4 : 2.6, 'data-result': r.id }, t));
          }
          count++;
        });
        var f2 = front2d(pts.filter(function (r) { return r.feasible === 1; }), ox, oy);
        if (f2.length > 1) {
          s.insertBefore(sv('polyline', { 'class': 'front-line', points: f2.map(function (r) { return X(value(r, ox)).toFixed(1) + ',' + Y(value(r, oy)).toFixed(1); }).join(' ') }), s.firstChild.nextSibling);
        }
        grid.appendChild(s);
      }
    }
    drawn.pairs = count;
  }
  /** The designs best in the pair (ox, oy) alone, sorted by ox: the 2-D staircase. */
  function front2d(rs, ox, oy) {
    var sx = ox.direction === 'max' ? -1 : 1, sy = oy.direction === 'max' ? -1 : 1;
    var s = rs.slice().sort(function (a, b) { return sx * (value(a, ox) - value(b, ox)) || sy * (value(a, oy) - value(b, oy)); });
    var out = [], best = Infinity;
    s.forEach(function (r) { var y = sy * value(r, oy); if (y < best) { best = y; out.push(r); } });
    return out;
  }
  function axes(s, ex, ey, X, Y, x0, x1, y0, y1, xl, yl) {
    var g = sv('g', { 'class': 'axis' });
    ticks(ex[0], ex[1], 5).forEach(function (t) {
      var x = X(t);
      g.appendChild(sv('line', { 'class': 'grid-line', x1: x, x2: x, y1: y0, y2: y1 }));
      g.appendChild(sv('text', { x: x, y: y1 + 14, 'text-anchor': 'middle', text: fmt(t) }));
    });
    ticks(ey[0], ey[1], 5).forEach(function (t) {
      var y = Y(t);
      g.appendChild(sv('line', { 'class': 'grid-line', x1: x0, x2: x1, y1: y, y2: y }));
      g.appendChild(sv('text', { x: x0 - 5, y: y + 4, 'text-anchor': 'end', text: fmt(t) }));
    });
    g.appendChild(sv('path', { d: 'M' + x0 + ' ' + y0 + 'V' + y1 + 'H' + x1, fill: 'none' }));
    g.appendChild(sv('text', { x: (x0 + x1) / 2, y: y1 + 32, 'text-anchor': 'middle', text: xl }));
    g.appendChild(sv('text', { transform: 'translate(' + (x0 - 46) + ',' + ((y0 + y1) / 2) + ') rotate(-90)', 'text-anchor': 'middle', text: yl }));
    s.appendChild(g);
  }

  /* ---------- 3-D front ---------- */
  function front3d() {
    if (OBJ.length < 3) { empty('front3d', 'The 3-D view needs three objectives; this store has ' + OBJ.length + '.'); return; }
    var pts = RESULTS.filter(function (r) { return r.feasible === 1 && OBJ.every(function (o) { return value(r, o) !== null; }); });
    if (!pts.length) { empty('front3d', 'No feasible results yet: nothing to plot.'); return; }
    var b = body('front3d');
    var axis = [0, 1, 2];
    var controls = el('div', { 'class': 'controls' });
    var showAll = el('input', { type: 'checkbox', id: 'f3-all' });
    ['x', 'y', 'z'].forEach(function (name, k) {
      var sel = el('select', { 'aria-label': name + ' axis' }, OBJ.map(function (o, i) { return el('option', { value: i, text: o.name }); }));
      sel.value = String(axis[k]);
      sel.addEventListener('change', function () { axis[k] = Number(sel.value); draw(); });
      controls.appendChild(el('label', null, [name + ' axis ', sel]));
    });
    controls.appendChild(el('label', null, [showAll, ' show dominated designs too']));
    var reset = el('button', { type: 'button', text: 'reset view' });
    controls.appendChild(reset);
    var W = 760, H = 520;
    var canvas = el('canvas', { width: W, height: H, tabindex: 0, 'aria-label': '3-D scatter of the Pareto front', style: 'width:' + W + 'px;height:' + H + 'px' });
    var readout = el('p', { 'class': 'readout', text: 'Hover a point for its values.' });
    b.appendChild(controls);
    b.appendChild(canvas);
    b.appendChild(readout);
    var dpr = window.devicePixelRatio || 1;
    canvas.width = W * dpr; canvas.height = H * dpr;
    var ctx = canvas.getContext('2d');
    var yaw = -0.7, pitch = 0.45, projected = [];
    var extents = OBJ.map(function (o) { return extent(pts.map(function (p) { return value(p, o); })); });
    function norm(r, i) {
      // -1 at the best value seen, +1 at the worst, so the best corner is where the axes start.
      var o = OBJ[i], e = extents[i];
      var t = (value(r, o) - e[0]) / (e[1] - e[0]);
      return (o.direction === 'max' ? 1 - t : t) * 2 - 1;
    }
    function project(p) {
      var cy = Math.cos(yaw), sy = Math.sin(yaw), cp = Math.cos(pitch), sp = Math.sin(pitch);
      var x1 = p[0] * cy + p[2] * sy, z1 = -p[0] * sy + p[2] * cy;
      var y1 = p[1] * cp - z1 * sp, z2 = p[1] * sp + z1 * cp;
      var k = Math.min(W, H) * 0.3;
      return [W / 2 + x1 * k, H / 2 - y1 * k, z2];
    }
    function draw() {
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      ctx.clearRect(0, 0, W, H);
      ctx.lineWidth = 1;
      var corners = [];
      for (var c = 0; c < 8; c++) corners.push([c & 1 ? 1 : -1, c & 2 ? 1 : -1, c & 4 ? 1 : -1]);
      ctx.strokeStyle = '#d8dde5';
      for (var a = 0; a < 8; a++) for (var bb = a + 1; bb < 8; bb++) {
        var d = a ^ bb;
        if (d === 1 || d === 2 || d === 4) {
          var p = project(corners[a]), q = project(corners[bb]);
          ctx.beginPath(); ctx.moveTo(p[0], p[1]); ctx.lineTo(q[0], q[1]); ctx.stroke();
        }
      }
      ctx.font = '12px system-ui, sans-serif';
      ctx.fillStyle = '#1d2430';
      var origin = project([-1, -1, -1]);
      [[1, -1, -1], [-1, 1, -1], [-1, -1, 1]].forEach(function (end, k) {
        var e = project(end);
        ctx.strokeStyle = '#5b6676'; ctx.lineWidth = 1.5;
        ctx.beginPath(); ctx.moveTo(origin[0], origin[1]); ctx.lineTo(e[0], e[1]); ctx.stroke();
        var o = OBJ[axis[k]], ex = extents[axis[k]];
        var worst = o.direction === 'max' ? ex[0] : ex[1];
        ctx.fillText(o.name + (o.unit ? ' [' + o.unit + ']' : '') + ' \u2192 worse (' + fmt(worst) + ')', e[0] + 6, e[1] + 4);
      });
      ctx.fillText('best corner', origin[0] + 6, origin[1] + 14);
      var chosen = showAll.checked ? pts : pts.filter(function (r) { return r.on_front === 1; });
      projected = chosen.map(function (r) {
        var p = project([norm(r, axis[0]), norm(r, axis[1]), norm(r, axis[2])]);
        return { r: r, x: p[0], y: p[1], z: p[2] };
      }).sort(function (a, c) { return a.z - c.z; });
      projected.forEach(function (p) {
        var front = p.r.on_front === 1;
        ctx.beginPath();
        ctx.arc(p.x, p.y, front ? 4.5 : 2.5, 0, 2 * Math.PI);
        ctx.fillStyle = front ? 'rgba(209,53,43,0.9)' : 'rgba(59,120,195,0.35)';
        ctx.fill();
        if (front) { ctx.strokeStyle = '#fff'; ctx.lineWidth = 0.8; ctx.stroke(); }
      });
      canvas.dataset.points = String(projected.length);
      drawn.front3d = projected.length;
    }
    var drag = null;
    canvas.addEventListener('pointerdown', function (e) { drag = [e.clientX, e.clientY]; canvas.setPointerCapture(e.pointerId); });
    canvas.addEventListener('pointerup', function () { drag = null; });
    canvas.addEventListener('pointermove', function (e) {
      if (drag) {
        yaw += (e.clientX - drag[0]) * 0.01;
        pitch = Math.max(-1.5, Math.min(1.5, pitch + (e.clientY - drag[1]) * 0.01));
        drag = [e.clientX, e.clientY];
        draw();
        return;
      }
      var box = canvas.getBoundingClientRect(), mx = e.clientX - box.left, my = e.clientY - box.top, best = null, bd = 64;
      projected.forEach(function (p) { var d = (p.x - mx) * (p.x - mx) + (p.y - my) * (p.y - my); if (d < bd) { bd = d; best = p; } });
      readout.textContent = best ? tooltip(best.r).split('\n').join(' \u00b7 ') : 'Hover a point for its values.';
    });
    canvas.addEventListener('keydown', function (e) {
      var k = { ArrowLeft: [-0.1, 0], ArrowRight: [0.1, 0], ArrowUp: [0, -0.1], ArrowDown: [0, 0.1] }[e.key];
      if (!k) return;
      yaw += k[0]; pitch = Math.max(-1.5, Math.min(1.5, pitch + k[1]));
      e.preventDefault();
      draw();
    });
    showAll.addEventListener('change', draw);
    reset.addEventListener('click', function () { yaw = -0.7; pitch = 0.45; draw(); });
    draw();
  }

  /* ---------- hypervolume per batch ---------- */
  function hv() {
    var bs = D.batches.filter(function (b) { return isNum(b.hv); });
    if (!D.batches.length) {
      empty('hv', 'No batches have run yet.' + (isNum(D.hv_final) ? ' The results ingested so far have a front of hypervolume ' + fmt(D.hv_final) + '.' : ''));
      return;
    }
    if (!bs.length) {
      empty('hv', OBJ.some(function (o) { return o.assumed; })
        ? 'No hypervolume: the store does not record which metrics are the objectives. ' + D.batches.length + ' batch(es) ran.'
        : 'No feasible results yet, so no hypervolume: ' + D.batches.length + ' batch(es) ran.');
      return;
    }
    var b = body('hv');
    var times = bs.map(function (x) { return Date.parse(x.finished_at || x.started_at); });
    var useTime = times.every(isFinite) && times[times.length - 1] > times[0];
    var xs = useTime ? times : bs.map(function (x) { return x.id; });
    var W = 860, H = 320, L = 78, R = 20, T = 20, B = 50;
    var ex = extent(xs), ey = [0, Math.max.apply(null, bs.map(function (x) { return x.hv; })) * 1.06 || 1];
    var X = scale(ex[0], ex[1], L, W - R), Y = scale(ey[0], ey[1], H - B, T);
    var s = sv('svg', { 'class': 'plot', id: 'hv-plot', width: W, height: H, viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-label': 'hypervolume per batch' });
    var units = OBJ.map(unitOf).filter(Boolean).join('\u00b7');
    var ylab = 'hypervolume' + (units ? ' [' + units + ']' : '');
    var xlab = useTime ? 'batch finished (UTC)' : 'batch';
    var g = sv('g', { 'class': 'axis' });
    ticks(ey[0], ey[1], 5).forEach(function (t) {
      g.appendChild(sv('line', { 'class': 'grid-line', x1: L, x2: W - R, y1: Y(t), y2: Y(t) }));
      g.appendChild(sv('text', { x: L - 5, y: Y(t) + 4, 'text-anchor': 'end', text: fmt(t) }));
    });
    var xt = useTime ? timeTicks(ex[0], ex[1]) : { ticks: ticks(ex[0], ex[1], 8).filter(Number.isInteger) };
    xt.ticks.forEach(function (t) {
      g.appendChild(sv('text', { x: X(t), y: H - B + 15, 'text-anchor': 'middle', text: useTime ? xt.label(t) : fmt(t) }));
    });
    g.appendChild(sv('path', { d: 'M' + L + ' ' + T + 'V' + (H - B) + 'H' + (W - R), fill: 'none' }));
    g.appendChild(sv('text', { x: (L + W - R) / 2, y: H - 12, 'text-anchor': 'middle', text: xlab }));
    g.appendChild(sv('text', { transform: 'translate(16,' + ((T + H - B) / 2) + ') rotate(-90)', 'text-anchor': 'middle', text: ylab }));
    s.appendChild(g);
    var path = bs.map(function (x, k) { return (k ? 'L' : 'M') + X(xs[k]).toFixed(1) + ' ' + Y(x.hv).toFixed(1); }).join('');
    s.appendChild(sv('path', { d: path, fill: 'none', stroke: 'var(--feasible)', 'stroke-width': 2 }));
    var last = D.hv_final || bs[bs.length - 1].hv;
    bs.forEach(function (x, k) {
      s.appendChild(sv('circle', { 'class': 'hv-point', cx: X(xs[k]).toFixed(1), cy: Y(x.hv).toFixed(1), r: x.new_feasible ? 3.5 : 2.5, fill: x.state === 'INTERRUPTED' ? '#e0a100' : 'var(--feasible)' },
        sv('title', { text: 'batch ' + x.id + ' (' + x.state + ', ' + x.runner + ')\nfinished ' + when(x.finished_at) + '\nhypervolume ' + fmt(x.hv) + ' (' + fmt(100 * x.hv / last) + ' % of the latest)\nfront ' + x.front_size + ' designs; ' + x.new_feasible + ' new feasible results\n' + x.done + ' done, ' + x.failed + ' failed or lost' })));
    });
    b.appendChild(s);
    drawn.hv = bs.length;
    if (D.hv_reference) {
      b.appendChild(el('p', { 'class': 'help', text: 'Reference point: ' + OBJ.map(function (o, i) { return o.name + ' = ' + fmt(D.hv_reference[i] * (o.direction === 'max' ? -1 : 1)) + (o.unit ? ' ' + o.unit : ''); }).join(', ') + '. ' + D.batches.length + ' batches' + (bs.some(function (x) { return x.state === 'INTERRUPTED'; }) ? '; yellow points were interrupted (stopped early).' : '.') }));
    }
    var rows = D.batches.slice().reverse().slice(0, 50);
    b.appendChild(el('h3', { text: 'Latest batches' }));
    b.appendChild(table([
      { label: 'batch', get: function (x) { return x.id; } },
      { label: 'state', cls: 'text', get: function (x) { return x.state; } },
      { label: 'runner', cls: 'text', get: function (x) { return x.runner; } },
      { label: 'trigger', cls: 'text', get: function (x) { return x.trigger; } },
      { label: 'designs', get: function (x) { return x.size; } },
      { label: 'done', get: function (x) { return x.done; } },
      { label: 'failed or lost', get: function (x) { return x.failed; } },
      { label: 'new feasible', get: function (x) { return x.new_feasible; } },
      { label: 'front size', get: function (x) { return x.front_size; } },
      { label: 'hypervolume', unit: units || null, get: function (x) { return x.hv; } },
      { label: 'started', cls: 'text', unit: 'UTC', get: function (x) { return when(x.started_at); } },
      { label: 'finished', cls: 'text', unit: 'UTC', get: function (x) { return when(x.finished_at); } }
    ], rows));
  }
  /** Round UTC times for an axis over [lo, hi] (ms since 1970), at most about 8, and how to
      write them: seconds for a short run, the day for a long one. */
  function timeTicks(lo, hi) {
    var s = 1e3, m = 60 * s, h = 60 * m, d = 24 * h;
    var steps = [s, 2 * s, 5 * s, 10 * s, 15 * s, 30 * s, m, 2 * m, 5 * m, 10 * m, 15 * m, 30 * m, h, 2 * h, 3 * h, 6 * h, 12 * h, d, 2 * d, 7 * d];
    var span = hi - lo, step = steps[steps.length - 1];
    for (var i = 0; i < steps.length; i++) if (span / steps[i] <= 8) { step = steps[i]; break; }
    if (span / step > 8) step = Math.ceil(span / 8 / step) * step;
    var out = [];
    for (var t = Math.ceil(lo / step) * step; t <= hi; t += step) out.push(t);
    var label = function (t) {
      var iso = new Date(t).toISOString();
      if (step < m) return iso.slice(11, 19);
      if (step < d) return iso.slice(5, 16).replace('T', ' ');
      return iso.slice(0, 10);
    };
    return { ticks: out.length ? out : [lo], label: label };
  }

  /* ---------- best designs per target ---------- */
  function targets() {
    if (!D.targets.length) { empty('targets', 'No targets are configured: add [[targets]] to the config to rank designs for a use case.'); return; }
    var b = body('targets'), byId = resultById(), n = 0;
    D.targets.forEach(function (t) {
      var box = el('div', { 'class': 'target' });
      box.appendChild(el('h3', { text: t.name + (t.source === 'auto' ? ' (chosen from the front)' : '') }));
      box.appendChild(el('p', { 'class': 'spec', text: specText(t.spec) }));
      var rows = t.best.map(function (x) { var r = byId[x.result_id] || { id: x.result_id, metrics: {}, params: {} }; return { rank: x.rank, score: x.score, r: r }; });
      if (!rows.length) box.appendChild(el('p', { 'class': 'empty', text: 'No design meets this target yet.' }));
      else {
        var cols = [
          { label: 'rank', get: function (x) { return x.rank; } },
          { label: 'score', unit: 'lower is better', get: function (x) { return x.score; } },
          { label: 'result', get: function (x) { return x.r.id; } }
        ].concat(objectiveColumns().concat(paramColumns()).map(function (c) { return { label: c.label, unit: c.unit, tag: c.tag, get: function (x) { return c.get(x.r); } }; }));
        box.appendChild(table(cols, rows));
        n += rows.length;
      }
      b.appendChild(box);
    });
    drawn.targets = n;
  }
  function specText(spec) {
    if (!spec || typeof spec !== 'object') return '';
    var parts = [];
    if (spec.description) parts.push(String(spec.description));
    ['goals', 'bounds', 'weights'].forEach(function (k) {
      if (spec[k] && typeof spec[k] === 'object') parts.push(k + ': ' + JSON.stringify(spec[k]).replace(/[{}"]/g, '').replace(/,/g, ', ').replace(/:/g, ' '));
    });
    Object.keys(spec).forEach(function (k) {
      if (['description', 'goals', 'bounds', 'weights', 'name'].indexOf(k) < 0) parts.push(k + ': ' + JSON.stringify(spec[k]));
    });
    return parts.join(' \u00b7 ');
  }

  /* ---------- parallel coordinates ---------- */
  function parcoords() {
    if (!RESULTS.length) { empty('parcoords', 'No results yet: nothing to plot.'); return; }
    var order = { hw: 0, eda: 1 };
    var ps = PARAMS.slice().sort(function (a, c) { return (order[a.layer] === undefined ? 2 : order[a.layer]) - (order[c.layer] === undefined ? 2 : order[c.layer]); });
    var dims = ps.map(function (p) { return { kind: 'param', p: p, get: function (r) { return r.params ? r.params[p.name] : null; } }; })
      .concat(OBJ.map(function (o) { return { kind: 'obj', o: o, get: function (r) { return value(r, o); } }; }));
    var W = Math.max(1230, dims.length * 84), H = 450, T = 72, B = 36, L = 44, R = 64;
    var step = (W - L - R) / Math.max(1, dims.length - 1);
    dims.forEach(function (d, k) {
      d.x = L + k * step;
      var vals = RESULTS.map(d.get).filter(function (v) { return v !== null && v !== undefined; });
      var categorical = vals.some(function (v) { return typeof v !== 'number'; }) || (d.p && (d.p.kind === 'categorical' || d.p.kind === 'ordinal'));
      if (categorical) {
        var cats = d.p && d.p.choices && d.p.choices.length ? d.p.choices.slice() : [];
        vals.forEach(function (v) { if (cats.indexOf(v) < 0) cats.push(v); });
        d.cats = cats;
        d.pos = function (v) { var i = cats.indexOf(v); return i < 0 ? null : (cats.length === 1 ? 0.5 : i / (cats.length - 1)); };
        d.ticks = cats.map(function (c) { return [d.pos(c), fmt(c)]; });
      } else {
        var log = d.p && d.p.kind === 'pow2' && vals.every(function (v) { return v > 0; });
        var f = log ? Math.log2 : function (v) { return v; };
        var lo = Math.min.apply(null, vals.map(f)), hi = Math.max.apply(null, vals.map(f));
        if (!vals.length) { lo = 0; hi = 1; }
        if (lo === hi) { lo -= 1; hi += 1; }
        d.pos = function (v) { return isNum(v) ? (f(v) - lo) / (hi - lo) : null; };
        var tv = log ? ticks(lo, hi, 5).filter(Number.isInteger).map(function (e) { return Math.pow(2, e); }) : ticks(lo, hi, 5);
        d.ticks = tv.map(function (t) { return [d.pos(t), fmt(t)]; });
      }
    });
    var Y = function (t) { return H - B - t * (H - T - B); };
    var b = body('parcoords');
    var onlyFront = el('input', { type: 'checkbox', id: 'pc-front' });
    b.appendChild(el('div', { 'class': 'controls' }, [el('label', null, [onlyFront, ' front designs only'])]));
    var s = sv('svg', { 'class': 'plot', id: 'pc-plot', width: W, height: H, viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-label': 'parallel coordinates of parameters and objectives' });
    // Bands behind the axes of each layer, labelled above.
    var groups = [];
    dims.forEach(function (d) {
      var key = d.kind === 'obj' ? 'obj' : (d.p.layer || 'unknown');
      var g = groups[groups.length - 1];
      if (!g || g.key !== key) groups.push(g = { key: key, from: d.x, to: d.x });
      g.to = d.x;
    });
    var names = { hw: 'HW generator parameters', eda: 'EDA flow parameters', obj: 'objectives', unknown: 'parameters (layer not recorded)' };
    groups.forEach(function (g) {
      s.appendChild(sv('rect', { 'class': 'pc-band-' + g.key, x: g.from - step / 2 + 2, y: 4, width: g.to - g.from + step - 4, height: H - 8, rx: 6 }));
      s.appendChild(sv('text', { 'class': g.key === 'hw' || g.key === 'eda' ? g.key : 'title', x: (g.from + g.to) / 2, y: 18, 'text-anchor': 'middle', text: names[g.key] }));
    });
    var lines = sv('g');
    s.appendChild(lines);
    var sorted = RESULTS.slice().sort(function (a, c) { return (a.on_front === 1) - (c.on_front === 1); });
    var n = 0;
    sorted.forEach(function (r) {
      var d = '', pen = false;
      dims.forEach(function (dim) {
        var t = dim.pos(dim.get(r));
        if (t === null || !isFinite(t)) { pen = false; return; }
        d += (pen ? 'L' : 'M') + dim.x.toFixed(1) + ' ' + Y(t).toFixed(1);
        pen = true;
      });
      if (!d) return;
      lines.appendChild(sv('path', { 'class': r.on_front === 1 ? 'pc-line front' : 'pc-line', d: d, 'data-result': r.id }, sv('title', { text: tooltip(r) })));
      n++;
    });
    dims.forEach(function (d) {
      var g = sv('g', { 'class': 'axis' });
      g.appendChild(sv('line', { x1: d.x, x2: d.x, y1: T, y2: H - B, 'stroke-width': 1.2 }));
      d.ticks.forEach(function (t) {
        if (t[0] === null || !isFinite(t[0])) return;
        g.appendChild(sv('text', { x: d.x + 4, y: Y(t[0]) + 4, text: t[1] }));
      });
      var label = d.kind === 'obj' ? d.o.name + (d.o.unit ? ' [' + d.o.unit + ']' : '') : d.p.name + (d.p.unit ? ' [' + d.p.unit + ']' : '');
      var cls = d.kind === 'obj' ? 'title' : (d.p.layer || 'title');
      // Neighbouring labels alternate between two rows so that long names do not overlap.
      var row = dims.indexOf(d) % 2 ? T - 24 : T - 10;
      g.appendChild(sv('text', { 'class': cls, x: d.x, y: row, 'text-anchor': 'middle', text: label }));
      if (d.kind === 'obj') g.appendChild(sv('text', { x: d.x, y: H - B + 16, 'text-anchor': 'middle', text: d.o.direction === 'max' ? 'higher is better' : 'lower is better' }));
      s.appendChild(g);
    });
    onlyFront.addEventListener('change', function () {
      Array.prototype.forEach.call(lines.querySelectorAll('.pc-line:not(.front)'), function (p) { p.style.display = onlyFront.checked ? 'none' : ''; });
    });
    b.appendChild(el('div', { style: 'overflow-x:auto' }, s));
    drawn.parcoords = n;
  }

  /* ---------- model versions ---------- */
  function models() {
    if (!D.models.length) { empty('models', 'No model trained yet: the proposer records a version each time it is fitted.'); return; }
    var b = body('models');
    var ms = D.models.filter(function (m) { return isNum(m.loss); });
    if (ms.length) {
      var W = 860, H = 280, L = 70, R = 70, T = 20, B = 46;
      var ex = extent(ms.map(function (m) { return m.version; })), el1 = extent(ms.map(function (m) { return m.loss; }));
      var en = [0, Math.max.apply(null, D.models.map(function (m) { return m.n_results; })) * 1.05 || 1];
      var X = scale(ex[0], ex[1], L, W - R), Y = scale(el1[0], el1[1], H - B, T), Yn = scale(en[0], en[1], H - B, T);
      var s = sv('svg', { 'class': 'plot', id: 'model-plot', width: W, height: H, viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-label': 'training loss per model version' });
      axes(s, ex, el1, X, Y, L, W - R, T, H - B, 'model version', 'training loss');
      ticks(en[0], en[1], 5).forEach(function (t) { s.appendChild(sv('text', { x: W - R + 5, y: Yn(t) + 4, text: fmt(t), fill: '#7b3fa0' })); });
      s.appendChild(sv('text', { transform: 'translate(' + (W - 14) + ',' + ((T + H - B) / 2) + ') rotate(90)', 'text-anchor': 'middle', text: 'results trained on', fill: '#7b3fa0' }));
      var bw = Math.max(2, Math.min(18, (W - L - R) / D.models.length * 0.6));
      D.models.forEach(function (m) {
        if (m.version < ex[0] || m.version > ex[1]) return;
        s.appendChild(sv('rect', { x: X(m.version) - bw / 2, y: Yn(m.n_results), width: bw, height: H - B - Yn(m.n_results), fill: '#7b3fa0', 'fill-opacity': 0.18 }));
      });
      s.appendChild(sv('path', { d: ms.map(function (m, k) { return (k ? 'L' : 'M') + X(m.version).toFixed(1) + ' ' + Y(m.loss).toFixed(1); }).join(''), fill: 'none', stroke: 'var(--front)', 'stroke-width': 2 }));
      ms.forEach(function (m) {
        s.appendChild(sv('circle', { 'class': 'model-point', cx: X(m.version), cy: Y(m.loss), r: 3.5, fill: 'var(--front)' }, sv('title', { text: 'version ' + m.version + ' (' + m.kind + ')\nloss ' + fmt(m.loss) + '\ntrained on ' + m.n_results + ' results in ' + fmt(m.train_seconds) + ' s' })));
      });
      b.appendChild(s);
      b.appendChild(el('p', { 'class': 'help', text: 'Red line: training loss (left axis). Purple bars: how many results each version was trained on (right axis).' }));
    } else {
      b.appendChild(el('p', { 'class': 'empty', text: 'No version recorded a loss (proposers without a trained model, such as the initial Sobol design, have none).' }));
    }
    b.appendChild(table([
      { label: 'version', get: function (m) { return m.version; } },
      { label: 'parent', get: function (m) { return m.parent; } },
      { label: 'kind', cls: 'text', get: function (m) { return m.kind; } },
      { label: 'results trained on', get: function (m) { return m.n_results; } },
      { label: 'loss', get: function (m) { return m.loss; } },
      { label: 'training time', unit: 's', get: function (m) { return m.train_seconds; } },
      { label: 'weights', unit: 'KiB', get: function (m) { return isNum(m.weights_bytes) ? m.weights_bytes / 1024 : null; } },
      { label: 'created', unit: 'UTC', cls: 'text', get: function (m) { return when(m.created_at); } }
    ], D.models.slice().reverse()));
    drawn.models = D.models.length;
  }

  /* ---------- failures ---------- */
  function failures() {
    var F = D.failures;
    if (!F.total) { empty('failures', 'No failures: every evaluation succeeded and every inbox row was accepted.'); return; }
    var b = body('failures');
    var kinds = { result: 'evaluation failed', inbox: 'result rejected', lost: 'job lost' };
    b.appendChild(el('p', { 'class': 'help', text: F.total + ' in all. "evaluation failed": the evaluator or EDA flow reported an error; "result rejected": an inbox row failed validation; "job lost": the job ended without a result.' }));
    b.appendChild(el('h3', { text: 'By reason' }));
    b.appendChild(table([
      { label: 'count', get: function (x) { return x.n; } },
      { label: 'kind', cls: 'text', get: function (x) { return kinds[x.kind] || x.kind; } },
      { label: 'reason', cls: 'reason', get: function (x) { return x.reason || '(no reason given)'; } }
    ], F.by_reason));
    b.appendChild(el('h3', { text: 'Latest' + (F.latest.length < F.total ? ' ' + F.latest.length : '') }));
    b.appendChild(table([
      { label: 'when', unit: 'UTC', cls: 'text', get: function (x) { return when(x.at); } },
      { label: 'kind', cls: 'text', get: function (x) { return kinds[x.kind] || x.kind; } },
      { label: 'id', get: function (x) { return x.id; } },
      { label: 'design', get: function (x) { return x.design_id; } },
      { label: 'proposal', get: function (x) { return x.proposal_id; } },
      { label: 'evaluator', cls: 'text', get: function (x) { return x.evaluator; } },
      { label: 'source', cls: 'text', get: function (x) { return x.source; } },
      { label: 'reason', cls: 'reason', get: function (x) { return x.reason; } }
    ], F.latest));
    drawn.failures = F.latest.length;
  }

  /* ---------- sortable design table ---------- */
  function designs() {
    if (!RESULTS.length) { empty('designs', 'No results yet.'); return; }
    var metricNames = {};
    RESULTS.forEach(function (r) { Object.keys(r.metrics || {}).forEach(function (k) { metricNames[k] = true; }); });
    var objNames = OBJ.map(function (o) { return o.name; });
    var extra = Object.keys(metricNames).filter(function (k) { return objNames.indexOf(k) < 0; }).sort();
    var cols = [
      { label: 'result', get: function (r) { return r.id; } },
      { label: 'front', cls: 'text', get: function (r) { return r.on_front === 1 ? 'yes' : ''; } },
      { label: 'feasible', cls: 'text', get: function (r) { return r.feasible === 1 ? 'yes' : 'no'; } },
      { label: 'batch', get: function (r) { return r.batch; } },
      { label: 'origin', cls: 'text', get: function (r) { return r.origin || r.source; } },
      { label: 'target', cls: 'text', get: function (r) { return r.target; } }
    ].concat(objectiveColumns())
      .concat(extra.map(function (k) { return { label: k, get: function (r) { return r.metrics[k]; } }; }))
      .concat(paramColumns())
      .concat([
        { label: 'evaluator', cls: 'text', get: function (r) { return r.evaluator; } },
        { label: 'runtime', unit: 's', get: function (r) { return r.runtime_s; } },
        { label: 'evaluated', unit: 'UTC', cls: 'text', get: function (r) { return when(r.created_at); } }
      ]);
    var LIMIT = 1000;
    var rows = RESULTS.slice();
    var sortCol = 0, sortDir = 1;
    var b = body('designs');
    var onlyFront = el('input', { type: 'checkbox', id: 'dt-front' });
    var note = el('span', { 'class': 'readout' });
    b.appendChild(el('div', { 'class': 'controls' }, [el('label', null, [onlyFront, ' front designs only']), note]));
    var ths = cols.map(function (c, k) {
      var th = el('th', { 'class': 'sortable ' + (c.cls || ''), scope: 'col', tabindex: 0, title: 'sort by ' + c.label }, headerCell(c));
      function go() { if (sortCol === k) sortDir = -sortDir; else { sortCol = k; sortDir = 1; } render(); }
      th.addEventListener('click', go);
      th.addEventListener('keydown', function (e) { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); go(); } });
      return th;
    });
    var tb = el('tbody');
    b.appendChild(el('div', { 'class': 'table-wrap' }, el('table', { id: 'design-table' }, [el('thead', null, el('tr', null, ths)), tb])));
    function cmp(a, c) {
      var x = cols[sortCol].get(a), y = cols[sortCol].get(c);
      var xe = x === null || x === undefined || x === '', ye = y === null || y === undefined || y === '';
      if (xe || ye) return xe === ye ? a.id - c.id : (xe ? 1 : -1);
      if (typeof x === 'number' && typeof y === 'number') return sortDir * (x - y) || a.id - c.id;
      return sortDir * String(x).localeCompare(String(y), undefined, { numeric: true }) || a.id - c.id;
    }
    function render() {
      var shown = rows.filter(function (r) { return !onlyFront.checked || r.on_front === 1; }).sort(cmp);
      ths.forEach(function (th, k) {
        if (k === sortCol) th.setAttribute('aria-sort', sortDir > 0 ? 'ascending' : 'descending');
        else th.removeAttribute('aria-sort');
      });
      while (tb.firstChild) tb.removeChild(tb.firstChild);
      shown.slice(0, LIMIT).forEach(function (r) {
        tb.appendChild(el('tr', { 'class': r.on_front === 1 ? 'front' : null, 'data-result': r.id }, cols.map(function (c) {
          return el('td', { 'class': c.cls || null, text: fmt(c.get(r)) });
        })));
      });
      note.textContent = shown.length > LIMIT ? 'showing the first ' + LIMIT + ' of ' + shown.length + ' (sort to see others)' : shown.length + ' designs';
      drawn.designs = Math.min(shown.length, LIMIT);
    }
    onlyFront.addEventListener('change', render);
    render();
    if (location.hash === '#selftest') selfTest(ths, tb, cols);
  }

  /** With `#selftest` in the address (the headless-browser test), click the first objective's
      header twice and check that its column comes out ascending, then descending. The outcome
      goes to `data-sort-check` on the status element. */
  function selfTest(ths, tb, cols) {
    var k = OBJ.length ? cols.findIndex(function (c) { return c.label === OBJ[0].name; }) : 0;
    function column() {
      return Array.prototype.map.call(tb.querySelectorAll('tr'), function (tr) { return Number(tr.children[k].textContent); });
    }
    function ordered(xs, dir) {
      for (var i = 1; i < xs.length; i++) if (dir * (xs[i] - xs[i - 1]) < 0) return false;
      return true;
    }
    ths[k].click();
    var up = ordered(column(), 1) && ths[k].getAttribute('aria-sort') === 'ascending';
    ths[k].click();
    var down = ordered(column(), -1) && ths[k].getAttribute('aria-sort') === 'descending';
    drawn['sort-check'] = up && down ? 'ok' : 'failed';
  }

  /* ---------- run every section, then report how it went ---------- */
  var sections = [['header', header], ['pairs', pairs], ['front3d', front3d], ['hv', hv], ['targets', targets],
    ['parcoords', parcoords], ['models', models], ['failures', failures], ['designs', designs]];
  sections.forEach(function (s) {
    try { s[1](); } catch (e) { window.reportFail(s[0] + ': ' + (e && e.stack ? e.stack : e)); }
  });
  var status = document.getElementById('render-status');
  Object.keys(drawn).forEach(function (k) { status.setAttribute('data-' + k, String(drawn[k])); });
  if (!window.reportErrors.length) status.dataset.status = 'ok';
})();
