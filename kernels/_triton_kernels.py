"""Triton jit functions of :mod:`kernels._triton`. Imported on first use: importing it needs triton, and
``TRITON_INTERPRET`` is read when these functions are decorated."""

import triton
import triton.language as tl


@triton.jit
def _uniform(counter, key, F64: tl.constexpr):
    h = (counter.to(tl.int64) & 0xFFFFFFFF) ^ key
    h = h ^ (h >> 16)
    h = (h * 0x7FEB352D) & 0xFFFFFFFF
    h = h ^ (h >> 16)
    h = (h * 0x31848BAB) & 0xFFFFFFFF
    h = h ^ (h >> 16)
    h = (h * 0x2C1B3C6D) & 0xFFFFFFFF
    h = h ^ (h >> 15)
    # one return: the compiler visits only the constexpr branch taken, and two returns of different
    # types fail to compile (the interpreter, plain Python, does not notice)
    if F64:
        u = (h >> 8).to(tl.float64) * (1.0 / 16777216)
    else:
        u = (h >> 8).to(tl.float32) * (1.0 / 16777216)
    return u

@triton.jit
def _tile(pid, B, M: tl.constexpr, MP: tl.constexpr, BLOCK: tl.constexpr):
    """Offsets and bounds of this program's ``(BLOCK, MP)`` tile of blocks (``MP``: ``M`` rounded up to a
    power of two). The tile is one contiguous span of memory, so loads and stores are coalesced."""
    rows = pid.to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    cols = tl.arange(0, MP)
    offs = rows[:, None] * M + cols[None, :]
    ok = (rows[:, None] < B) & (cols[None, :] < M)
    return rows, cols, offs, ok

@triton.jit
def _flat(pid, B, M: tl.constexpr, BLOCK: tl.constexpr):
    """Offsets ``(BLOCK * M,)`` of the tile as one flat range (``M`` a power of two) and their bound."""
    flat = pid.to(tl.int64) * (BLOCK * M) + tl.arange(0, BLOCK * M)
    return flat, flat // M < B

@triton.jit
def _load(ptr, pid, offs, ok, B, M: tl.constexpr, MP: tl.constexpr, BLOCK: tl.constexpr):
    """The ``(BLOCK, MP)`` tile in its own dtype, padding 0. With ``M == MP`` one flat load of the contiguous
    span, reshaped (vectorises across blocks, not only within one); else the 2-D masked load."""
    if M == MP:
        flat, fok = _flat(pid, B, M, BLOCK)
        v = tl.reshape(tl.load(ptr + flat, mask=fok, other=0.0), (BLOCK, M))
    else:
        v = tl.load(ptr + offs, mask=ok, other=0.0)
    return v

@triton.jit
def _store(ptr, pid, offs, ok, v, B, M: tl.constexpr, MP: tl.constexpr, BLOCK: tl.constexpr):
    """Store the ``(BLOCK, MP)`` tile ``v`` (already in ``ptr``'s dtype), as :func:`_load` reads it."""
    if M == MP:
        flat, fok = _flat(pid, B, M, BLOCK)
        tl.store(ptr + flat, tl.reshape(v, (BLOCK * M,)), mask=fok)
    else:
        tl.store(ptr + offs, v, mask=ok)

@triton.jit
def _nonfinite(v, FMAX: tl.constexpr):
    """1 if the tile ``v`` holds a NaN or an Inf, else 0 (int32 scalar). ``FMAX``, the largest finite value of
    ``v``'s dtype, is exact in it, so the comparison is exact whatever the promotion; NaN compares false."""
    return tl.max(tl.max(tl.where(tl.abs(v) <= FMAX, 0, 1), axis=1), axis=0)

@triton.jit
def _report(flags_ptr, word):
    """OR the int32 scalar ``word`` into ``flags[0]``; no atomic unless some bit is set."""
    tl.atomic_or(flags_ptr, word, mask=word != 0, sem="relaxed")

@triton.jit
def _col(tile, cols, j: tl.constexpr):
    """Column ``j`` of a tile, ``(BLOCK,)``: a sum with one non-zero term, so exact."""
    return tl.sum(tl.where(cols[None, :] == j, tile, tl.zeros_like(tile)), axis=1)

