"""Conv2d and MaxPool2d on NCHW tensors; kernel_size, stride and padding are an int or a pair (height, width).

The columns ("im2col") hold, for every output pixel, the input pixels its window sees: cols[c, i, j]
is what kernel tap (i, j) of channel c sees at every output pixel. The convolution is then one
matrix product. Backward scatters the column gradients back tap by tap (col2im).

Conv2d works channel-major inside, (C, N, H, W): the columns become one (C*KH*KW, N*Ho*Wo) matrix
and the layer one large matrix product instead of N small ones, and its work arrays are reused from
call to call (bench/: a fresh multi-megabyte array per call costs more in page faults than the
arithmetic).
"""

import numpy as np
from numpy.lib.stride_tricks import as_strided

from dlteach._checks import float_array, positive, require_rng
from dlteach.base import Layer, _init_dtype, _init_scale


def conv_output_size(size, kernel_size, stride=1, padding=0):
    """out = floor((size + 2 padding - kernel_size) / stride) + 1."""
    return (size + 2 * padding - kernel_size) // stride + 1


def _pair(value, where, name, *, allow_zero=False):
    """(a, b) from an int or a pair of ints, each a positive integer (or >= 0 with allow_zero)."""
    if isinstance(value, (tuple, list, np.ndarray)):
        if len(value) != 2:
            raise ValueError(f"{where}: argument '{name}' is {value!r}; expected an int or a pair "
                             "(height, width) of ints")
        pair = tuple(value)
    else:
        pair = (value, value)
    return tuple(positive(v, where, name, integer=True, allow_zero=allow_zero) for v in pair)


def _as_given(value, pair):
    """The int for an int argument, the pair for a pair."""
    return pair[0] if np.ndim(value) == 0 else pair


def _show(pair):
    """How a kernel size or padding reads in a message: 3 for (3, 3), (5, 3) otherwise."""
    return pair[0] if pair[0] == pair[1] else pair


def _check_nchw(x, channels, kernel, stride, padding, where):
    """x as an NCHW float array, and the output's (Ho, Wo); kernel, stride, padding are pairs."""
    x = float_array(x, where, "x", ndim=4)
    if channels is not None and x.shape[1] != channels:
        raise ValueError(f"{where}: argument 'x' has {x.shape[1]} channels (shape {x.shape}, NCHW); "
                         f"expected C = {channels}")
    Hp, Wp = x.shape[2] + 2 * padding[0], x.shape[3] + 2 * padding[1]
    if kernel[0] > Hp or kernel[1] > Wp:
        most = min(Hp, Wp) if kernel[0] == kernel[1] else (Hp, Wp)
        raise ValueError(f"{where}: kernel_size {_show(kernel)} is larger than the padded input "
                         f"{Hp}x{Wp} (x shape {x.shape}, padding {_show(padding)}); expected kernel_size <= {most}")
    Ho = conv_output_size(x.shape[2], kernel[0], stride[0], padding[0])
    Wo = conv_output_size(x.shape[3], kernel[1], stride[1], padding[1])
    return x, Ho, Wo


def _windows(xp, kernel, stride, Ho, Wo):
    """A read-only view of every window, no copy.  Shapes: xp (A, B, Hp, Wp) -> (A, B, KH, KW, Ho, Wo)."""
    sA, sB, sH, sW = xp.strides
    shape = xp.shape[:2] + tuple(kernel) + (Ho, Wo)
    return as_strided(xp, shape, (sA, sB, sH, sW, sH * stride[0], sW * stride[1]), writeable=False)


def im2col(xp, K, stride, Ho, Wo):
    """Gather every K x K window of a padded input (K and stride: an int or a pair).

    Shapes: xp (N, C, Hp, Wp) -> (N, C, KH, KW, Ho, Wo), a new array.
    """
    kernel, stride = _pair(K, "im2col", "K"), _pair(stride, "im2col", "stride")
    return _windows(xp, kernel, stride, Ho, Wo).copy()


def col2im(dcols, padded_shape, K, stride):
    """Sum window gradients back onto the padded input.  Shapes: (N, C, KH, KW, Ho, Wo) -> padded_shape."""
    (KH, KW), (sh, sw) = _pair(K, "col2im", "K"), _pair(stride, "col2im", "stride")
    Ho, Wo = dcols.shape[-2:]
    dxp = np.zeros(padded_shape, dtype=dcols.dtype)
    for i in range(KH):
        for j in range(KW):
            dxp[:, :, i:i + sh * Ho:sh, j:j + sw * Wo:sw] += dcols[:, :, i, j]
    return dxp


