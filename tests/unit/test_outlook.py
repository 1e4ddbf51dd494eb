"""Lesson 09's autoencoder (dlteach.experiments.outlook) and the pure functions behind its widgets.

The loss gradient of the whole autoencoder against central differences (float64) and PyTorch; the
baselines against their closed forms (mean image: half the total variance; PCA: half the discarded
eigenvalues, which no linear autoencoder beats); the k-NN score on codes whose answer is known;
the parameter history; the widget views and callbacks over a grid of slider settings.
"""

import copy
import itertools

import numpy as np
import pytest
from cases import is_png

from dlteach import data, gradcheck, layers, losses, optim, train
from dlteach.experiments import char_language_model as clm
from dlteach.experiments import outlook as ae
from dlteach.widgets import outlook


def small_model(seed=0, activation="tanh", features=6, hidden=5, code_size=2):
    return ae.build(features, hidden, code_size, rng=np.random.default_rng(seed), activation=activation)


def pixels(n=7, features=6, seed=1):
    return np.random.default_rng(seed).uniform(0.0, 1.0, size=(n, features))


def loss_and_grads(model, X):
    loss, dout = losses.mse(model.forward(X), X)
    model.backward(dout)
    return loss, {name: g.copy() for name, _, g in model.parameters()}


@pytest.fixture(scope="module")
def digits():
    X, y = data.load_digits(layout="flat", scale=True)
    return data.train_test_split(X, y, test_size=0.2, rng=np.random.default_rng(1))


@pytest.fixture(scope="module")
def trained(digits):
    """A digits autoencoder after 8 epochs, with its parameter history."""
    X_train, _, _, _ = digits
    rng = np.random.default_rng(0)
    model = ae.build(rng=rng)
    history = ae.ParameterHistory(model)
    log = train.fit(model, losses.mse, optim.Adam(model, 1e-2), (X_train, X_train), 8, batch_size=32, rng=rng,
                    progress=False, callback=history)
    return model, history, log


def test_build_makes_encoder_and_decoder_of_the_requested_sizes():
    model = ae.build(64, 32, 3, rng=np.random.default_rng(0))
    encoder, decoder = model[0], model[1]
    assert [type(l).__name__ for l in encoder.layers] == ["Linear", "Tanh", "Linear"]
    assert [type(l).__name__ for l in decoder.layers] == ["Linear", "Tanh", "Linear", "Sigmoid"]
    assert model.num_params() == 64 * 32 + 32 + 32 * 3 + 3 + 3 * 32 + 32 + 32 * 64 + 64
    X = pixels(5, 64)
    Z = ae.encode(model, X)
    assert Z.shape == (5, 3)
    X_hat = ae.reconstruct(model, X)
    assert X_hat.shape == (5, 64) and np.all((X_hat > 0) & (X_hat < 1))
    np.testing.assert_allclose(ae.decode(model, Z), X_hat, rtol=0, atol=1e-15)


def test_build_draws_the_layers_in_order_from_rng():
    # The lesson builds the same layers by hand from the same seed and asserts equal weights.
    rng = np.random.default_rng(3)
    by_hand = layers.Sequential(
        layers.Sequential(layers.Linear(6, 5, rng=rng, init="glorot"), layers.Tanh(),
                          layers.Linear(5, 2, rng=rng, init="glorot")),
        layers.Sequential(layers.Linear(2, 5, rng=rng, init="glorot"), layers.Tanh(),
                          layers.Linear(5, 6, rng=rng, init="glorot"), layers.Sigmoid()))
    built = small_model(seed=3)
    assert by_hand.params.keys() == built.params.keys()
    for name, p in by_hand.params.items():
        assert np.array_equal(p, built.params[name]), name


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu"])
def test_loss_gradient_matches_central_differences(activation):
    model = small_model(activation=activation)
    X = pixels()
    if activation == "relu":
        # Central differences are the derivative only away from ReLU's kink: every input must be far
        # from 0 compared with the step h = 1e-6.
        h1 = X @ model[0][0].params["W"] + model[0][0].params["b"]
        h3 = ae.encode(model, X) @ model[1][0].params["W"] + model[1][0].params["b"]
        assert min(np.abs(h1).min(), np.abs(h3).min()) > 1e-4
    _, analytic = loss_and_grads(model, X)

    def loss():
        return losses.mse(model.forward(X), X)[0]

    for name, p, _ in model.parameters():
        numeric = gradcheck.numerical_gradient(loss, p, h=1e-6)
        err = gradcheck.assert_close_gradient(analytic[name], numeric, f"{activation} {name}", tol=1e-7)
        assert err < 1e-7