@triton.jit
def _wide(v, F64: tl.constexpr):
    """The MVUE compute dtype: float64 for float64 input, else float32."""
    if F64:
        w = v.to(tl.float64)
    else:
        w = v.to(tl.float32)
    return w

@triton.jit
def _put(tile, cols, j: tl.constexpr, v):
    """``tile`` with column ``j`` replaced by ``v`` ``(BLOCK,)``."""
    return tl.where(cols[None, :] == j, v[:, None], tile)

@triton.jit
def _nm_prune_kernel(x_ptr, y_ptr, mask_ptr, flags_ptr, B, SIZE, N: tl.constexpr, M: tl.constexpr,
                     MP: tl.constexpr, FMAX: tl.constexpr, WRITE_MASK: tl.constexpr, BLOCK: tl.constexpr):
    """Keep the ``N`` largest magnitudes of each block, in ``x``'s dtype (comparisons are exact in any float
    dtype); flags bit 0 if the tile holds a NaN/Inf. ``SIZE``: the autotune key's size bucket (unused)."""
    pid = tl.program_id(0)
    rows, cols, offs, ok = _tile(pid, B, M, MP, BLOCK)
    x = _load(x_ptr, pid, offs, ok, B, M, MP, BLOCK)
    _report(flags_ptr, _nonfinite(x, FMAX))
    a = tl.abs(x)
    # rank of entry i in its block: the entries j above it (ties: the lower index ranks higher)
    rank = tl.zeros([BLOCK, MP], dtype=tl.int32)
    for j in tl.static_range(M):
        aj = _col(a, cols, j)[:, None]
        rank += tl.where(cols[None, :] > j, aj >= a, aj > a).to(tl.int32)
    keep = rank < N
    _store(y_ptr, pid, offs, ok, tl.where(keep, x, tl.zeros_like(x)), B, M, MP, BLOCK)
    if WRITE_MASK:
        _store(mask_ptr, pid, offs, ok, keep.to(tl.int8), B, M, MP, BLOCK)

@triton.jit
def _keep_value(x, p, c, prev, u, N: tl.constexpr):
    """One systematic-sampling step: returns (output value, new cumulative sum, new tick)."""
    c = tl.minimum(c + p, N)
    tick = tl.ceil(c - u)
    val = tl.where(tick > prev, x / tl.maximum(p, 1e-30), 0.0)
    return val, c, tick

@triton.jit
def _scale(top, LO: tl.constexpr, HI: tl.constexpr):
    """The divisor of a block's magnitudes (as ``kernels._blocks.rescale_blocks``): its maximum ``top``
    when that lies outside ``[LO, HI]`` (so sums of magnitudes cannot overflow or underflow), else 1."""
    return tl.where(((top > HI) | (top < LO)) & (top > 0), top, tl.full(top.shape, 1.0, top.dtype))

@triton.jit
def _mvue_load(x_ptr, B, M: tl.constexpr, F64: tl.constexpr, FMAX: tl.constexpr, BLOCK: tl.constexpr):
    """This program's ``(BLOCK, M)`` tile widened to the compute dtype, and the input's flag (bit 0)."""
    pid = tl.program_id(0)
    rows, cols, offs, ok = _tile(pid, B, M, M, BLOCK)
    xn = _load(x_ptr, pid, offs, ok, B, M, M, BLOCK)
    return rows, cols, offs, ok, _wide(xn, F64), _nonfinite(xn, FMAX)

@triton.jit
def _mvue_store(y_ptr, flags_ptr, offs, ok, y, bad_in, B, M: tl.constexpr, FMAX: tl.constexpr,
                BLOCK: tl.constexpr):
    """Store ``y`` in the output dtype and report the flags: bit 0 ``bad_in``, bit 1 if a stored value is not
    finite (checked after the cast, so a float32 value overflowing float16/bfloat16 counts)."""
    yo = y.to(y_ptr.dtype.element_ty)
    _store(y_ptr, tl.program_id(0), offs, ok, yo, B, M, M, BLOCK)
    _report(flags_ptr, bad_in | (_nonfinite(yo, FMAX) * 2))