class Conv2d(Layer):
    """out[n, f] = sum_c (x[n, c] correlated with W[f, c]) + b[f], with stride and zero padding.

    Shapes: x (N, C, H, W) -> out (N, F, Ho, Wo), Ho = (H + 2 padding - KH) // stride + 1 (and the
    same for Wo with KW); W (F, C, KH, KW), b (F,). kernel_size, stride and padding are an int or a
    pair (height, width), e.g. kernel_size=(5, 3), padding=(2, 1), stride=(3, 4). Like every
    deep-learning library, it computes a correlation (the kernel is not flipped); lesson 07 explains
    why that makes no difference to learning.
    """

    def __init__(self, in_channels, out_channels, kernel_size, *, stride=1, padding=0, rng,
                 init="he", dtype=np.float64):
        super().__init__()
        where = "Conv2d"
        self.in_channels = positive(in_channels, where, "in_channels", integer=True)
        self.out_channels = positive(out_channels, where, "out_channels", integer=True)
        self._k = _pair(kernel_size, where, "kernel_size")
        self._s = _pair(stride, where, "stride")
        self._p = _pair(padding, where, "padding", allow_zero=True)
        # An int stays an int, so that the repr reads as it was written.
        self.kernel_size, self.stride, self.padding = (_as_given(v, pair) for v, pair in
                                                       ((kernel_size, self._k), (stride, self._s), (padding, self._p)))
        require_rng(rng, where)
        self.dtype = _init_dtype(dtype, where)
        C, F, (KH, KW) = self.in_channels, self.out_channels, self._k
        scale = _init_scale(init, C * KH * KW, F * KH * KW, where)
        self.params["W"] = (rng.standard_normal((F, C, KH, KW)) * scale).astype(self.dtype)   # (F, C, KH, KW)
        self.params["b"] = np.zeros(F, dtype=self.dtype)                                       # (F,)
        self._freeze_param_spec()

    def extra_repr(self):
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}")

    def _grid(self, N, C, H, W, Ho, Wo):
        """The padded input's sizes (Hp, Wp), the width Wg of the grid the layer computes on, and the
        strides (in items) of the window view (C, KH, KW, N, Ho, Wg) of the flat padded input.

        With stride 1 the grid is Wg = Wp wide: the Wp - Wo extra columns of each output row are junk
        (windows that wrap into the next row), dropped from the output, with a zero gradient. In
        exchange every (channel, tap, image) row of the columns is one contiguous run of Ho*Wp input
        values, copied (and scattered back in col2im) by one long loop instead of Ho short ones.
        """
        (sh, sw), (ph, pw) = self._s, self._p
        Hp, Wp = H + 2 * ph, W + 2 * pw
        Wg = Wp if (sh, sw) == (1, 1) else Wo
        return Hp, Wp, Wg, (N * Hp * Wp, Wp, 1, Hp * Wp, sh * Wp, sw)

    def forward(self, x):
        self._check_params()
        x, Ho, Wo = _check_nchw(x, self.in_channels, self._k, self._s, self._p, "Conv2d.forward")
        (KH, KW), (ph, pw) = self._k, self._p
        N, C, H, W = x.shape
        F = self.out_channels
        Hp, Wp, Wg, strides = self._grid(N, C, H, W, Ho, Wo)
        Wmat = self.params["W"].reshape(F, -1)                               # (F, C*KH*KW)
        dtype = np.result_type(x, Wmat)
        size = C * N * Hp * Wp
        flat = self._buffer("xp", (size + KW - 1,), dtype)                   # + the junk windows' overrun
        xp = flat[:size].reshape(C, N, Hp, Wp)                               # channel-major, padded
        if ph or pw:
            xp.fill(0)
        flat[size:] = 0
        xp[:, :, ph:ph + H, pw:pw + W] = x.transpose(1, 0, 2, 3)
        windows = as_strided(flat, (C, KH, KW, N, Ho, Wg), tuple(k * flat.itemsize for k in strides),
                             writeable=False)                                # (C, KH, KW, N, Ho, Wg), a view
        cols = self._buffer("cols", (C * KH * KW, N * Ho * Wg), dtype)
        np.copyto(cols.reshape(windows.shape), windows)                      # im2col
        out_g = self._buffer("out_g", (F, N * Ho * Wg), dtype)
        np.matmul(Wmat, cols, out=out_g)                                     # (F, N*Ho*Wg)
        out_g += self.params["b"][:, None]
        out = np.empty((N, F, Ho, Wo), dtype=dtype)
        np.copyto(out, out_g.reshape(F, N, Ho, Wg)[:, :, :, :Wo].transpose(1, 0, 2, 3))   # a new array
        self._cache = (cols, x.shape, Ho, Wo)
        return out                                                           # (N, F, Ho, Wo)

    SKIPS_INPUT_GRAD = True

    def backward(self, dout, *, input_grad=True):
        """Fill grads; return dL/dx (N, C, H, W), or None with input_grad=False (no col2im then)."""
        cols, x_shape, Ho, Wo = self._saved()
        N, C, H, W = x_shape
        F, (KH, KW), (ph, pw) = self.out_channels, self._k, self._p
        Hp, Wp, Wg, strides = self._grid(N, C, H, W, Ho, Wo)
        dout = self._check_dout(dout, (N, F, Ho, Wo))
        dtype = np.result_type(cols, dout)
        d_g = self._buffer("dout_g", (F, N, Ho, Wg), dtype)                 # channel-major like cols
        d_g[:, :, :, Wo:] = 0                                                # the junk columns get no gradient
        np.copyto(d_g[:, :, :, :Wo], dout.transpose(1, 0, 2, 3))
        d_g = d_g.reshape(F, -1)                                             # (F, N*Ho*Wg)
        self.grads["W"] = (d_g @ cols.T).reshape(self.params["W"].shape)    # (F, C, KH, KW)
        ones = self._buffer("ones", (d_g.shape[1],), dtype)
        ones.fill(1)
        self.grads["b"] = d_g @ ones                                         # (F,) a matrix-vector product: ~2x sum()
        if not input_grad:
            return None
        dcols = self._buffer("dcols", (C * KH * KW, N * Ho * Wg), dtype)
        np.matmul(self.params["W"].reshape(F, -1).T, d_g, out=dcols)        # (C*KH*KW, N*Ho*Wg)
        dcols = dcols.reshape(C, KH, KW, N, Ho, Wg)
        size = C * N * Hp * Wp
        dflat = self._buffer("dxp", (size + KW - 1,), dtype)
        dflat.fill(0)
        sC, sH, sW, sN, sy, sx = (k * dflat.itemsize for k in strides)
        for i in range(KH):                                                  # col2im, tap by tap
            for j in range(KW):
                start = i * strides[1] + j * strides[2]                      # where tap (i, j) starts
                tap = as_strided(dflat[start:], (C, N, Ho, Wg), (sC, sN, sy, sx))   # no two entries alias
                tap += dcols[:, i, j]
        dx = np.empty(x_shape, dtype=dtype)
        dxp = dflat[:size].reshape(C, N, Hp, Wp)
        np.copyto(dx, dxp[:, :, ph:ph + H, pw:pw + W].transpose(1, 0, 2, 3))   # (N, C, H, W)
        return dx