def test_mse_gradient_matches_central_differences():
    rng = np.random.default_rng(4)
    X = rng.uniform(size=(5, 6))
    assert gradcheck.check_loss(losses.mse, rng.uniform(size=(5, 6)), X) < 1e-8


def test_backward_is_the_derived_chain_rule():
    # The lesson's derivation, written out: delta4 = (x_hat - x) x_hat (1 - x_hat) / N, and back.
    model = small_model()
    X = pixels()
    _, grads = loss_and_grads(model, X)
    P = model.params
    N = len(X)
    a1 = np.tanh(X @ P["0.0.W"] + P["0.0.b"])
    z = a1 @ P["0.2.W"] + P["0.2.b"]
    a3 = np.tanh(z @ P["1.0.W"] + P["1.0.b"])
    x_hat = 1 / (1 + np.exp(-(a3 @ P["1.2.W"] + P["1.2.b"])))
    d4 = (x_hat - X) * x_hat * (1 - x_hat) / N
    d3 = (d4 @ P["1.2.W"].T) * (1 - a3 ** 2)
    dz = d3 @ P["1.0.W"].T
    d1 = (dz @ P["0.2.W"].T) * (1 - a1 ** 2)
    expected = {"1.2.W": a3.T @ d4, "1.2.b": d4.sum(0), "1.0.W": z.T @ d3, "1.0.b": d3.sum(0),
                "0.2.W": a1.T @ dz, "0.2.b": dz.sum(0), "0.0.W": X.T @ d1, "0.0.b": d1.sum(0)}
    for name, g in expected.items():
        np.testing.assert_allclose(grads[name], g, rtol=1e-12, atol=1e-15, err_msg=name)


def test_gradient_matches_pytorch():
    torch = pytest.importorskip("torch", reason="PyTorch is not installed")
    model = small_model(seed=5)
    X = pixels(seed=6)
    loss, grads = loss_and_grads(model, X)
    params = {name: torch.tensor(p, dtype=torch.float64, requires_grad=True) for name, p in model.params.items()}
    x = torch.tensor(X, dtype=torch.float64)
    z = torch.tanh(x @ params["0.0.W"] + params["0.0.b"]) @ params["0.2.W"] + params["0.2.b"]
    x_hat = torch.sigmoid(torch.tanh(z @ params["1.0.W"] + params["1.0.b"]) @ params["1.2.W"] + params["1.2.b"])
    theirs = ((x_hat - x) ** 2).sum() / (2 * len(X))
    theirs.backward()
    assert loss == pytest.approx(theirs.item(), rel=1e-13)
    for name, p in params.items():
        assert gradcheck.rel_error(grads[name], p.grad.numpy()) < 1e-12, name


def test_mean_image_error_is_half_the_total_variance_and_the_best_constant():
    X = pixels(40, 6, seed=7)
    err = ae.mean_image_error(X, X)
    assert err == pytest.approx(0.5 * X.var(axis=0).sum(), rel=1e-12)
    rng = np.random.default_rng(8)
    for _ in range(5):   # any other constant image does worse: the error is a bowl centred on the mean
        c = X.mean(axis=0) + 0.05 * rng.standard_normal(6)
        assert losses.mse(np.tile(c, (len(X), 1)), X)[0] > err


