"""Training loop helpers: fit (with a progress bar and a history), evaluate and predict.

A model is any dlteach Layer (usually a Sequential); a loss is a function returning
(mean loss, dlogits) such as losses.softmax_cross_entropy; an optimizer has step().
"""

import numpy as np
from tqdm.auto import tqdm

from dlteach._checks import float_array, positive
from dlteach.data import minibatches

__all__ = ["fit", "evaluate", "predict"]


def _check_model(model, where):
    missing = [m for m in ("forward", "backward", "train", "eval") if not callable(getattr(model, m, None))]
    if missing:
        raise TypeError(f"{where}: argument 'model' must be a dlteach layer (e.g. layers.Sequential(...)) "
                        f"with forward, backward, train and eval; got {type(model).__name__}, "
                        f"which lacks {', '.join(missing)}")


def _check_data(data, where, name):
    """Return (X, y) from data after checking it is a pair of arrays of equal length."""
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        got = f"a {type(data).__name__} of length {len(data)}" if isinstance(data, (tuple, list)) \
            else type(data).__name__
        raise TypeError(f"{where}: argument '{name}' must be a tuple (X, y) of arrays, got {got}")
    X, y = data
    prefix = "" if name == "data" else "val_"
    X = float_array(X, where, f"{prefix}X")
    y = np.asarray(y)
    if y.dtype.kind not in "iuf":
        raise TypeError(f"{where}: argument '{name}' holds y with dtype {y.dtype}; expected integer "
                        "class labels or a float array of targets")
    if y.ndim == 0 or len(y) != len(X):
        raise ValueError(f"{where}: argument '{name}' holds X with {len(X)} examples and y with "
                         f"{len(y) if y.ndim else 'no'} examples (shape {y.shape}); expected one target per example")
    return X, y


def _class_labels(y):
    """Integer labels behind targets y, or None when y is not a classification target."""
    if y.dtype.kind in "iu" and y.ndim == 1:
        return y
    if y.dtype.kind == "f" and y.ndim == 2 and y.shape[1] >= 2 and y.min() >= 0 \
            and np.allclose(y.sum(axis=1), 1.0):
        return y.argmax(axis=1)       # one-hot or soft labels: the most likely class
    return None


def _correct(out, labels):
    """Count of rows whose largest output is the label; None if out is not (N, C) scores."""
    if labels is None or out.ndim != 2 or out.shape[1] < 2:
        return None
    return int(np.count_nonzero(out.argmax(axis=1) == labels))


def _run_eval(model, loss_fn, X, y, batch_size):
    # Shared by evaluate and fit's validation pass: the model must already be in eval mode.
    labels = _class_labels(y)
    total, correct, n_correct_ok = 0.0, 0, True
    for idx in range(0, len(X), batch_size):
        Xb, yb = X[idx:idx + batch_size], y[idx:idx + batch_size]
        out = model(Xb)
        loss, _ = loss_fn(out, yb)
        total += float(loss) * len(Xb)       # the loss is a batch mean: weight by batch size
        c = _correct(out, None if labels is None else labels[idx:idx + batch_size])
        n_correct_ok = n_correct_ok and c is not None
        correct += c or 0
    return total / len(X), (correct / len(X) if n_correct_ok else None)


def evaluate(model, loss_fn, data, *, batch_size=256):
    """Mean loss and accuracy of model on data = (X, y), in eval mode (Dropout off).

    accuracy = fraction of rows where argmax(output) equals the label; None when y is not
    class labels (integers (N,) or probability rows (N, C)), e.g. for regression with mse.
    Shapes: X (N, ...), y (N,) or (N, C) -> (float, float or None).
    """
    where = "evaluate"
    _check_model(model, where)
    X, y = _check_data(data, where, "data")
    batch_size = positive(batch_size, where, "batch_size", integer=True)
    was_training = model.training
    model.eval()
    try:
        return _run_eval(model, loss_fn, X, y, batch_size)
    finally:
        if was_training:
            model.train()


def predict(model, X, *, batch_size=256):
    """The model's outputs on X in eval mode, computed batch by batch (raw scores, e.g. logits).

    Shapes: X (N, ...) -> (N, ...) whatever the model outputs; class = output.argmax(axis=1).
    """
    where = "predict"
    _check_model(model, where)
    X = float_array(X, where, "X")
    batch_size = positive(batch_size, where, "batch_size", integer=True)
    was_training = model.training
    model.eval()
    try:
        return np.concatenate([model(X[i:i + batch_size]) for i in range(0, len(X), batch_size)])
    finally:
        if was_training:
            model.train()