@triton.jit
def _mvue12_kernel(x_ptr, y_ptr, flags_ptr, key, B, SIZE, F64: tl.constexpr, LO: tl.constexpr, HI: tl.constexpr,
                   FMAX: tl.constexpr, BLOCK: tl.constexpr):
    rows, cols, offs, ok, x, bad_in = _mvue_load(x_ptr, B, 2, F64, FMAX, BLOCK)
    x0, x1 = _col(x, cols, 0), _col(x, cols, 1)
    a0, a1 = tl.abs(x0), tl.abs(x1)
    d = _scale(tl.maximum(a0, a1), LO, HI)
    a0, a1 = a0 / d, a1 / d
    s = a0 + a1
    s = tl.maximum(s, 1e-30)
    p0 = tl.where(a0 > 0, a0 / s, 0.0)
    p1 = tl.where(a1 > 0, a1 / s, 0.0)
    u = _uniform(rows, key, F64)
    c = tl.zeros_like(u)
    prev = tl.ceil(-u)
    v0, c, prev = _keep_value(x0, p0, c, prev, u, 1)
    v1, c, prev = _keep_value(x1, p1, c, prev, u, 1)
    y = _put(_put(x, cols, 0, v0), cols, 1, v1)
    _mvue_store(y_ptr, flags_ptr, offs, ok, y, bad_in, B, 2, FMAX, BLOCK)

@triton.jit
def _p24(a, s, top):
    p = tl.where(2 * top <= s, 2 * a / tl.maximum(s, 1e-30), tl.minimum(a / tl.maximum(s - top, 1e-30), 1.0))
    return tl.where(a > 0, p, 0.0)

@triton.jit
def _mvue24_kernel(x_ptr, y_ptr, flags_ptr, key, B, SIZE, F64: tl.constexpr, LO: tl.constexpr, HI: tl.constexpr,
                   FMAX: tl.constexpr, BLOCK: tl.constexpr):
    rows, cols, offs, ok, x, bad_in = _mvue_load(x_ptr, B, 4, F64, FMAX, BLOCK)
    x0, x1, x2, x3 = _col(x, cols, 0), _col(x, cols, 1), _col(x, cols, 2), _col(x, cols, 3)
    a0, a1, a2, a3 = tl.abs(x0), tl.abs(x1), tl.abs(x2), tl.abs(x3)
    d = _scale(tl.maximum(tl.maximum(a0, a1), tl.maximum(a2, a3)), LO, HI)
    a0, a1, a2, a3 = a0 / d, a1 / d, a2 / d, a3 / d
    s = a0 + a1 + a2 + a3
    top = tl.maximum(tl.maximum(a0, a1), tl.maximum(a2, a3))
    u = _uniform(rows, key, F64)
    c = tl.zeros_like(u)
    prev = tl.ceil(-u)
    v0, c, prev = _keep_value(x0, _p24(a0, s, top), c, prev, u, 2)
    v1, c, prev = _keep_value(x1, _p24(a1, s, top), c, prev, u, 2)
    v2, c, prev = _keep_value(x2, _p24(a2, s, top), c, prev, u, 2)
    v3, c, prev = _keep_value(x3, _p24(a3, s, top), c, prev, u, 2)
    y = _put(_put(_put(_put(x, cols, 0, v0), cols, 1, v1), cols, 2, v2), cols, 3, v3)
    _mvue_store(y_ptr, flags_ptr, offs, ok, y, bad_in, B, 4, FMAX, BLOCK)

@triton.jit
def _approx_p(x, s, r, ratio):
    t = x / s
    return tl.minimum(t + x * (r - ratio), 1.0)