def test_pca_error_is_half_the_discarded_variance():
    X = pixels(50, 6, seed=9) @ np.random.default_rng(10).standard_normal((6, 6))
    for k in range(1, 7):
        m, V, var = ae.pca(X, k)
        assert V.shape == (k, 6)
        np.testing.assert_allclose(V @ V.T, np.eye(k), atol=1e-12)
        assert np.all(np.diff(var) <= 1e-12)                               # largest first
        X_hat = ae.pca_decode(ae.pca_encode(X, m, V), m, V)
        assert losses.mse(X_hat, X)[0] == pytest.approx(0.5 * var[k:].sum(), rel=1e-9, abs=1e-12)
    assert ae.pca(X, 6)[2].sum() == pytest.approx(X.var(axis=0).sum(), rel=1e-12)


def test_pca_signs_are_fixed():
    X = pixels(30, 6, seed=11)
    _, V, _ = ae.pca(X, 3)
    _, V_flipped, _ = ae.pca(-X, 3)
    for row in V:
        assert row[np.abs(row).argmax()] > 0
    np.testing.assert_allclose(np.abs(V), np.abs(V_flipped), atol=1e-12)


def test_linear_autoencoder_never_beats_pca_on_its_training_set():
    X = pixels(60, 6, seed=12) @ np.random.default_rng(13).standard_normal((6, 6))
    m, V, var = ae.pca(X, 2)
    best = 0.5 * var[2:].sum()
    model = ae.build_linear(6, 2, rng=np.random.default_rng(14))
    train.fit(model, losses.mse, optim.Adam(model, 1e-2), (X, X), 300, batch_size=20,
              rng=np.random.default_rng(15), progress=False)
    err = ae.reconstruction_error(model, X)
    assert err >= best - 1e-9                      # Eckart-Young: no rank-2 map does better
    assert err <= 1.02 * best                      # and gradient descent gets there (Baldi & Hornik)


def test_knn_on_separated_and_on_shuffled_labels():
    rng = np.random.default_rng(16)
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    y_ref = np.repeat(np.arange(3), 30)
    Z_ref = centres[y_ref] + rng.standard_normal((90, 2))
    y = np.repeat(np.arange(3), 10)
    Z = centres[y] + rng.standard_normal((30, 2))
    acc, per_class = ae.knn_accuracy(Z_ref, y_ref, Z, y)
    assert acc == 1.0 and np.array_equal(per_class, np.ones(3))
    acc, _ = ae.knn_accuracy(Z_ref, rng.permutation(y_ref), Z, y)
    assert acc < 0.7                               # labels that ignore the code: near chance (1/3)


def test_knn_breaks_ties_towards_the_nearest():
    Z_ref = np.array([[1.0], [2.0], [3.0], [4.0]])
    y_ref = np.array([1, 0, 0, 1])
    # From 0: neighbours 1, 0, 0, 1 -> two votes each with k = 4; the nearest (label 1) wins.
    assert ae.knn_predict(Z_ref, y_ref, np.array([[0.0]]), k=4)[0] == 1
    assert ae.knn_predict(Z_ref, y_ref, np.array([[0.0]]), k=3)[0] == 0
    _, per_class = ae.knn_accuracy(Z_ref, y_ref, np.array([[2.1]]), np.array([0]), k=1)
    assert per_class[0] == 1.0 and np.isnan(per_class[1])


def test_parameter_history_keeps_every_epoch_and_restores_it(trained):
    model, history, log = trained
    assert history.epochs == list(range(9))
    final = {name: p.copy() for name, p in model.params.items()}
    for name, p in history.parameters(8).items():
        assert np.array_equal(p, final[name])
    twin = copy.deepcopy(model)
    history.load(0, twin)
    assert not np.array_equal(twin.params["0.0.W"], final["0.0.W"])
    history.load(8, twin)
    assert all(np.array_equal(twin.params[n], final[n]) for n in final)
    with pytest.raises(KeyError, match="epoch 9 was not kept"):
        history.load(9, twin)
    every3 = ae.ParameterHistory(small_model(), every=3)
    for epoch in range(7):
        assert every3(epoch, {}) is False
    assert every3.epochs == [0, 3, 6]


