"""A character-level language model (lesson 08, section 8): Embedding -> LSTM -> Linear learns to predict
every next character of a short text, the opening of Shakespeare's Coriolanus (data.load_coriolanus()),
and then writes new text one character at a time.

Training reads the text as batch_size parallel streams cut into windows of seq_len characters, and
carries the LSTM's last states (h_n, c_n) from one window into the next as h0, c0: the network sees
the whole stream, but backpropagation stops at the window's start (truncated backpropagation
through time). The loss is losses.softmax_cross_entropy on (N, T, V) logits with a mask for the
padding of the last window. Sampling draws from softmax(logits / temperature) (lesson 06's
tempered_softmax); temperature 0 takes the most likely character every time.

Pure functions of their arguments and a seed; a few hundred updates take a few seconds on two cores.
"""

import numpy as np

from dlteach import data, layers, losses, optim
from dlteach._checks import positive, require_rng
from dlteach.experiments.lstm import single_thread_blas
from dlteach.experiments.temperature_overfitting import tempered_softmax

__all__ = ["Vocabulary", "CharLSTM", "tbptt_batches", "unigram_entropy", "text_loss", "next_char_distribution",
           "sample", "train_char_lstm"]


class Vocabulary:
    """The distinct characters of a text, sorted, numbered 0..V-1; encode and decode between the two."""

    def __init__(self, text):
        if not isinstance(text, str) or not text:
            raise ValueError(f"Vocabulary: argument 'text' must be a non-empty str, got {type(text).__name__} "
                             f"{text!r:.40}")
        self.chars = sorted(set(text))
        self.index = {ch: i for i, ch in enumerate(self.chars)}

    def __len__(self):
        return len(self.chars)

    def __repr__(self):
        return f"Vocabulary({len(self)} characters: {''.join(self.chars)!r})"

    def encode(self, text):
        """Shapes: str of length L -> (L,) int64 ids."""
        unknown = sorted(set(text) - set(self.index))
        if unknown:
            raise ValueError(f"Vocabulary.encode: the characters {unknown} are not in the vocabulary; expected "
                             f"only characters of the training text: {''.join(self.chars)!r}")
        return np.array([self.index[ch] for ch in text], dtype=np.int64)

    def decode(self, ids):
        """Shapes: (L,) ints -> str of length L."""
        return "".join(self.chars[i] for i in np.asarray(ids).reshape(-1))


class CharLSTM(layers.Sequential):
    """logits_t = h_t W + b with h = LSTM(Embedding(ids)): at every position, scores for the next character.

    forward(ids, h0=None, c0=None) leaves the LSTM's last states in model.lstm.h_n and c_n; pass them
    as the next window's h0, c0. backward(dlogits) fills every gradient ("0.W" embedding; "1.Wx",
    "1.Wh", "1.b" LSTM; "2.W", "2.b" output layer) and returns None: ids have no gradient.
    The forget gate's bias starts at 1, so the cell keeps its memory at first (Gers et al., 2000).
    Shapes: ids (N, T) ints in [0, V) -> logits (N, T, V).
    """

    SKIPS_INPUT_GRAD = True

    def __init__(self, vocab_size, *, embedding_dim=16, hidden_size=128, rng, dtype=np.float32):
        require_rng(rng, "CharLSTM")
        V, E, H = vocab_size, embedding_dim, hidden_size
        super().__init__(layers.Embedding(V, E, rng=rng, dtype=dtype), layers.LSTM(E, H, rng=rng, dtype=dtype),
                         layers.Linear(H, V, rng=rng, init="glorot", dtype=dtype))
        self.lstm.params["b"][H:2 * H] = 1.0                  # gates in the order i, f, g, o

    def __repr__(self):
        return "CharLSTM" + super().__repr__()[len("Sequential"):]

    @property
    def lstm(self):
        return self.layers[1]

    def forward(self, ids, h0=None, c0=None):
        emb, lstm, head = self.layers
        h = lstm.forward(emb.forward(ids), h0, c0)             # (N, T, H)
        N, T, H = h.shape
        self._cache = (N, T)
        return head.forward(h.reshape(N * T, H)).reshape(N, T, -1)   # (N, T, V)

    def backward(self, dlogits, *, input_grad=True):
        N, T = self._saved()
        emb, lstm, head = self.layers
        dh = head.backward(dlogits.reshape(N * T, -1))         # (N T, H)
        emb.backward(lstm.backward(dh.reshape(N, T, -1)))      # no gradient flows into the previous window
        return None