@triton.jit
def _approx24_kernel(x_ptr, y_ptr, flags_ptr, key, B, SIZE, EPS: tl.constexpr, F64: tl.constexpr, LO: tl.constexpr,
                     HI: tl.constexpr, FMAX: tl.constexpr, BLOCK: tl.constexpr):
    rows, cols, offs, ok, x, bad_in = _mvue_load(x_ptr, B, 4, F64, FMAX, BLOCK)
    x0, x1, x2, x3 = _col(x, cols, 0), _col(x, cols, 1), _col(x, cols, 2), _col(x, cols, 3)
    m0, m1, m2, m3 = tl.abs(x0) + EPS, tl.abs(x1) + EPS, tl.abs(x2) + EPS, tl.abs(x3) + EPS
    d = _scale(tl.maximum(tl.maximum(m0, m1), tl.maximum(m2, m3)), LO, HI)
    m0, m1, m2, m3 = m0 / d, m1 / d, m2 / d, m3 / d
    s = m0 + m1 + m2 + m3
    u0 = _uniform(rows * 2, key, F64)
    u1 = _uniform(rows * 2 + 1, key, F64)
    # first draw proportional to the magnitudes (as torch: count of cumulative sums below u0*S)
    v = u0 * s
    first = ((m0 < v).to(tl.int32) + (m0 + m1 < v).to(tl.int32) + (m0 + m1 + m2 < v).to(tl.int32)
             + (m0 + m1 + m2 + m3 < v).to(tl.int32))
    first = tl.minimum(first, 3)
    r0, r1 = tl.where(first == 0, 0.0, m0), tl.where(first == 1, 0.0, m1)
    r2, r3 = tl.where(first == 2, 0.0, m2), tl.where(first == 3, 0.0, m3)
    w = u1 * (r0 + r1 + r2 + r3)
    second = ((r0 < w).to(tl.int32) + (r0 + r1 < w).to(tl.int32) + (r0 + r1 + r2 < w).to(tl.int32)
              + (r0 + r1 + r2 + r3 < w).to(tl.int32))
    second = tl.minimum(second, 3)
    # rounding can push the draw onto `first`: take the largest remaining entry (lowest index on ties)
    big = tl.maximum(tl.maximum(r0, r1), tl.maximum(r2, r3))
    arg = tl.where(r0 == big, 0, tl.where(r1 == big, 1, tl.where(r2 == big, 2, 3)))
    second = tl.where(second == first, arg, second)
    q0, q1, q2, q3 = m0 / s / (s - m0), m1 / s / (s - m1), m2 / s / (s - m2), m3 / s / (s - m3)
    rr = q0 + q1 + q2 + q3
    v0 = tl.where((first == 0) | (second == 0), x0 / _approx_p(m0, s, rr, q0), 0.0)
    v1 = tl.where((first == 1) | (second == 1), x1 / _approx_p(m1, s, rr, q1), 0.0)
    v2 = tl.where((first == 2) | (second == 2), x2 / _approx_p(m2, s, rr, q2), 0.0)
    v3 = tl.where((first == 3) | (second == 3), x3 / _approx_p(m3, s, rr, q3), 0.0)
    y = _put(_put(_put(_put(x, cols, 0, v0), cols, 1, v1), cols, 2, v2), cols, 3, v3)
    _mvue_store(y_ptr, flags_ptr, offs, ok, y, bad_in, B, 4, FMAX, BLOCK)

@triton.jit
def _factorized_kernel(yt_ptr, idx_ptr, code_ptr, zs_ptr, bias_ptr, out_ptr, B, N, S,
                       HAS_BIAS: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_B: tl.constexpr):
    """A ``(BLOCK_N, BLOCK_B)`` tile of ``out^T``: outputs ``rn`` for batch rows ``rb``. Each output row's
    scale (one per row of ``Z``) is loaded once; then for each of the ``S`` stored entries of its rows: one
    index and code per output (dequantized here, as ``kernels.quantized``: ``scale * (code + 0.5)``) and a
    ``(BLOCK_N, BLOCK_B)`` gather of ``y^T``, whose rows are contiguous along the batch, so each output's
    load coalesces."""
    rb = tl.program_id(0).to(tl.int64) * BLOCK_B + tl.arange(0, BLOCK_B)  # batch on grid axis 0 (2^31 - 1
    rn = tl.program_id(1).to(tl.int64) * BLOCK_N + tl.arange(0, BLOCK_N)  # programs; axis 1 allows 65535)
    ok_n = rn < N
    ok = ok_n[:, None] & (rb[None, :] < B)
    acc = tl.zeros([BLOCK_N, BLOCK_B], dtype=tl.float32)
    zs = tl.load(zs_ptr + rn, mask=ok_n, other=0.0)  # the rows' scales, once per output row
    for j in range(0, S):
        col = tl.load(idx_ptr + rn * S + j, mask=ok_n, other=0)
        q = tl.load(code_ptr + rn * S + j, mask=ok_n, other=0)
        z = zs * (q.to(tl.float32) + 0.5)  # the same float32 product as kernels.quantized.grid_values
        y = tl.load(yt_ptr + col[:, None] * B + rb[None, :], mask=ok, other=0.0)
        acc += z[:, None] * y
    if HAS_BIAS:
        acc += tl.load(bias_ptr + rn, mask=ok_n, other=0.0)[:, None]
    tl.store(out_ptr + rb[None, :] * N + rn[:, None], acc, mask=ok)

