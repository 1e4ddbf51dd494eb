"""Conv2d and MaxPool2d on NCHW tensors, vectorised with one loop over the K*K kernel offsets.

The columns ("im2col") are built offset by offset: cols[:, :, i, j] holds, for every output
pixel, the input pixel that kernel tap (i, j) sees. Then the convolution is one batched matrix
product. Backward scatters the column gradients back the same way (col2im).
"""

import numpy as np

from dlteach._checks import float_array, positive, require_rng
from dlteach.base import Layer, _init_dtype, _init_scale


def conv_output_size(size, kernel_size, stride=1, padding=0):
    """out = floor((size + 2 padding - kernel_size) / stride) + 1."""
    return (size + 2 * padding - kernel_size) // stride + 1


def _check_nchw(x, channels, kernel_size, stride, padding, where):
    x = float_array(x, where, "x", ndim=4)
    if channels is not None and x.shape[1] != channels:
        raise ValueError(f"{where}: argument 'x' has {x.shape[1]} channels (shape {x.shape}, NCHW); "
                         f"expected C = {channels}")
    H, W = x.shape[2] + 2 * padding, x.shape[3] + 2 * padding
    if kernel_size > H or kernel_size > W:
        raise ValueError(f"{where}: kernel_size {kernel_size} is larger than the padded input "
                         f"{H}x{W} (x shape {x.shape}, padding {padding}); expected kernel_size <= {min(H, W)}")
    Ho = conv_output_size(x.shape[2], kernel_size, stride, padding)
    Wo = conv_output_size(x.shape[3], kernel_size, stride, padding)
    return x, Ho, Wo


def im2col(xp, K, stride, Ho, Wo):
    """Gather every K x K window of a padded input.  Shapes: xp (N, C, Hp, Wp) -> (N, C, K, K, Ho, Wo)."""
    N, C = xp.shape[:2]
    cols = np.empty((N, C, K, K, Ho, Wo), dtype=xp.dtype)
    for i in range(K):
        for j in range(K):
            cols[:, :, i, j] = xp[:, :, i:i + stride * Ho:stride, j:j + stride * Wo:stride]
    return cols


def col2im(dcols, padded_shape, K, stride):
    """Sum window gradients back onto the padded input.  Shapes: (N, C, K, K, Ho, Wo) -> padded_shape."""
    Ho, Wo = dcols.shape[-2:]
    dxp = np.zeros(padded_shape, dtype=dcols.dtype)
    for i in range(K):
        for j in range(K):
            dxp[:, :, i:i + stride * Ho:stride, j:j + stride * Wo:stride] += dcols[:, :, i, j]
    return dxp