class MaxPool2d(Layer):
    """out[n, c, i, j] = max of the KH x KW window at (i * stride_h - padding_h, j * stride_w - padding_w).

    Shapes: x (N, C, H, W) -> (N, C, Ho, Wo), Ho = (H + 2 padding - KH) // stride + 1. kernel_size,
    stride (default: kernel_size) and padding are an int or a pair; the padding is -inf, so it is never
    the maximum, and, as in PyTorch, at most half the kernel. The gradient flows only to the (first,
    in reading order) maximum of each window.
    """

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        where = "MaxPool2d"
        self._k = _pair(kernel_size, where, "kernel_size")
        self._s = self._k if stride is None else _pair(stride, where, "stride")
        self._p = _pair(padding, where, "padding", allow_zero=True)
        if self._p[0] > self._k[0] // 2 or self._p[1] > self._k[1] // 2:
            raise ValueError(f"{where}: argument 'padding' is {padding!r}; expected at most half the kernel, "
                             f"padding <= {_show((self._k[0] // 2, self._k[1] // 2))} for kernel_size "
                             f"{kernel_size!r} (a window of padding alone would have no maximum)")
        self.kernel_size = _as_given(kernel_size, self._k)
        self.stride = self.kernel_size if stride is None else _as_given(stride, self._s)
        self.padding = _as_given(padding, self._p)

    def extra_repr(self):
        pad = f", padding={self.padding}" if any(self._p) else ""
        return f"kernel_size={self.kernel_size}, stride={self.stride}{pad}"

    def forward(self, x):
        (KH, KW), (sh, sw), (ph, pw) = self._k, self._s, self._p
        x, Ho, Wo = _check_nchw(x, None, self._k, self._s, self._p, "MaxPool2d.forward")
        N, C, H, W = x.shape
        if ph or pw:
            xp = self._buffer("xp", (N, C, H + 2 * ph, W + 2 * pw), x.dtype)
            xp.fill(-np.inf)
            xp[:, :, ph:ph + H, pw:pw + W] = x
        else:
            xp = x
        windows = self._buffer("windows", (KH * KW, N, C, Ho, Wo), x.dtype)   # one slab per kernel offset
        for i in range(KH):
            for j in range(KW):
                windows[i * KW + j] = xp[:, :, i:i + sh * Ho:sh, j:j + sw * Wo:sw]
        arg = windows.argmax(axis=0)                                         # (N, C, Ho, Wo)
        out = np.take_along_axis(windows, arg[None], axis=0)[0]
        self._cache = (arg, x.shape)
        return out

    def backward(self, dout):
        arg, x_shape = self._saved()
        dout = self._check_dout(dout, arg.shape)
        (KH, KW), (sh, sw), (ph, pw) = self._k, self._s, self._p
        N, C, H, W = x_shape
        Ho, Wo = arg.shape[2:]
        dxp = np.zeros((N, C, H + 2 * ph, W + 2 * pw), dtype=dout.dtype)
        for i in range(KH):
            for j in range(KW):
                dxp[:, :, i:i + sh * Ho:sh, j:j + sw * Wo:sw] += dout * (arg == i * KW + j)
        return dxp[:, :, ph:ph + H, pw:pw + W] if ph or pw else dxp