def fit(model, loss_fn, optimizer, data, epochs, *, batch_size=64, val_data=None, rng=None,
        progress=True, callback=None):
    """Minibatch training: per batch out = model(X_b), (loss, dout) = loss_fn(out, y_b), backward, step.

    rng shuffles the examples every epoch; with rng=None batches come in the data's order.
    progress shows a tqdm bar (a widget in Jupyter, text in a terminal) with the epoch's loss and
    accuracy. callback(epoch, history) runs after each epoch; returning True stops training
    (early stopping). The model trains in training mode; validation runs in eval mode; the model
    is left in the mode it had before fit.
    Returns history: {"loss", "acc", "val_loss", "val_acc"} -> lists with one value per epoch.
    "loss"/"acc" are running means over the epoch's batches; a list stays empty when it does not
    apply (no val_data, or targets that are not class labels).
    Shapes: data = (X (N, ...), y (N,) or (N, C)); val_data likewise.
    """
    where = "fit"
    _check_model(model, where)
    if not callable(loss_fn):
        raise TypeError(f"{where}: argument 'loss_fn' must be a function returning (loss, dout) such as "
                        f"losses.softmax_cross_entropy, got {type(loss_fn).__name__}")
    if not callable(getattr(optimizer, "step", None)):
        raise TypeError(f"{where}: argument 'optimizer' must have a step() method, e.g. optim.Adam(model), "
                        f"got {type(optimizer).__name__}")
    X, y = _check_data(data, where, "data")
    val = None if val_data is None else _check_data(val_data, where, "val_data")
    epochs = positive(epochs, where, "epochs", integer=True)
    batch_size = positive(batch_size, where, "batch_size", integer=True)
    if rng is not None and not isinstance(rng, np.random.Generator):
        raise TypeError(f"{where}: argument 'rng' must be None (no shuffling) or a numpy Generator such as "
                        f"np.random.default_rng(0), got {type(rng).__name__}")
    if callback is not None and not callable(callback):
        raise TypeError(f"{where}: argument 'callback' must be None or a function (epoch, history), "
                        f"got {type(callback).__name__}")

    labels = _class_labels(y)
    history = {"loss": [], "acc": [], "val_loss": [], "val_acc": []}
    n_batches = -(-len(X) // batch_size)
    was_training = model.training
    bar = tqdm(total=epochs * n_batches, unit="batch", disable=not progress, leave=True)
    # Labels travel with X through the shuffle, so each batch gets its own slice of class labels.
    index = np.arange(len(X))
    try:
        for epoch in range(epochs):
            bar.set_description(f"epoch {epoch + 1}/{epochs}")
            model.train()
            total, correct, seen, acc_ok = 0.0, 0, 0, labels is not None
            for b, (Xb, ib) in enumerate(minibatches(X, index, batch_size, rng=rng)):
                yb = y[ib]
                out = model(Xb)
                loss, dout = loss_fn(out, yb)
                if not np.isfinite(loss):
                    raise FloatingPointError(
                        f"{where}: the training loss became {loss} at epoch {epoch + 1}, batch {b + 1}: "
                        "training diverged; try a smaller learning rate (the optimizer's lr)")
                if getattr(model, "SKIPS_INPUT_GRAD", False):
                    model.backward(dout, input_grad=False)      # nothing needs d(loss)/d(data) here
                else:
                    model.backward(dout)
                optimizer.step()
                total += float(loss) * len(Xb)
                if acc_ok:
                    c = _correct(out, labels[ib])
                    acc_ok = c is not None
                    correct += c or 0
                seen += len(Xb)
                bar.update(1)
            history["loss"].append(total / seen)
            if acc_ok:
                history["acc"].append(correct / seen)
            if val is not None:
                model.eval()
                val_loss, val_acc = _run_eval(model, loss_fn, *val, batch_size)
                history["val_loss"].append(val_loss)
                if val_acc is not None:
                    history["val_acc"].append(val_acc)
            bar.set_postfix({k: f"{v[-1]:.4g}" for k, v in history.items() if v})
            if callback is not None and callback(epoch, history):
                break
    finally:
        bar.close()
        if was_training:
            model.train()
        else:
            model.eval()
    return history