class Conv2d(Layer):
    """out[n, f] = sum_c (x[n, c] correlated with W[f, c]) + b[f], with stride and zero padding.

    Shapes: x (N, C, H, W) -> out (N, F, Ho, Wo), Ho = (H + 2 padding - K) // stride + 1;
    W (F, C, K, K), b (F,). Like every deep-learning library, it computes a correlation
    (the kernel is not flipped); lesson 07 explains why that makes no difference to learning.
    """

    def __init__(self, in_channels, out_channels, kernel_size, *, stride=1, padding=0, rng,
                 init="he", dtype=np.float64):
        super().__init__()
        where = "Conv2d"
        self.in_channels = positive(in_channels, where, "in_channels", integer=True)
        self.out_channels = positive(out_channels, where, "out_channels", integer=True)
        self.kernel_size = positive(kernel_size, where, "kernel_size", integer=True)
        self.stride = positive(stride, where, "stride", integer=True)
        self.padding = positive(padding, where, "padding", integer=True, allow_zero=True)
        require_rng(rng, where)
        self.dtype = _init_dtype(dtype, where)
        C, F, K = self.in_channels, self.out_channels, self.kernel_size
        scale = _init_scale(init, C * K * K, F * K * K, where)
        self.params["W"] = (rng.standard_normal((F, C, K, K)) * scale).astype(self.dtype)   # (F, C, K, K)
        self.params["b"] = np.zeros(F, dtype=self.dtype)                                     # (F,)

    def extra_repr(self):
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}")

    def forward(self, x):
        K, s, p = self.kernel_size, self.stride, self.padding
        x, Ho, Wo = _check_nchw(x, self.in_channels, K, s, p, "Conv2d.forward")
        N = x.shape[0]
        xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p))) if p else x        # (N, C, Hp, Wp)
        cols = im2col(xp, K, s, Ho, Wo).reshape(N, -1, Ho * Wo)             # (N, CKK, Ho*Wo)
        Wmat = self.params["W"].reshape(self.out_channels, -1)              # (F, CKK)
        out = np.matmul(Wmat, cols)                                         # (N, F, Ho*Wo)
        out += self.params["b"][:, None]
        self._cache = (cols, xp.shape, x.shape)
        return out.reshape(N, self.out_channels, Ho, Wo)                    # (N, F, Ho, Wo)

    SKIPS_INPUT_GRAD = True

    def backward(self, dout, *, input_grad=True):
        """Fill grads; return dL/dx (N, C, H, W), or None with input_grad=False (no col2im then)."""
        cols, padded_shape, x_shape = self._saved()
        N, F = x_shape[0], self.out_channels
        Ho = conv_output_size(x_shape[2], self.kernel_size, self.stride, self.padding)
        Wo = conv_output_size(x_shape[3], self.kernel_size, self.stride, self.padding)
        dout = self._check_dout(dout, (N, F, Ho, Wo))
        d2 = dout.reshape(N, F, Ho * Wo)                                     # (N, F, Ho*Wo)
        Wmat = self.params["W"].reshape(F, -1)                               # (F, CKK)
        # A batched matmul and a sum over N beats one big tensordot here (bench/).
        self.grads["W"] = np.matmul(d2, cols.transpose(0, 2, 1)).sum(axis=0).reshape(self.params["W"].shape)
        self.grads["b"] = d2.sum(axis=(0, 2))                                # (F,)
        if not input_grad:
            return None
        dcols = np.matmul(Wmat.T, d2)                                        # (N, CKK, Ho*Wo)
        K, C = self.kernel_size, self.in_channels
        dxp = col2im(dcols.reshape(N, C, K, K, Ho, Wo), padded_shape, K, self.stride)
        p = self.padding
        return dxp[:, :, p:p + x_shape[2], p:p + x_shape[3]] if p else dxp   # (N, C, H, W)


class MaxPool2d(Layer):
    """out[n, c, i, j] = max of the K x K window at (i * stride, j * stride); stride defaults to K.

    Shapes: x (N, C, H, W) -> (N, C, Ho, Wo), Ho = (H - K) // stride + 1. The gradient flows only
    to the (first) maximum of each window.
    """

    def __init__(self, kernel_size, stride=None):
        super().__init__()
        self.kernel_size = positive(kernel_size, "MaxPool2d", "kernel_size", integer=True)
        self.stride = self.kernel_size if stride is None else positive(stride, "MaxPool2d", "stride", integer=True)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}"

    def forward(self, x):
        K, s = self.kernel_size, self.stride
        x, Ho, Wo = _check_nchw(x, None, K, s, 0, "MaxPool2d.forward")
        N, C = x.shape[:2]
        windows = np.empty((K * K, N, C, Ho, Wo), dtype=x.dtype)             # one slab per kernel offset
        for i in range(K):
            for j in range(K):
                windows[i * K + j] = x[:, :, i:i + s * Ho:s, j:j + s * Wo:s]
        arg = windows.argmax(axis=0)                                         # (N, C, Ho, Wo)
        out = np.take_along_axis(windows, arg[None], axis=0)[0]
        self._cache = (arg, x.shape)
        return out

    def backward(self, dout):
        arg, x_shape = self._saved()
        dout = self._check_dout(dout, arg.shape)
        K, s = self.kernel_size, self.stride
        Ho, Wo = arg.shape[2:]
        dx = np.zeros(x_shape, dtype=dout.dtype)
        for i in range(K):
            for j in range(K):
                dx[:, :, i:i + s * Ho:s, j:j + s * Wo:s] += dout * (arg == i * K + j)
        return dx