def test_training_beats_the_mean_image_and_separates_classes(digits, trained):
    X_train, X_test, y_train, y_test = digits
    model, history, log = trained
    assert log["loss"][-1] < log["loss"][0]
    mean_err = ae.mean_image_error(X_train, X_test)
    assert ae.reconstruction_error(model, X_test) < 0.75 * mean_err
    acc, _ = ae.knn_accuracy(ae.encode(model, X_train), y_train, ae.encode(model, X_test), y_test)
    assert acc > 0.5                               # chance is 0.1, after only 8 epochs


def test_load_parameters_rejects_another_model():
    with pytest.raises(ValueError, match="expected the model's"):
        ae.load_parameters(small_model(), {"W": np.zeros(2)})
    other = small_model(hidden=4)
    with pytest.raises(ValueError, match="has shape"):
        ae.load_parameters(small_model(), other.params)


def test_errors_name_the_function_and_argument():
    with pytest.raises(ValueError, match="autoencoder.build: argument 'code_size' must be > 0"):
        ae.build(code_size=0, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="argument 'activation'"):
        ae.build(activation="softplus", rng=np.random.default_rng(0))
    with pytest.raises(TypeError, match="argument 'rng'"):
        ae.build(rng=0)
    with pytest.raises(TypeError, match="autoencoder.encode: argument 'model' must be an autoencoder"):
        ae.encode(layers.Linear(2, 2, rng=np.random.default_rng(0)), np.zeros((1, 2)))
    with pytest.raises(ValueError, match=r"autoencoder.decode: argument 'Z' has shape \(3, 3\); expected \(\*, 2\)"):
        ae.decode(small_model(), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="pca: argument 'k' is 7"):
        ae.pca(pixels(), 7)
    with pytest.raises(ValueError, match="knn_predict: argument 'k' is 9"):
        ae.knn_predict(np.zeros((4, 2)), np.zeros(4, dtype=int), np.zeros((1, 2)), k=9)
    with pytest.raises(ValueError, match="knn_predict: argument 'y_ref' must be integer labels"):
        ae.knn_predict(np.zeros((4, 2)), np.zeros(4), np.zeros((1, 2)))
    with pytest.raises(ValueError, match="decoder_map: the model's code has 3 numbers"):
        ae.decoder_map(small_model(code_size=3), np.zeros(2), np.zeros(2))


# The widgets' pure functions, over a grid of slider settings.

def test_code_view_over_the_code_explorer_grid(digits, trained):
    X_train, _, y_train, _ = digits
    model, _, _ = trained
    Z = ae.encode(model, X_train)
    spacing = ae.code_spacing(Z)
    assert spacing > 0
    (a, b), (c, d) = outlook.code_range(Z)
    assert a < np.percentile(Z[:, 0], 1) and b > np.percentile(Z[:, 0], 99)
    images = []
    for z1, z2 in itertools.product(np.linspace(a, b, 6), np.linspace(c, d, 6)):
        view = ae.code_view(model, np.array([z1, z2]), Z, y_train, spacing=spacing)
        assert view["image"].shape == (64,) and np.all((view["image"] > 0) & (view["image"] < 1))
        assert view["neighbours"].shape == (5,) and set(view["neighbours"]) <= set(range(10))
        distances = np.sqrt(((Z - [z1, z2]) ** 2).sum(axis=1))
        assert view["distance"] == pytest.approx(distances.min(), rel=1e-12)
        assert view["nearest"] == int(np.argmin(distances)) and view["neighbours"][0] == y_train[view["nearest"]]
        images.append(view["image"])
    assert len({im.round(6).tobytes() for im in images}) == len(images)   # every point draws its own digit
    # On a training code, the decoder draws that digit's reconstruction, and it is its own neighbour.
    view = ae.code_view(model, Z[0], Z, y_train)
    assert view["distance"] == 0.0 and view["neighbours"][0] == y_train[0]
    np.testing.assert_allclose(view["image"], ae.reconstruct(model, X_train[:1])[0], atol=1e-12)