def tbptt_batches(ids, batch_size, seq_len, *, offset=0):
    """The text as batch_size streams cut into windows: a list of (x, y, mask), in reading order.

    Stream n is ids[offset + n L : offset + (n + 1) L + 1] with L = (len(ids) - offset - 1) // batch_size,
    so window k of a stream continues its window k - 1: the last state of one window is the right
    first state of the next. y is x moved on by one character (what to predict). The last window is
    padded to seq_len, with mask False where there is no text.
    Shapes: ids (L,) ints -> windows of x (N, seq_len) int64, y (N, seq_len) int64, mask (N, seq_len) bool.
    """
    where = "tbptt_batches"
    N = positive(batch_size, where, "batch_size", integer=True)
    T = positive(seq_len, where, "seq_len", integer=True)
    ids = np.asarray(ids)[positive(offset, where, "offset", integer=True, allow_zero=True):]
    L = (len(ids) - 1) // N
    if L < 1:
        raise ValueError(f"{where}: {len(ids)} characters (after offset {offset}) make no stream of batch_size "
                         f"{N}; expected at least batch_size + 1 characters")
    x = ids[:N * L].reshape(N, L)                              # (N, L) streams
    y = ids[1:N * L + 1].reshape(N, L)                         # (N, L) the character after each
    windows = []
    for start in range(0, L, T):
        stop = min(start + T, L)
        xb, yb = np.zeros((N, T), np.int64), np.zeros((N, T), np.int64)
        mask = np.zeros((N, T), bool)
        xb[:, :stop - start], yb[:, :stop - start], mask[:, :stop - start] = x[:, start:stop], y[:, start:stop], True
        windows.append((xb, yb, mask))
    return windows


def unigram_entropy(ids, vocab_size):
    """H = -sum_c p_c log p_c in nats, p the characters' frequencies: the loss of the best model that
    ignores context. Shapes: ids (L,) ints -> float."""
    p = np.bincount(np.asarray(ids), minlength=vocab_size) / len(ids)
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def text_loss(model, ids, *, batch_size=16, seq_len=64):
    """The mean cross-entropy (nats per character) of predicting every next character of ids, with the
    state carried across windows as in training. Shapes: ids (L,) ints -> float."""
    total, count, h, c = 0.0, 0, None, None
    for x, y, mask in tbptt_batches(ids, batch_size, seq_len):
        loss, _ = losses.softmax_cross_entropy(model(x, h, c), y, mask=mask)
        h, c = model.lstm.h_n, model.lstm.c_n
        total, count = total + loss * mask.sum(), count + mask.sum()
    return float(total / count)


def next_char_distribution(model, vocab, prompt, temperature=1.0):
    """softmax(logits / temperature) for the character after prompt; temperature 0 gives the one-hot
    of the argmax. Shapes: -> (V,) float64 probabilities."""
    return _distribution(model(vocab.encode(prompt)[None, :]), temperature)


def _distribution(logits, temperature):
    z = logits[0, -1].astype(np.float64)                       # (V,) the last position's scores
    if temperature == 0:
        return np.eye(len(z))[int(np.argmax(z))]
    return tempered_softmax(z, temperature)


