/* The latent explorer of "InfoGAN, step by step", live in the page.
 *
 * G(z, c) of the pretrained model runs here, in the page: four layers, read from generator.bin as
 * written by infogan_tutorial/web_export.py (batch norms folded into a scale and shift per unit; the
 * two large matrices in 4 bits with an fp16 scale per 64 weights, exactly the weights Python
 * restores). Each layer adds up columns of its weights scaled by its nonzero inputs, in a small
 * WebAssembly SIMD loop written out below (about 2 ms an image on one core), or in the same loop in
 * plain JavaScript where the browser lacks WebAssembly SIMD (about four times slower). z comes from a seed through mulberry32 and Box-Muller,
 * which infogan_tutorial.web_export.seeded_noise reproduces, so render_web(G, spec, c1, c2, c3,
 * seed) in Python draws the same image.
 *
 * Every <div class="infogan-explorer"> on a page becomes an explorer. Nothing is downloaded until
 * the reader clicks its button (data-load="visible", which loads on scrolling into view, remains
 * for pages that want it; the book does not). data-size="small" gives the intro's compact version.
 * Without JavaScript the div keeps its content (a static figure or a note).
 *
 * Drawing: a control's input only asks for a frame; the image is drawn at most once per animation
 * frame, and the strip afterwards one image per task, so a drag never waits for more than one
 * image. While a control moves, a frame changes nothing in the page but the image and the two
 * printed values (the explorer's box is a CSS containment boundary, so that a long chapter is not
 * laid out again): the image's accessible name, the timing line and the strip follow when the
 * reader pauses. Loading and errors are
 * announced (role=status), focus moves from the button to the first control, the canvases carry
 * what they show as their accessible names, and the strip follows the width of the page.
 */