def test_decoder_map_is_the_decoder_on_the_grid(trained):
    model, _, _ = trained
    z1, z2 = np.linspace(-2, 2, 4), np.linspace(-1, 3, 3)
    grid = ae.decoder_map(model, z1, z2)
    assert grid.shape == (3, 4, 64)
    for i, j in itertools.product(range(3), range(4)):
        np.testing.assert_allclose(grid[i, j], ae.decode(model, np.array([[z1[j], z2[i]]]))[0], atol=1e-14)


def test_replay_view_over_every_epoch(digits, trained):
    X_train, X_test, y_train, y_test = digits
    model, history, _ = trained
    twin = copy.deepcopy(model)
    shown, labels = outlook.digit_examples(X_test, y_test)
    assert list(labels) == list(range(10))
    errors = []
    for epoch in history.epochs:
        view = ae.replay_view(twin, history, epoch, shown, X_test, y_test, X_ref=X_train, y_ref=y_train)
        assert view["codes"].shape == (len(X_test), 2) and view["recon"].shape == (10, 64)
        np.testing.assert_allclose(view["codes"].mean(axis=0), 0, atol=1e-10)
        np.testing.assert_allclose(view["codes"].std(axis=0), 1, atol=1e-10)
        assert 0 <= view["knn"] <= 1
        errors.append(view["error"])
    assert errors[-1] < 0.5 * errors[0]
    assert errors[-1] == pytest.approx(ae.reconstruction_error(model, X_test), rel=1e-12)


def test_widget_callbacks_answer_every_setting_with_a_png(digits, trained):
    X_train, X_test, y_train, y_test = digits
    model, history, _ = trained
    explorer = outlook.CodeExplorer(model, X_train, y_train)
    (a, b), (c, d) = explorer.range
    pictures = set()
    for z1, z2 in itertools.product(np.linspace(a, b, 3), np.linspace(c, d, 3)):
        png = explorer.update(z1=float(z1), z2=float(z2))
        assert is_png(png) and "nearest training codes" in explorer.caption
        pictures.add(png)
    assert len(pictures) == 9
    shown, _ = outlook.digit_examples(X_test, y_test)
    before = {name: p.copy() for name, p in model.params.items()}
    replay = outlook.TrainingReplay(model, history, shown, X_test, y_test, X_ref=X_train, y_ref=y_train,
                                    baselines={"mean image": 2.35})
    frames = {replay.update(epoch=e) for e in history.epochs}
    assert len(frames) == len(history.epochs)
    assert replay.update(epoch=99) == replay.update(epoch=8)          # past the end: the last kept epoch
    assert "after 8 epochs" in replay.caption
    assert len(replay.fig.legends) == 1                                  # the class colours of the codes
    assert all(np.array_equal(p, before[n]) for n, p in model.params.items())   # the widget used a copy


def test_static_fallbacks_draw(digits, trained):
    import matplotlib.pyplot as plt

    X_train, X_test, y_train, y_test = digits
    model, history, _ = trained
    fig = outlook.decoder_map_figure(model, X_train, y_train, n=5)
    assert len(fig.axes) == 2
    shown, _ = outlook.digit_examples(X_test, y_test)
    fig2 = outlook.replay_grid(model, history, (0, 4, 8), shown, X_test, y_test)
    assert len(fig2.axes) == 4
    legends = [leg for sub in fig2.subfigs for leg in sub.legends]   # the codes' colours are explained
    assert len(legends) == 1 and [t.get_text() for t in legends[0].get_texts()] == [str(c) for c in range(10)]
    assert [h.get_color() for h in legends[0].legend_handles] == [outlook.CLASS_COLORS[c] for c in range(10)]
    plt.close(fig)
    plt.close(fig2)


