"""Convolution from first principles, for lesson 07: 1-D and 2-D convolution and correlation,
the convolution as an explicit sparse matrix with shared weights, named kernels, stride and
padding, and the talk's parameter count.

These are the readable reference versions (single images, no batch axis); dlteach.conv holds
the fast batched Conv2d layer that networks use. The two are checked against each other in
tests/unit/test_convolution.py and in the lesson.
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from dlteach._checks import float_array, positive
from dlteach.conv import conv_output_size

__all__ = ["KERNELS", "kernel", "convolve1d", "correlate1d", "continuous_convolution",
           "correlate2d", "convolve2d", "output_shape", "convolution_matrix", "parameter_counts",
           "test_image", "TEST_IMAGES", "kernel_view", "window_view"]

# 3x3 kernels that do something visible. Each is applied as a correlation (as Conv2d does), so
# "sobel x" responds positively where brightness increases to the right.
_KERNELS = {
    "identity": [[0, 0, 0], [0, 1, 0], [0, 0, 0]],
    "box blur": [[1 / 9] * 3] * 3,
    "gaussian blur": [[1 / 16, 2 / 16, 1 / 16], [2 / 16, 4 / 16, 2 / 16], [1 / 16, 2 / 16, 1 / 16]],
    "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
    "edge (laplacian)": [[0, 1, 0], [1, -4, 1], [0, 1, 0]],
    "sobel x": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
    "sobel y": [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],
    "emboss": [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]],
}
KERNELS = {name: np.array(k, dtype=np.float64) for name, k in _KERNELS.items()}
for _k in KERNELS.values():
    _k.flags.writeable = False     # shared constants: kernel(name) hands out copies to edit


def kernel(name):
    """A copy of the named 3x3 kernel (see KERNELS).  Shapes: -> (3, 3)."""
    if name not in KERNELS:
        raise ValueError(f"kernel: argument 'name' is {name!r}; expected one of {list(KERNELS)}")
    return KERNELS[name].copy()


_MODES = ("full", "same", "valid")


def _check_1d(x, w, mode, where):
    x = float_array(x, where, "x", ndim=1)
    w = float_array(w, where, "w", ndim=1)
    if mode not in _MODES:
        raise ValueError(f"{where}: argument 'mode' is {mode!r}; expected one of {_MODES}")
    if mode != "full" and len(w) > len(x):
        raise ValueError(f"{where}: kernel 'w' has {len(w)} taps, longer than the signal 'x' ({len(x)}); "
                         f"mode {mode!r} needs len(w) <= len(x)")
    return x, w


def correlate1d(x, w, mode="valid"):
    """(x star w)[n] = sum_m x[n + m] w[m]: slide w along x without flipping it.

    mode "valid": only where w fits inside x; "full": x zero-padded by len(w) - 1 on both sides;
    "same": the middle len(x) values of "full". Shapes: x (T,), w (K,) -> valid (T-K+1,),
    full (T+K-1,), same (T,).
    """
    x, w = _check_1d(x, w, mode, "correlate1d")
    T, K = len(x), len(w)
    if mode != "valid":
        x = np.pad(x, K - 1)                                   # (T + 2(K-1),)
    out = sliding_window_view(x, K) @ w                        # (T', K) @ (K,) -> (T' - K + 1,)
    if mode == "same":
        out = out[(K - 1) // 2:(K - 1) // 2 + T]              # the centre, as numpy's "same"
    return out


def convolve1d(x, w, mode="full"):
    """(x * w)[n] = sum_m x[m] w[n - m]: correlation with the kernel flipped (np.convolve's convention).

    Shapes: x (T,), w (K,) -> full (T+K-1,), same (T,), valid (T-K+1,).
    """
    x, w = _check_1d(x, w, mode, "convolve1d")
    return correlate1d(x, w[::-1], mode)


def continuous_convolution(f, g, t, *, lo, hi, num=4001):
    """(f * g)(t) = integral f(tau) g(t - tau) dtau, by the trapezoid rule on tau in [lo, hi].

    f and g take arrays; f must vanish outside [lo, hi]. Shapes: t (T,) -> (T,).
    """
    if not (callable(f) and callable(g)):
        raise TypeError("continuous_convolution: arguments 'f' and 'g' must be functions of an array")
    if not hi > lo:
        raise ValueError(f"continuous_convolution: the interval [lo, hi] = [{lo}, {hi}] is empty; expected lo < hi")
    positive(num, "continuous_convolution", "num", integer=True)
    t = float_array(np.atleast_1d(np.asarray(t, dtype=float)), "continuous_convolution", "t", ndim=1)
    tau = np.linspace(lo, hi, num)                             # (S,)
    integrand = f(tau)[None, :] * g(t[:, None] - tau[None, :])  # (T, S)
    return np.trapezoid(integrand, tau, axis=1)


def _pair(value, where, name):
    """(a, b) from an int or a pair of ints."""
    pair = (value, value) if np.ndim(value) == 0 else tuple(value)
    if len(pair) != 2:
        raise ValueError(f"{where}: argument '{name}' is {value!r}; expected an int or a pair of ints")
    return pair


def output_shape(height, width, kernel_size, stride=1, padding=0):
    """Ho = floor((H + 2P - K) / S) + 1 and the same for W, checked to be at least 1.

    kernel_size may be K or (Kh, Kw). Shapes: -> (Ho, Wo).
    """
    where = "output_shape"
    Kh, Kw = (positive(k, where, "kernel_size", integer=True) for k in _pair(kernel_size, where, "kernel_size"))
    H = positive(height, where, "height", integer=True)
    W = positive(width, where, "width", integer=True)
    S = positive(stride, where, "stride", integer=True)
    P = positive(padding, where, "padding", integer=True, allow_zero=True)
    if Kh > H + 2 * P or Kw > W + 2 * P:
        raise ValueError(f"{where}: kernel {Kh}x{Kw} is larger than the padded input {H + 2 * P}x{W + 2 * P} "
                         f"(input {H}x{W}, padding {P}); expected kernel_size <= {min(H, W) + 2 * P}")
    return conv_output_size(H, Kh, S, P), conv_output_size(W, Kw, S, P)


def _image_and_kernel(image, kernel, where):
    """Both as channel-first arrays: image (C, H, W), kernel (C, Kh, Kw)."""
    image = float_array(image, where, "image", ndim=(2, 3))
    kernel = float_array(kernel, where, "kernel", ndim=(2, 3))
    image = image[None] if image.ndim == 2 else image
    kernel = kernel[None] if kernel.ndim == 2 else kernel
    if image.shape[0] != kernel.shape[0]:
        raise ValueError(f"{where}: argument 'image' has {image.shape[0]} channels (shape {image.shape}) but "
                         f"'kernel' has {kernel.shape[0]} (shape {kernel.shape}); expected the same C")
    return image, kernel


def correlate2d(image, kernel, *, stride=1, padding=0):
    """out[i, j] = sum_c sum_u sum_v x[c, i S + u, j S + v] k[c, u, v], x zero-padded by P: what Conv2d computes.

    Shapes: image (H, W) or (C, H, W), kernel (Kh, Kw) or (C, Kh, Kw) -> (Ho, Wo),
    Ho = (H + 2P - Kh) // S + 1.
    """
    where = "correlate2d"
    x, k = _image_and_kernel(image, kernel, where)
    Ho, Wo = output_shape(x.shape[1], x.shape[2], k.shape[1:], stride, padding)
    xp = np.pad(x, ((0, 0), (padding, padding), (padding, padding)))          # (C, Hp, Wp)
    windows = sliding_window_view(xp, k.shape[1:], axis=(1, 2))                # (C, Hp-Kh+1, Wp-Kw+1, Kh, Kw)
    windows = windows[:, :stride * (Ho - 1) + 1:stride, :stride * (Wo - 1) + 1:stride]   # (C, Ho, Wo, Kh, Kw)
    return np.einsum("chwuv,cuv->hw", windows, k)                              # (Ho, Wo)


def convolve2d(image, kernel, *, stride=1, padding=0):
    """out[i, j] = sum_m sum_n x[m, n] k[i - m, j - n]: correlation with the kernel flipped in both axes.

    Shapes: as correlate2d; with C channels every channel's kernel is flipped.
    """
    kernel = float_array(kernel, "convolve2d", "kernel", ndim=(2, 3))
    return correlate2d(image, kernel[..., ::-1, ::-1], stride=stride, padding=padding)


def convolution_matrix(kernel, height, width, *, stride=1, padding=0):
    """The matrix M with M @ x.ravel() == correlate2d(x, kernel, stride, padding).ravel().

    Row i * Wo + j holds kernel tap k[c, u, v] in column c H W + (i S + u - P) W + (j S + v - P);
    taps that land on the zero padding are dropped, everything else is 0.
    Shapes: kernel (Kh, Kw) or (C, Kh, Kw) -> M (Ho * Wo, C * H * W).
    """
    where = "convolution_matrix"
    kernel = float_array(kernel, where, "kernel", ndim=(2, 3))
    k = kernel[None] if kernel.ndim == 2 else kernel                           # (C, Kh, Kw)
    C, Kh, Kw = k.shape
    Ho, Wo = output_shape(height, width, (Kh, Kw), stride, padding)
    M = np.zeros((Ho * Wo, C * height * width), dtype=k.dtype)
    rows = np.arange(Ho * Wo)                                                  # (Ho*Wo,)
    i, j = np.divmod(rows, Wo)                                                 # output pixel of each row
    for c in range(C):
        for u in range(Kh):
            for v in range(Kw):
                r, s = i * stride + u - padding, j * stride + v - padding      # input pixel tap (u, v) sees
                inside = (r >= 0) & (r < height) & (s >= 0) & (s < width)
                M[rows[inside], c * height * width + r[inside] * width + s[inside]] = k[c, u, v]
    return M


def parameter_counts(height, width, channels, kernel_size, *, filters=1):
    """Dense layer vs convolution for an H x W x C image mapped to F maps of H x W ("same" padding).

    dense = (H W C) (H W F) weights; conv = K K C F weights, each filter applied H W times.
    Returns a dict of Python ints: inputs, outputs, dense_weights, conv_weights, applications,
    conv_multiplies (= conv_weights * applications) and ratio (dense / conv, rounded down).
    """
    where = "parameter_counts"
    H, W, C, K, F = (positive(v, where, n, integer=True) for v, n in
                     ((height, "height"), (width, "width"), (channels, "channels"),
                      (kernel_size, "kernel_size"), (filters, "filters")))
    inputs, outputs = H * W * C, H * W * F
    conv = K * K * C * F
    return {"inputs": inputs, "outputs": outputs, "dense_weights": inputs * outputs,
            "conv_weights": conv, "applications": H * W, "conv_multiplies": conv * H * W,
            "ratio": inputs * outputs // conv}


def _shapes(n):
    y, x = np.mgrid[0:n, 0:n] / n                                              # (n, n) each, in [0, 1)
    img = np.zeros((n, n))
    img[(x - 0.3) ** 2 + (y - 0.3) ** 2 < 0.18 ** 2] = 1.0                     # a disk
    img[(x > 0.55) & (x < 0.9) & (y > 0.15) & (y < 0.45)] = 0.6                 # a grey square
    img[(y > 0.6) & (y < 0.92) & (np.abs(x - 0.5) < (y - 0.6) * 1.2)] = 0.85    # a triangle
    return img


def _stripes(n):
    y, x = np.mgrid[0:n, 0:n] / n
    return 0.5 + 0.5 * np.sin(2 * np.pi * 3 * (x + 0.5 * y))


def _checkerboard(n):
    cell = max(n // 8, 1)
    y, x = np.mgrid[0:n, 0:n] // cell
    return ((x + y) % 2).astype(np.float64)


def _noisy_shapes(n):
    # A fixed seed: the picture is part of the lesson, not a random draw.
    return _shapes(n) + 0.25 * np.random.default_rng(7).standard_normal((n, n))


TEST_IMAGES = {"shapes": _shapes, "noisy shapes": _noisy_shapes, "stripes": _stripes,
               "checkerboard": _checkerboard}


def test_image(name, size=32):
    """A generated grey image with edges to find: shapes, noisy shapes, stripes or a checkerboard.

    Shapes: -> (size, size) floats, mostly in [0, 1].
    """
    if name not in TEST_IMAGES:
        raise ValueError(f"test_image: argument 'name' is {name!r}; expected one of {list(TEST_IMAGES)}")
    return TEST_IMAGES[name](positive(size, "test_image", "size", integer=True))


test_image.__test__ = False    # its name starts with "test": keep pytest from collecting it


def kernel_view(image, kernel, *, stride=1, padding=0):
    """Everything the kernel editor shows: the padded input, the feature map and the output-size formula.

    Returns {"padded" (H+2P, W+2P), "output" (Ho, Wo), "formula" (Ho, Wo) from
    floor((H + 2P - K) / S) + 1, "formula_ok": the formula equals the output's shape}.
    Shapes: image (H, W), kernel (K, K).
    """
    image = float_array(image, "kernel_view", "image", ndim=2)
    out = correlate2d(image, kernel, stride=stride, padding=padding)           # (Ho, Wo)
    K = np.shape(kernel)[0]
    formula = tuple((n + 2 * padding - K) // stride + 1 for n in image.shape)
    return {"padded": np.pad(image, padding), "output": out, "formula": formula,
            "formula_ok": formula == out.shape}


# Cell categories of window_view's "grid"
PAD, INPUT, PAD_SEEN, INPUT_SEEN = 0, 1, 2, 3


def window_view(size, kernel_size, stride=1, padding=0, position=0):
    """One output pixel of a size x size correlation: its window, its matrix row, its place in the output.

    position counts output pixels row by row and is clamped to the last one.
    Returns {"grid" (Hp, Wp) categories PAD, INPUT, PAD_SEEN, INPUT_SEEN; "corner" (top, left) of
    the window in padded coordinates; "pattern" (Ho*Wo, size*size) the convolution matrix with
    tap t stored as t + 1 (0 = structural zero); "row"; "out_index" (i, j); "out_shape" (Ho, Wo);
    "nonzeros" in the pattern; "taps_seen" how many taps of that window fall inside the image}.
    """
    K = positive(kernel_size, "window_view", "kernel_size", integer=True)
    Ho, Wo = output_shape(size, size, K, stride, padding)
    row = min(positive(position, "window_view", "position", integer=True, allow_zero=True), Ho * Wo - 1)
    i, j = divmod(row, Wo)
    taps = np.arange(1, K * K + 1, dtype=np.float64).reshape(K, K)
    pattern = convolution_matrix(taps, size, size, stride=stride, padding=padding)   # (Ho*Wo, size^2)
    Hp = size + 2 * padding
    grid = np.full((Hp, Hp), PAD)
    grid[padding:padding + size, padding:padding + size] = INPUT
    top, left = i * stride, j * stride
    grid[top:top + K, left:left + K] += PAD_SEEN - PAD                          # PAD->PAD_SEEN, INPUT->INPUT_SEEN
    return {"grid": grid, "corner": (top, left), "pattern": pattern, "row": row, "out_index": (i, j),
            "out_shape": (Ho, Wo), "nonzeros": int(np.count_nonzero(pattern)),
            "taps_seen": int(np.count_nonzero(pattern[row]))}