(function () {
  "use strict";
  var BASE = new URL(".", document.currentScript ? document.currentScript.src : location.href).href;
  var MANIFEST = "generator.json";
  var STRIP_PAUSE_MS = 150;  // the strip is drawn once the controls have been still this long

  // -- z from a seed (twin of web_export.seeded_noise) -------------------------------------
  function mulberry32(seed) {
    var a = seed >>> 0;
    return function () {
      a = (a + 0x6d2b79f5) | 0;
      var t = Math.imul(a ^ (a >>> 15), 1 | a);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return (t ^ (t >>> 14)) >>> 0;
    };
  }

  function seededNoise(seed, n) {
    var next = mulberry32(seed), z = new Float32Array(n), TWO32 = 4294967296;
    for (var i = 0; i < n; i += 2) {
      var a = next(), b = next();
      var r = Math.sqrt(-2 * Math.log((a + 1) / TWO32)), angle = 2 * Math.PI * b / TWO32;
      z[i] = r * Math.cos(angle);
      if (i + 1 < n) z[i + 1] = r * Math.sin(angle);
    }
    return z;
  }

  // -- weights ------------------------------------------------------------------------------
  function halfToFloat(h) {
    var sign = h & 0x8000 ? -1 : 1, exp = (h >> 10) & 0x1f, frac = h & 0x3ff;
    if (exp === 0) return sign * frac * Math.pow(2, -24);
    if (exp === 31) return frac ? NaN : sign * Infinity;
    return sign * (1024 + frac) * Math.pow(2, exp - 25);
  }

  function decode(buffer, entry) {  // a Float32Array in the tensor's own (row-major) layout
    var n = entry.shape.reduce(function (p, d) { return p * d; }, 1), out = new Float32Array(n), i;
    if (entry.dtype === "f32") {
      out.set(new Float32Array(buffer, entry.offset, n));
    } else if (entry.dtype === "f16") {
      var h = new Uint16Array(buffer, entry.offset, n);
      for (i = 0; i < n; i++) out[i] = halfToFloat(h[i]);
    } else if (entry.dtype === "int4") {
      var packed = new Uint8Array(buffer, entry.offset, n / 2);
      var scales = new Uint16Array(buffer, entry.scales_offset, n / entry.group);
      for (var g = 0; g < scales.length; g++) {
        var s = halfToFloat(scales[g]), base = g * entry.group;
        for (i = base; i < base + entry.group; i += 2) {
          var byte = packed[i >> 1];
          out[i] = ((byte & 15) - 8) * s;
          out[i + 1] = ((byte >> 4) - 8) * s;
        }
      }
    } else {
      throw new Error("generator.bin: unknown dtype " + entry.dtype);
    }
    return out;
  }

  // -- every layer's inner loop, in WebAssembly SIMD where the browser has it ---------------
  // axpy4(dst, n, ids, ws, count, q): for k = 0, 4, ..., count - 4 and o = 0, 4, ..., n - 4 (bytes),
  //   heap[dst + o] += ws[k] * heap[ids[k] + q + o] + ... + ws[k + 3] * heap[ids[k + 3] + q + o]
  // where ids (byte addresses) and ws (weights) are arrays in the heap too: four columns of a matrix,
  // scaled and added into dst. The module is written out here, byte by byte (no build step); the
  // plain JavaScript twin below does the same where WebAssembly SIMD is missing.
  function simdModule() {
    function leb(n) { var out = []; do { var b = n & 0x7f; n >>>= 7; out.push(n ? b | 0x80 : b); } while (n); return out; }
    function section(id, bytes) { return [id].concat(leb(bytes.length), bytes); }
    function name(s) { return leb(s.length).concat(Array.from(s, function (ch) { return ch.charCodeAt(0); })); }
    function get(i) { return [0x20, i]; }
    function set(i) { return [0x21, i]; }
    function i32(n) { return [0x41, n]; }  // constants 0 to 63 only (one byte of signed LEB128)
    var I32 = 0x7f, V128 = 0x7b, ADD = 0x6a, GE_U = 0x4f, SHL = 0x74, LOAD_I32 = 0x28;
    var LOAD_F32 = 0x2a, SPLAT = [0xfd, 0x13], VLOAD = [0xfd, 0x00, 4, 0], VSTORE = [0xfd, 0x0b, 4, 0];
    var VADD = [0xfd, 0xe4, 0x01], VMUL = [0xfd, 0xe6, 0x01], BLOCK_LOOP = [0x02, 0x40, 0x03, 0x40];
    var END2 = [0x0b, 0x0b], EXIT_IF = [0x0d, 1], REPEAT = [0x0c, 0];
    var DST = 0, N = 1, IDS = 2, WS = 3, COUNT = 4, Q = 5, K = 6, O = 7, P = 8, COL = [9, 10, 11, 12], W = [13, 14, 15, 16];
    var body = [].concat(BLOCK_LOOP, get(K), get(COUNT), GE_U, EXIT_IF,      // for k < count, by 4
      get(IDS), get(K), i32(2), SHL, ADD, set(P));
    COL.forEach(function (l, i) { body = body.concat(get(P), [LOAD_I32, 2, 4 * i], get(Q), ADD, set(l)); });  // ids[k+i] + q
    body = body.concat(get(WS), get(K), i32(2), SHL, ADD, set(P));
    W.forEach(function (l, i) { body = body.concat(get(P), [LOAD_F32, 2, 4 * i], SPLAT, set(l)); });  // ws[k+i] x 4
    body = body.concat(i32(0), set(O), BLOCK_LOOP, get(O), get(N), GE_U, EXIT_IF,   //   for o < n, by 16 bytes
      get(DST), get(O), ADD, get(DST), get(O), ADD, VLOAD);
    COL.forEach(function (l, i) { body = body.concat(get(l), get(O), ADD, VLOAD, get(W[i]), VMUL, VADD); });
    body = body.concat(VSTORE, get(O), i32(16), ADD, set(O), REPEAT, END2,
      get(K), i32(4), ADD, set(K), REPEAT, END2, [0x0b]);
    var code = [2, 7, I32, 4, V128].concat(body);  // locals: k o p col0..3 (i32), w0..3 (v128)
    return new Uint8Array([0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0].concat(
      section(1, [1, 0x60, 6, I32, I32, I32, I32, I32, I32, 0]),  // (i32 x 6) -> ()
      section(2, [1].concat(name("m"), name("heap"), [0x02, 0x00, 1])),  // imports the heap (memory)
      section(3, [1, 0]),
      section(7, [1].concat(name("axpy4"), [0x00, 0])),
      section(10, [1].concat(leb(code.length), code))));
  }

  function jsAxpy4(heap) {  // the same loop in plain JavaScript (sums in double precision, stored as float32)
    var f = new Float32Array(heap), at = new Int32Array(heap);
    return function (dst, n, ids, ws, count, q) {
      dst >>= 2; n >>= 2; ids >>= 2; ws >>= 2;
      for (var k = 0; k < count; k += 4) {
        var a = (at[ids + k] + q) >> 2, b = (at[ids + k + 1] + q) >> 2, c = (at[ids + k + 2] + q) >> 2,
            e = (at[ids + k + 3] + q) >> 2, va = f[ws + k], vb = f[ws + k + 1], vc = f[ws + k + 2], ve = f[ws + k + 3];
        for (var o = 0; o < n; o++) f[dst + o] += va * f[a + o] + vb * f[b + o] + vc * f[c + o] + ve * f[e + o];
      }
    };
  }

  // A heap of `bytes` bytes and axpy4 over it: WebAssembly SIMD when the browser validates the module
  // (and `simd` is not false), else plain JavaScript. kernel says which.
  function heapAndKernel(bytes, simd) {
    if (simd !== false && typeof WebAssembly === "object") {
      try {
        var module = simdModule();
        if (WebAssembly.validate(module)) {
          var memory = new WebAssembly.Memory({initial: Math.ceil(bytes / 65536)});
          var instance = new WebAssembly.Instance(new WebAssembly.Module(module), {m: {heap: memory}});
          return {heap: memory.buffer, axpy4: instance.exports.axpy4, kernel: "WebAssembly SIMD"};
        }
      } catch (err) { /* no SIMD (or no memory for it): the JavaScript loop below */ }
    }
    var heap = new ArrayBuffer(bytes);
    return {heap: heap, axpy4: jsAxpy4(heap), kernel: "JavaScript"};
  }

  // -- G, layer by layer ----------------------------------------------------------------------
  function WebGenerator(manifest, buffer, options) {
    var t = manifest.tensors, spec = manifest.spec, i, o, j, c, q;
    function get(name) { return decode(buffer, t[name]); }
    this.manifest = manifest;
    this.noiseDim = spec.noise_dim;
    this.k = spec.categorical[0];
    this.nCont = spec.n_continuous;
    this.inputDim = spec.noise_dim + spec.categorical.reduce(function (p, d) { return p + d; }, 0) + spec.n_continuous;
    this.s1 = get("fc1.scale"); this.t1 = get("fc1.shift");
    this.h1 = this.s1.length;
    var d = this.inputDim, n1 = this.h1, n2 = t["fc2.weight"].shape[0], sh = t["deconv1.weight"].shape;  // (in, out, 4, 4)
    this.n2 = n2; this.cin = sh[0]; this.cmid = sh[1];
    this.side = Math.sqrt(n2 / this.cin);  // 7
    var mid = 2 * this.side, cm = this.cmid, most = Math.max(d, n1, this.cin, cm) + 4;
    // The heap: each layer's weights with the columns that one input scales laid out contiguously (W1
    // and W2 transposed, deconv1's as [in][ky][kx][out], deconv2's as [in][ky][kx]), the layers'
    // outputs (channels last; for deconv2 the 16 taps of each input pixel), and the list of columns
    // (ids, ws) that axpy4 reads.
    var sizes = {w1t: d * n1, w2t: n1 * n2, w3: this.cin * 16 * cm, w4: cm * 16, h1: n1, h2: n2,
                 h3: mid * mid * cm, taps: mid * mid * 16, ids: most, ws: most}, at = 0;
    this.at = {};
    for (var part in sizes) { this.at[part] = at; at += 16 * Math.ceil(sizes[part] * 4 / 16); }
    var simd = !(options && options.simd === false) && n1 % 4 === 0 && n2 % 4 === 0 && cm % 4 === 0;  // whole vectors
    var hk = heapAndKernel(at, simd), heap = hk.heap, self = this;
    this.axpy4 = hk.axpy4; this.kernel = hk.kernel;
    function view(part, Type) { return new (Type || Float32Array)(heap, self.at[part], sizes[part]); }
    function transpose(w, rows, cols, out) { for (var r = 0; r < rows; r++) for (var k = 0; k < cols; k++) out[k * rows + r] = w[r * cols + k]; }
    transpose(get("fc1.weight"), n1, d, view("w1t"));
    transpose(get("fc2.weight"), n2, n1, view("w2t"));
    this.s2 = get("fc2.scale"); this.t2 = get("fc2.shift");
    var w3 = get("deconv1.weight"), w3h = view("w3");
    for (i = 0; i < sh[0]; i++) for (c = 0; c < cm; c++) for (q = 0; q < 16; q++)
      w3h[(i * 16 + q) * cm + c] = w3[(i * cm + c) * 16 + q];
    this.s3 = get("deconv1.scale"); this.t3 = get("deconv1.shift");
    view("w4").set(get("deconv2.weight"));  // (mid, 1, 4, 4): already [in][ky][kx]
    this.b4 = get("deconv2.bias")[0];
    this.h1v = view("h1"); this.h2v = view("h2"); this.h3v = view("h3"); this.tapsv = view("taps");
    this.ids = view("ids", Int32Array); this.ws = view("ws");
  }

  // The input [z, one_hot(c1), c2, c3] (any further codes at 0), as spec.to_input builds it.
  WebGenerator.prototype.input = function (c1, c2, c3, z) {
    var x = new Float32Array(this.inputDim);
    x.set(z.subarray(0, this.noiseDim));
    x[this.noiseDim + c1] = 1;
    var cont = this.inputDim - this.nCont;
    x[cont] = c2; x[cont + 1] = c3;
    return x;
  };

  // columns(h, from, count, base, stride): the nonzero entries among h[from], ..., h[from + count - 1] as
  // columns of the matrix at `base` (column j at base + j * stride bytes), padded with zero columns to a
  // multiple of four; returns how many
  WebGenerator.prototype.columns = function (h, from, count, base, stride) {
    var ids = this.ids, ws = this.ws, n = 0;
    for (var j = 0; j < count; j++) if (h[from + j] !== 0) { ids[n] = base + j * stride; ws[n++] = h[from + j]; }
    while (n % 4) { ids[n] = base; ws[n++] = 0; }
    return n;
  };

  // One image: a Float32Array of 28 * 28 pixels in [0, 1] (1 = white).
  WebGenerator.prototype.forward = function (x) {
    var o, v, p, n, n1 = this.h1, n2 = this.n2, at = this.at, ax = this.axpy4;
    // FC (z, c) -> 1024, then the folded batch norm and relu
    var h1 = this.h1v.fill(0);
    n = this.columns(x, 0, this.inputDim, at.w1t, 4 * n1);
    ax(at.h1, 4 * n1, at.ids, at.ws, n, 0);
    for (o = 0; o < n1; o++) { v = this.s1[o] * h1[o] + this.t1[o]; h1[o] = v > 0 ? v : 0; }
    // FC 1024 -> 6272 over the units relu let through (about a third)
    var h2 = this.h2v.fill(0);
    n = this.columns(h1, 0, n1, at.w2t, 4 * n2);
    ax(at.h2, 4 * n2, at.ids, at.ws, n, 0);
    for (o = 0; o < n2; o++) { v = this.s2[o] * h2[o] + this.t2[o]; h2[o] = v > 0 ? v : 0; }
    // up-convolution 4x4, stride 2, padding 1: (cin, 7, 7) -> (cmid, 14, 14), channels last; each input
    // pixel's nonzero channels, added into each of the (up to 16) output pixels it reaches
    var side = this.side, mid = 2 * side, cm = this.cmid, cin = this.cin, h3 = this.h3v.fill(0);
    var pixel = new Float32Array(cin), iy, ix, ky, kx, y, xx;
    for (iy = 0; iy < side; iy++) for (ix = 0; ix < side; ix++) {
      for (var i = 0; i < cin; i++) pixel[i] = h2[(i * side + iy) * side + ix];
      n = this.columns(pixel, 0, cin, at.w3, 4 * 16 * cm);
      for (ky = 0; ky < 4; ky++) {
        y = 2 * iy - 1 + ky;
        if (y < 0 || y >= mid) continue;
        for (kx = 0; kx < 4; kx++) {
          xx = 2 * ix - 1 + kx;
          if (xx >= 0 && xx < mid) ax(at.h3 + 4 * (y * mid + xx) * cm, 4 * cm, at.ids, at.ws, n, 4 * (ky * 4 + kx) * cm);
        }
      }
    }
    for (p = 0; p < mid * mid; p++) for (o = 0; o < cm; o++) {
      v = this.s3[o] * h3[p * cm + o] + this.t3[o];
      h3[p * cm + o] = v > 0 ? v : 0;
    }
    // up-convolution to one channel: (cmid, 14, 14) -> (1, 28, 28): each input pixel's 16 taps, then
    // each tap added into the output pixel it reaches; then tanh, then [0, 1]
    var big = 2 * mid, img = new Float32Array(big * big).fill(this.b4), taps = this.tapsv.fill(0);
    for (p = 0; p < mid * mid; p++) {
      n = this.columns(h3, p * cm, cm, at.w4, 4 * 16);
      ax(at.taps + 4 * 16 * p, 4 * 16, at.ids, at.ws, n, 0);
    }
    for (iy = 0; iy < mid; iy++) for (ix = 0; ix < mid; ix++) for (ky = 0; ky < 4; ky++) {
      y = 2 * iy - 1 + ky;
      if (y < 0 || y >= big) continue;
      for (kx = 0; kx < 4; kx++) {
        xx = 2 * ix - 1 + kx;
        if (xx >= 0 && xx < big) img[y * big + xx] += taps[(iy * mid + ix) * 16 + ky * 4 + kx];
      }
    }
    for (p = 0; p < img.length; p++) img[p] = Math.min(1, Math.max(0, (Math.tanh(img[p]) + 1) / 2));
    return img;
  };

  WebGenerator.prototype.render = function (c1, c2, c3, z) { return this.forward(this.input(c1, c2, c3, z)); };

  var loading = null;
  function load() {  // one download per page, shared by every explorer on it
    if (!loading) {
      loading = fetch(BASE + MANIFEST).then(function (r) {
        if (!r.ok) throw new Error(MANIFEST + ": HTTP " + r.status);
        return r.json();
      }).then(function (manifest) {
        return fetch(BASE + manifest.weights.file).then(function (r) {
          if (!r.ok) throw new Error(manifest.weights.file + ": HTTP " + r.status);
          return r.arrayBuffer();
        }).then(function (buffer) {
          if (buffer.byteLength !== manifest.weights.bytes) throw new Error("generator.bin is incomplete");
          var G = new WebGenerator(manifest, buffer), z = seededNoise(0, G.noiseDim);
          G.render(0, 0, 0, z); G.render(1, 0.5, -0.5, z);  // compile the hot loops before the first slider move
          return G;
        });
      });
      loading.catch(function () { loading = null; });
    }
    return loading;
  }

  // -- the page -----------------------------------------------------------------------------
  var GREY = (function () {  // GREY[g]: the grey g (0 to 255) as one RGBA pixel, opaque
    var out = new Uint32Array(256), rgba = new Uint8Array(out.buffer);
    for (var g = 0; g < 256; g++) { rgba.fill(g, 4 * g, 4 * g + 3); rgba[4 * g + 3] = 255; }
    return out;
  })();

  function paint(canvas, images, zoom) {  // images side by side, each 28 x 28, enlarged zoom times
    var n = images.length, w = 28 * zoom, gap = n > 1 ? 2 : 0;
    var width = n * w + (n - 1) * gap;  // resizing a canvas reallocates it: only when the size changes
    if (canvas.width !== width) canvas.width = width;
    if (canvas.height !== w) canvas.height = w;
    var ctx = canvas.getContext("2d"), data = canvas.pixels;  // one ImageData per canvas size, reused
    if (!data || data.width !== width || data.height !== w) data = canvas.pixels = ctx.createImageData(width, w);
    var px = new Uint32Array(data.data.buffer);
    px.fill(GREY[255]);
    images.forEach(function (img, k) {
      for (var y = 0; y < w; y++) {
        var row = ((y / zoom) | 0) * 28, at = y * width + k * (w + gap);
        for (var x = 0; x < w; x++) px[at + x] = GREY[Math.round(img[row + ((x / zoom) | 0)] * 255)];
      }
    });
    ctx.putImageData(data, 0, 0);
  }

  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    (children || []).forEach(function (c) { e.append(c); });
    return e;
  }

  function slider(name, spec) {
    var r = spec.controls.slider_range;
    return el("input", {type: "range", min: r[0], max: r[1], step: spec.controls.slider_step, value: 0,
                        "data-control": name, "aria-label": name});
  }

  function mount(root, G) {
    var m = G.manifest, small = root.dataset.size === "small", zoom = small ? 4 : 6;
    var digit = m.categories.digit, order = digit.map(function (d, k) { return k; });
    order.sort(function (a, b) { return digit[a] - digit[b]; });
    var c1 = el("select", {"data-control": "c1", "aria-label": "c1 (category)"}, order.map(function (k) {
      return el("option", {value: k}, ["digit " + digit[k] + "  (c1 = " + k + ")"]);
    }));
    var c2 = slider("c2", m), c3 = slider("c3", m);
    var seed = el("input", {type: "number", min: 0, max: m.controls.max_seed, step: 1, value: 0,
                            "data-control": "seed", "aria-label": "noise seed"});
    var again = el("button", {type: "button", "data-control": "new-noise"}, ["new noise"]);
    var image = el("canvas", {"data-view": "image", role: "img"});
    var strip = el("canvas", {"data-view": "strip", role: "img", "aria-label": "A strip of images drawn by G (being drawn)"});
    // the sliders announce their own values: the printed copies beside them stay silent
    var v2 = el("output", {"aria-hidden": "true"}), v3 = el("output", {"aria-hidden": "true"}), caption = el("div", {class: "infogan-explorer-caption"});
    var timing = el("div", {class: "infogan-explorer-timing", "data-view": "timing"});
    var controls = el("div", {class: "infogan-explorer-controls"}, [
      el("label", {}, ["c1 (category) ", c1]),
      el("label", {}, ["c2 ", c2, " ", v2]),
      el("label", {}, ["c3 ", c3, " ", v3]),
      el("label", {}, ["noise seed (z) ", seed, " ", again]),
      el("div", {class: "infogan-explorer-note"}, [
        "Categories ordered by the digit each draws (matched on " + m.categories.n + " held-out digits, " +
        (100 * m.categories.accuracy).toFixed(1) + "% agreement)."]),
      timing]);
    // the status region that announced the loading stays in the page, so that its next message is announced
    // too (a live region inserted with its text already in it is often not read out)
    var announce = root.querySelector(":scope > .infogan-explorer-status") ||
                   el("div", {class: "infogan-explorer-status", role: "status"});
    Array.from(root.childNodes).forEach(function (n) { if (n !== announce) root.removeChild(n); });
    root.prepend(el("div", {class: "infogan-explorer-live"}, [image, controls]),
                 el("div", {class: "infogan-explorer-strip"}, [strip, caption]));
    if (announce.parentNode !== root) root.append(announce);
    var moved = "c2", stripKey = null, z = null, zSeed = null, frame = 0, job = null, drawnSeed = 0, pause = 0;
    var state = {G: G, renders: 0, strips: 0, frames: 0, lastMs: 0};

    function seedOf() {  // the seed the box stands for: an integer in [0, max_seed]; null while half typed
      if (seed.value === "") return null;
      var v = Number(seed.value);
      return isFinite(v) ? Math.max(0, Math.min(m.controls.max_seed, Math.floor(v))) : null;
    }
    function settings() {
      var s = seedOf();
      if (s === null) s = drawnSeed;
      if (s !== zSeed) { z = seededNoise(s, G.noiseDim); zSeed = s; }
      return {c1: Number(c1.value), c2: Number(c2.value), c3: Number(c3.value), seed: s};
    }
    function stripZoom(n) {  // the largest zoom (1 to 3) that fits the strip's width
      var room = strip.parentNode.clientWidth || 800;
      return Math.max(1, Math.min(3, Math.floor((room - 2 * (n - 1)) / (28 * n))));
    }
    function startStrip() {  // the strip, one image per task, restarted whenever what it shows changes
      var s = settings(), values = [], points, key, text;
      if (moved === "c1") {
        points = order.map(function (k) { return [k, s.c2, s.c3]; });
        text = "c1 across, as the digits 0 to 9 it draws; c2 = " + s.c2 + ", c3 = " + s.c3 + ", noise seed " + s.seed;
      } else {
        for (var v = -2; v <= 2.0001; v += 0.5) values.push(v);
        points = values.map(function (v) { return moved === "c2" ? [s.c1, v, s.c3] : [s.c1, s.c2, v]; });
        text = moved + " from -2 to 2 in steps of 0.5 for the digit " + digit[s.c1] + " (c1 = " + s.c1 + "), " +
               (moved === "c2" ? "c3 = " + s.c3 : "c2 = " + s.c2) + ", noise seed " + s.seed;
      }
      var zoom = stripZoom(points.length);
      key = [moved, zoom].concat(points.map(String), [s.seed]).join("|");
      if (key === stripKey || (job && job.key === key)) return;
      if (job) clearTimeout(job.timer);
      job = {key: key, images: [], zSnap: z, timer: 0};
      (function step(j) {
        j.timer = setTimeout(function () {
          if (job !== j) return;
          var p = points[j.images.length];
          j.images.push(G.render(p[0], p[1], p[2], j.zSnap));
          if (j.images.length < points.length) return step(j);
          job = null;
          paint(strip, j.images, zoom);
          stripKey = key;
          caption.textContent = text;
          strip.setAttribute("aria-label", "A strip of " + points.length + " images drawn by G: " + text);
          state.strips++;
          state.strip = {code: moved, values: values, zoom: zoom};
        }, 0);
      })(job);
    }
    function draw() {  // one frame: the image for the current settings, then the strip's job
      frame = 0;
      var s = settings(), t0 = performance.now();
      var img = G.render(s.c1, s.c2, s.c3, z);
      state.lastMs = performance.now() - t0;
      paint(image, [img], zoom);
      state.paintedAt = performance.now();  // the frame under way shows it (the benchmark's slider-to-paint)
      drawnSeed = s.seed;
      state.renders++;
      state.settings = s;
      v2.textContent = Number(s.c2).toFixed(1); v3.textContent = Number(s.c3).toFixed(1);
      clearTimeout(pause);  // while a control moves, a frame draws its image and nothing else: the image's
      pause = setTimeout(function () { pause = 0; settled(s); startStrip(); }, STRIP_PAUSE_MS);  // name, the
    }                                                                          // timing and the strip wait
    function settled(s) {  // once the reader pauses: the image's accessible name and the timing line
      image.setAttribute("aria-label", "The image G draws for c1 = " + s.c1 + " (digit " + digit[s.c1] + "), c2 = " +
                         s.c2 + ", c3 = " + s.c3 + ", noise seed " + s.seed);
      timing.textContent = "image in " + state.lastMs.toFixed(1) + " ms";
    }
    function request() { if (!frame) { frame = requestAnimationFrame(draw); state.frames++; } }
    function update(event) {
      var name = event && event.target && event.target.dataset.control;
      if (job) { clearTimeout(job.timer); job = null; }  // a strip under way yields to the reader's hand
      if (name === "c1" || name === "c2" || name === "c3") moved = name;
      if (name === "seed" && seedOf() === null) return;  // half typed: keep drawing the last seed
      request();
    }
    [c1, c2, c3, seed].forEach(function (c) { c.addEventListener("input", update); });
    // Once the reader commits the seed (Enter, Tab, the arrows), the box shows the seed that is drawn:
    // -5 becomes 0, 3.7 becomes 3, 1e10 the largest seed. Not while typing, or "1e10" would become "100".
    seed.addEventListener("change", function (e) {
      var s = seedOf();
      seed.value = s === null ? drawnSeed : s;
      update(e);
    });
    again.addEventListener("click", function () {
      seed.value = Math.floor(Math.random() * m.controls.max_seed);
      request();
    });
    if ("ResizeObserver" in window) {  // a new width (window resized, phone rotated): the strip's zoom
      var width = root.clientWidth;
      new ResizeObserver(function () {
        if (root.clientWidth !== width) { width = root.clientWidth; startStrip(); }
      }).observe(root);
    }
    state.idle = function () {  // resolves once the image and the strip are drawn
      return new Promise(function (resolve) {
        (function wait() { frame || job || pause ? setTimeout(wait, 5) : resolve(); })();
      });
    };
    c1.value = order[0];
    draw();
    settled(state.settings);
    announce.textContent = "The explorer is ready: G runs in this page. Pick c1, slide c2 and c3, or change the noise seed.";
    root.infoganExplorer = state;
    root.dataset.state = "live";
    return state;
  }

  function setup(root) {
    var button = el("button", {type: "button", class: "infogan-explorer-open"},
                    [root.dataset.label || "Open the live explorer (3.7 MB)"]);
    var status = el("div", {class: "infogan-explorer-status", role: "status"});
    var bar = el("div", {class: "infogan-explorer-bar"}, [button]);
    root.querySelectorAll(".infogan-explorer-nojs").forEach(function (n) { n.remove(); });  // "it needs JavaScript"
    root.prepend(bar);
    bar.after(status);
    root.dataset.state = "closed";
    function open() {
      if (root.dataset.state !== "closed") return;
      root.dataset.state = "loading";
      button.setAttribute("aria-disabled", "true");  // not disabled: that would drop the keyboard focus
      status.textContent = "Loading the generator (3.7 MB)...";
      var t0 = performance.now();
      load().then(function (G) {
        var focused = root.contains(document.activeElement);
        var state = mount(root, G);
        state.loadMs = performance.now() - t0;
        if (focused) root.querySelector("[data-control=c1]").focus();  // the button is gone: keep the reader's place
      }).catch(function (err) {
        root.dataset.state = "closed";
        button.removeAttribute("aria-disabled");
        status.textContent = "Could not load the explorer (" + err.message + "); press the button to try again" +
          (root.querySelector("img.infogan-explorer-static") ? " (the figure stays meanwhile)." : ".");
      });
    }
    button.addEventListener("click", open);
    if (root.dataset.load === "visible" && "IntersectionObserver" in window) {
      var seen = new IntersectionObserver(function (entries) {
        if (entries.some(function (e) { return e.isIntersecting; })) { seen.disconnect(); open(); }
      });
      seen.observe(root);
    }
  }

  window.InfoGANExplorer = {seededNoise: seededNoise, load: load, WebGenerator: WebGenerator, mount: mount};
  function start() { document.querySelectorAll(".infogan-explorer").forEach(setup); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