# ------------------------------------------------------------------ the character-level language model

@pytest.fixture(scope="module")
def char_run():
    """150 updates of the default CharLSTM on the shipped text, with samples before, at 50 and at 150."""
    return clm.train_char_lstm(updates=150, sample_every=50, sample_length=200, seed=0)


def _real_word_share(text):
    """The share of the words of text (after the prompt line) that occur in the training text."""
    import re

    known = set(re.findall(r"[a-z']+", data.load_coriolanus().lower()))
    words = re.findall(r"[a-z']+", text.split("\n", 1)[1].lower())
    return sum(w in known for w in words) / max(1, len(words))


def test_char_lstm_loss_falls_below_what_no_context_can_reach(char_run):
    curve, unigram, initial = char_run["loss"], char_run["unigram"], char_run["initial"]
    assert curve.shape == (150,) and np.isfinite(curve).all()
    assert initial == pytest.approx(np.log(len(char_run["vocab"])))
    assert 3.0 < unigram < initial                                  # letter frequencies alone: 3.19 of 3.97 nats
    assert curve[:10].mean() > unigram - 0.3                        # it starts with no better than frequencies
    assert curve[-10:].mean() < curve[:10].mean() - 1.2             # the asserted margin, in nats per character
    text_ids = char_run["vocab"].encode(data.load_coriolanus())
    assert clm.text_loss(char_run["model"], text_ids) < unigram - 1.0


def test_char_lstm_samples_improve_to_mostly_real_words(char_run):
    samples = char_run["samples"]
    assert sorted(samples) == [0, 50, 100, 150]
    assert all(s.startswith("First Citizen:\n") and len(s) == len("First Citizen:\n") + 200 for s in samples.values())
    assert _real_word_share(samples[0]) < 0.2                        # random characters
    assert _real_word_share(samples[150]) > 0.4                      # mostly words of the text
    assert _real_word_share(samples[150]) > _real_word_share(samples[0]) + 0.3


def test_sampling_is_deterministic_under_a_seed_and_greedy_at_temperature_zero(char_run):
    model, vocab = char_run["model"], char_run["vocab"]
    draw = lambda seed, T: clm.sample(model, vocab, "MENENIUS:\n", 60, temperature=T,   # noqa: E731
                                      rng=np.random.default_rng(seed))
    assert draw(1, 1.0) == draw(1, 1.0)
    assert draw(1, 1.0) != draw(2, 1.0)
    greedy = clm.sample(model, vocab, "MENENIUS:\n", 60, temperature=0)     # no rng needed
    assert draw(3, 1e-4) == greedy == draw(4, 1e-4)                # T -> 0: the argmax, whatever the seed
    # the greedy rule by hand: feed the argmax back in, one character at a time
    text = "MENENIUS:\n"
    for _ in range(10):
        text += vocab.chars[int(np.argmax(clm.next_char_distribution(model, vocab, text)))]
    assert greedy.startswith(text)
    p = clm.next_char_distribution(model, vocab, "First Cit", temperature=1.0)
    assert p.shape == (len(vocab),) and p.sum() == pytest.approx(1.0) and vocab.chars[int(p.argmax())] == "i"
    cold = clm.next_char_distribution(model, vocab, "First Cit", temperature=0.05)
    hot = clm.next_char_distribution(model, vocab, "First Cit", temperature=5.0)
    assert cold.max() > p.max() > hot.max()                         # lesson 06: T sharpens or flattens
    assert np.array_equal(clm.next_char_distribution(model, vocab, "First Cit", temperature=0), np.eye(len(vocab))[p.argmax()])