@triton.jit
def _lif_columns(BT, H, N, BLOCK: tl.constexpr):
    """This program's ``BLOCK`` columns ``c = b H + h`` of a contiguous ``(B, T, H)`` tensor: the bound, the
    neuron ``h`` and the offset of ``(b, 0, h)`` (``BT = T H``); step ``t`` is at ``+ t H``."""
    cols = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    ok = cols < N
    h = cols % H
    return cols, ok, h, (cols // H) * BT + h

@triton.jit
def _lif_forward_kernel(cur_ptr, beta_ptr, th_ptr, spk_ptr, mem_ptr, T, BT, H, N, BLOCK: tl.constexpr):
    """The LIF time loop of :mod:`kernels.lif` for ``BLOCK`` (sequence, neuron) columns, the membrane in
    registers: one read of the current and one write of each output per step. The float operations are
    those of the PyTorch path (``beta (v - th s) + (1 - beta) I``)."""
    cols, ok, h, off = _lif_columns(BT, H, N, BLOCK)
    beta = tl.load(beta_ptr + h, mask=ok, other=0.0)
    th = tl.load(th_ptr + h, mask=ok, other=0.0)
    keep = 1.0 - beta
    v = tl.zeros_like(beta)
    s = tl.zeros_like(beta)
    for _ in range(0, T):
        i = tl.load(cur_ptr + off, mask=ok, other=0.0)
        v = beta * (v - th * s) + keep * i
        s = (v > th).to(v.dtype)
        tl.store(mem_ptr + off, v, mask=ok)
        tl.store(spk_ptr + off, s, mask=ok)
        off += H

@triton.jit
def _surrogate(x, slope, k, SURROGATE: tl.constexpr):
    """``g(x)`` of :mod:`kernels.lif`: 0 sigmoid (as ``a e / (1 + e)^2``, ``e = exp(-a|x|)``), 1 fast sigmoid,
    2 arctan; ``slope`` = ``a`` and ``k = pi/2 a`` in ``x``'s dtype."""
    if SURROGATE == 0:
        e = tl.exp(-slope * tl.abs(x))
        r = 1.0 + e
        g = slope * e / (r * r)
    elif SURROGATE == 1:
        r = 1.0 + slope * tl.abs(x)
        g = 1.0 / (r * r)
    else:
        z = k * x
        g = (0.5 * slope) / (1.0 + z * z)
    return g

@triton.jit
def _lif_backward_kernel(cur_ptr, mem_ptr, gs_ptr, gv_ptr, beta_ptr, th_ptr, par_ptr, gcur_ptr, gbeta_ptr, gth_ptr,
                         T, BT, H, N, SURROGATE: tl.constexpr, HAS_GS: tl.constexpr, HAS_GV: tl.constexpr,
                         BLOCK: tl.constexpr):
    """The reverse-time adjoint loop of :mod:`kernels.lif` for ``BLOCK`` columns (``T >= 1``): the adjoint
    ``a`` of the membrane in registers, ``a <- grad_v + g grad_s + beta (1 - th g) a``; writes the gradient
    of the current and each column's sums for ``beta`` and ``th`` (``gbeta``, ``gth``: ``(N,)``). Spikes are
    recomputed from the membrane (``v > th``, as the forward)."""
    cols, ok, h, off = _lif_columns(BT, H, N, BLOCK)
    beta = tl.load(beta_ptr + h, mask=ok, other=0.0)
    th = tl.load(th_ptr + h, mask=ok, other=0.0)
    slope = tl.load(par_ptr)
    k = tl.load(par_ptr + 1)
    keep = 1.0 - beta
    a = tl.zeros_like(beta)  # A_{t+1}
    gb = tl.zeros_like(beta)
    gt = tl.zeros_like(beta)
    off += BT - H  # step T - 1
    v = tl.load(mem_ptr + off, mask=ok, other=0.0)
    for i in range(0, T):
        prev = tl.full([BLOCK], T - 1 - i, tl.int32) > 0  # step t has a t - 1 (a vector: a scalar mask fails)
        vp = tl.load(mem_ptr + off - H, mask=ok & prev, other=0.0)
        s = (v > th).to(v.dtype)
        g = _surrogate(v - th, slope, k, SURROGATE)
        c = tl.zeros_like(v)
        if HAS_GS:
            gs = tl.load(gs_ptr + off, mask=ok, other=0.0)
            c = g * gs
            gt -= c
        if HAS_GV:
            c += tl.load(gv_ptr + off, mask=ok, other=0.0)
        gt += beta * a * (th * g - s)
        a = c + beta * (1.0 - th * g) * a  # A_t
        tl.store(gcur_ptr + off, keep * a, mask=ok)
        up = tl.where(prev, vp - th * (vp > th).to(vp.dtype), tl.zeros_like(vp))  # u_{t-1}; u_{-1} = 0
        gb += a * (up - tl.load(cur_ptr + off, mask=ok, other=0.0))
        v = vp
        off -= H
    tl.store(gbeta_ptr + cols, gb, mask=ok)
    tl.store(gth_ptr + cols, gt, mask=ok)

@triton.jit
def _image_gradients_kernel(x_ptr, out_ptr, H, W, TILES_W, TILES, KIND: tl.constexpr, BLOCK_H: tl.constexpr,
                            BLOCK_W: tl.constexpr):
    """``(∂x, ∂y)`` of :mod:`kernels.image_gradients` on one ``(BLOCK_H, BLOCK_W)`` tile of one plane of a contiguous
    ``(P, H, W)`` tensor (program ``plane * TILES + tile``, ``TILES = TILES_H * TILES_W``), into the contiguous
    ``(P, 2, H, W)`` output. The 3×3 neighbourhood is loaded at clamped indices (replicate padding: a neighbour
    outside the plane is its nearest border pixel); ``KIND`` 0 the normalised Sobel filter, 1 the central difference.
    In float32, each tap scaled before the differences (exact, powers of two), so nothing overflows where the
    derivative does not; ``∂y`` is ``∂x``'s expression mirrored, so transposing the image swaps the two exactly."""
    pid = tl.program_id(0)
    plane = (pid // TILES).to(tl.int64)
    tile = pid % TILES
    r = (tile // TILES_W) * BLOCK_H + tl.arange(0, BLOCK_H)
    c = (tile % TILES_W) * BLOCK_W + tl.arange(0, BLOCK_W)
    ok = (r[:, None] < H) & (c[None, :] < W)
    up = tl.maximum(r - 1, 0).to(tl.int64)[:, None] * W
    mid = r.to(tl.int64)[:, None] * W
    down = tl.minimum(r + 1, H - 1).to(tl.int64)[:, None] * W
    left = tl.maximum(c - 1, 0)[None, :]
    centre = c[None, :]
    right = tl.minimum(c + 1, W - 1)[None, :]
    src = x_ptr + plane * H * W
    ml = tl.load(src + mid + left, mask=ok, other=0.0).to(tl.float32)
    mr = tl.load(src + mid + right, mask=ok, other=0.0).to(tl.float32)
    uc = tl.load(src + up + centre, mask=ok, other=0.0).to(tl.float32)
    dc = tl.load(src + down + centre, mask=ok, other=0.0).to(tl.float32)
    if KIND == 0:
        ul = tl.load(src + up + left, mask=ok, other=0.0).to(tl.float32)
        ur = tl.load(src + up + right, mask=ok, other=0.0).to(tl.float32)
        dl = tl.load(src + down + left, mask=ok, other=0.0).to(tl.float32)
        dr = tl.load(src + down + right, mask=ok, other=0.0).to(tl.float32)
        gx = (ur * 0.125 - ul * 0.125) + (mr * 0.25 - ml * 0.25) + (dr * 0.125 - dl * 0.125)
        gy = (dl * 0.125 - ul * 0.125) + (dc * 0.25 - uc * 0.25) + (dr * 0.125 - ur * 0.125)
    else:
        gx = mr * 0.5 - ml * 0.5
        gy = dc * 0.5 - uc * 0.5
    dst = out_ptr + plane * 2 * H * W + mid + centre
    tl.store(dst, gx.to(out_ptr.dtype.element_ty), mask=ok)
    tl.store(dst + H * W, gy.to(out_ptr.dtype.element_ty), mask=ok)