def sample(model, vocab, prompt, length, *, temperature=1.0, rng=None):
    """prompt, then `length` characters drawn one at a time from softmax(logits / temperature), each
    fed back in as the next input (the LSTM's state carries everything before it).

    temperature < 1 sharpens the distribution (safer, more repetitive text), > 1 flattens it (more
    surprising, more misspelt); temperature=0 takes the most likely character every time (the limit
    T -> 0; rng is not needed then).
    Shapes: prompt str of P characters -> str of P + length characters, starting with prompt.
    """
    where = "sample"
    if not isinstance(prompt, str) or not prompt:
        raise ValueError(f"{where}: argument 'prompt' must be a non-empty str, got {prompt!r}")
    length = positive(length, where, "length", integer=True, allow_zero=True)
    temperature = positive(temperature, where, "temperature", allow_zero=True)
    if temperature > 0:
        require_rng(rng, where)
    logits = model(vocab.encode(prompt)[None, :])              # (1, P, V), and the state after the prompt
    drawn = []
    for _ in range(length):
        p = _distribution(logits, temperature)                 # (V,)
        k = int(np.argmax(p)) if temperature == 0 else int(rng.choice(len(p), p=p))
        drawn.append(k)
        logits = model(np.array([[k]]), model.lstm.h_n, model.lstm.c_n)   # (1, 1, V)
    return prompt + vocab.decode(drawn)


def train_char_lstm(text=None, *, updates=300, batch_size=16, seq_len=32, embedding_dim=16, hidden_size=128,
                    lr=0.01, clip_norm=1.0, seed=0, sample_every=100, sample_length=160, prompt="First Citizen:\n",
                    sample_temperature=0.7):
    """Train a CharLSTM on text (default: data.load_coriolanus()) with Adam for `updates` windows.

    Each pass over the text starts from zero states at a random offset in [0, seq_len), then carries
    the states from window to window. Every sample_every updates (and before the first) it writes a
    sample of sample_length characters after prompt at sample_temperature, from a seed of its own
    (so sampling never changes training).
    Returns {"model", "vocab", "loss": training loss per window in nats per character, "samples":
    {update: text}, "unigram": unigram_entropy of the text (what no context can beat), "initial":
    log V (the loss of uniform guessing)}.
    Shapes: text str -> "loss" (updates,), each sample a str of len(prompt) + sample_length characters.
    """
    where = "train_char_lstm"
    text = data.load_coriolanus() if text is None else text
    updates = positive(updates, where, "updates", integer=True)
    rng = np.random.default_rng(seed)
    vocab = Vocabulary(text)
    ids = vocab.encode(text)
    model = CharLSTM(len(vocab), embedding_dim=embedding_dim, hidden_size=hidden_size, rng=rng)
    opt = optim.Adam(model, lr, clip_norm=clip_norm)
    samples, curve = {}, []
    # One BLAS thread: the products are small, and on a shared two-core machine a second thread waits for
    # a busy core at every step (dlteach.experiments.lstm.single_thread_blas: 2-10x here under load).
    with single_thread_blas():
        if sample_every:
            samples[0] = sample(model, vocab, prompt, sample_length, temperature=sample_temperature,
                                rng=np.random.default_rng([seed, 0]))
        while len(curve) < updates:
            h = c = None                                       # each pass over the text starts afresh
            for x, y, mask in tbptt_batches(ids, batch_size, seq_len, offset=int(rng.integers(seq_len))):
                loss, dlogits = losses.softmax_cross_entropy(model(x, h, c), y, mask=mask)
                model.backward(dlogits)
                opt.step()
                h, c = model.lstm.h_n, model.lstm.c_n          # carried on, no gradient back through them
                curve.append(loss)
                if sample_every and len(curve) % sample_every == 0:
                    samples[len(curve)] = sample(model, vocab, prompt, sample_length,
                                                 temperature=sample_temperature,
                                                 rng=np.random.default_rng([seed, len(curve)]))
                if len(curve) == updates:
                    break
    return {"model": model, "vocab": vocab, "loss": np.array(curve), "samples": samples,
            "unigram": unigram_entropy(ids, len(vocab)), "initial": float(np.log(len(vocab)))}