def test_tbptt_windows_continue_each_stream_and_mask_the_padding():
    ids = np.arange(103)
    windows = clm.tbptt_batches(ids, 4, 10)                         # 4 streams of (103 - 1) // 4 = 25
    assert len(windows) == 3
    x = np.concatenate([w[0] for w in windows], axis=1)
    y = np.concatenate([w[1] for w in windows], axis=1)
    mask = np.concatenate([w[2] for w in windows], axis=1)
    assert mask.sum(axis=1).tolist() == [25] * 4 and not mask[:, 25:].any()
    np.testing.assert_array_equal(x[:, :25], ids[:100].reshape(4, 25))
    np.testing.assert_array_equal(y[:, :25], ids[1:101].reshape(4, 25))
    assert clm.tbptt_batches(ids, 4, 10, offset=3)[0][0][0, 0] == 3
    with pytest.raises(ValueError, match=r"tbptt_batches: 3 characters .* make no stream of batch_size 4"):
        clm.tbptt_batches(np.arange(3), 4, 10)


def test_char_lstm_windows_with_the_state_carried_are_the_whole_stream():
    rng = np.random.default_rng(0)
    model = clm.CharLSTM(6, embedding_dim=3, hidden_size=5, rng=rng, dtype=np.float64)
    ids = rng.integers(0, 6, 41)
    whole = model(ids[:40].reshape(2, 20))
    h = c = None
    parts = []
    for x, _, mask in clm.tbptt_batches(ids, 2, 7):
        parts.append(model(x, h, c)[mask].reshape(2, -1, 6))
        h, c = model.lstm.h_n, model.lstm.c_n
    np.testing.assert_allclose(np.concatenate(parts, axis=1), whole, rtol=1e-12, atol=1e-14)


def test_char_lstm_gradients_against_central_differences():
    rng = np.random.default_rng(1)
    model = clm.CharLSTM(5, embedding_dim=3, hidden_size=4, rng=rng, dtype=np.float64)
    x, y = rng.integers(0, 5, (2, 6)), rng.integers(0, 5, (2, 6))
    mask = np.ones((2, 6), bool)
    mask[1, 4:] = False
    h0, c0 = rng.standard_normal((2, 4)), rng.standard_normal((2, 4))

    def loss():
        return losses.softmax_cross_entropy(model(x, h0, c0), y, mask=mask)[0]

    _, dlogits = losses.softmax_cross_entropy(model(x, h0, c0), y, mask=mask)
    assert model.backward(dlogits) is None
    names = {name for name, _, _ in model.parameters()}
    assert names == {"0.W", "1.Wx", "1.Wh", "1.b", "2.W", "2.b"}
    for name, p, g in model.parameters():
        err = gradcheck.rel_error(g, gradcheck.numerical_gradient(loss, p, 1e-6))
        assert err < 1e-7, f"{name}: rel. error {err:.2g}"


def test_vocabulary_round_trip_and_errors():
    vocab = clm.Vocabulary("hello world")
    assert len(vocab) == 8 and vocab.chars[0] == " "
    assert vocab.decode(vocab.encode("low hell")) == "low hell"
    with pytest.raises(ValueError, match=r"Vocabulary.encode: the characters \['z'\] are not in the vocabulary"):
        vocab.encode("lazy"[2])
    with pytest.raises(ValueError, match=r"sample: argument 'prompt' must be a non-empty str"):
        clm.sample(clm.CharLSTM(8, rng=np.random.default_rng(0)), vocab, "", 5, temperature=0)
    with pytest.raises(TypeError, match=r"sample: argument 'rng' must be a numpy Generator"):
        clm.sample(clm.CharLSTM(8, rng=np.random.default_rng(0)), vocab, "hello", 5)
    assert repr(clm.CharLSTM(8, rng=np.random.default_rng(0))).startswith("CharLSTM(\n  Embedding(8, 16),\n  LSTM(16, 128)")
