"""Plain data across the grading boundary: the student's process and the grader's talk only through this.

Messages are JSON lines. Values are numbers, strings, None, lists, tuples, dicts with string keys and
numpy arrays or scalars of plain dtypes (bool, integers, floats, complex), never pickle: decoding can
build nothing else. A function passed as an argument stays where it lives and is called back through
the channel; an object that is not plain data stays where it lives too, as a handle the other side can
only pass back. Either side may call the other while it waits for an answer (a callback of a callback).
"""

import base64
import json
import os
import select
import time

import numpy as np

DTYPES = {"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
          "float16", "float32", "float64", "complex64", "complex128"}
MAX_MESSAGE = 256 * 1024 * 1024      # bytes in one line: a generous bound on an exercise's arrays
MAX_DEPTH = 20


class WireError(Exception):
    """The other side broke the protocol, died, or took longer than allowed; the message says which."""


class Remote:
    """A value that lives on the other side: a function (call it) or an object (pass it back)."""

    def __init__(self, channel, ref, kind, name):
        self.channel, self.ref, self.kind, self.__name__ = channel, ref, kind, name

    def __call__(self, *args, **kwargs):
        if self.kind != "function":
            raise TypeError(f"{self.__name__} is not a function")
        return self.channel.call(self.ref, args, kwargs)

    def __repr__(self):
        return f"<{self.kind} {self.__name__} of the other process>"


class RemoteError(Exception):
    """The function raised on the other side: kind is its exception's class name, text its message."""

    def __init__(self, kind, text):
        super().__init__(f"{kind}: {text}" if text else kind)
        self.kind, self.text = kind, text


class Channel:
    """One end of a pair of pipes: call() a function of the other side, serve() calls from it."""

    def __init__(self, read_fd, write_fd, *, deadline=None):
        self.read_fd, self.write_fd = read_fd, write_fd
        self.deadline = deadline        # time.monotonic() past which a wait fails; None: wait forever
        self.objects = {}               # ref -> object this side handed out
        self._serving = []              # (args, kwargs) of the other side's calls this side is running
        self._buffer = b""

    # encoding -------------------------------------------------------------------------------------
    def _keep(self, obj, kind):
        ref = f"{kind}:{id(obj)}"
        self.objects[ref] = obj
        return {"__ref__": ref, "kind": kind, "name": getattr(obj, "__name__", type(obj).__name__)}

    def encode(self, value, depth=0):
        if depth > MAX_DEPTH:
            raise WireError("a value nested deeper than 20 levels")
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, np.generic):
            return value if not isinstance(value, float) or np.isfinite(value) else {"__float__": repr(value)}
        if isinstance(value, (np.ndarray, np.generic)) and value.dtype.name in DTYPES:
            array = np.array(value, order="C")            # 0-d for a scalar (ascontiguousarray makes it 1-d)
            return {"__array__": base64.b64encode(array.tobytes()).decode("ascii"), "dtype": array.dtype.name,
                    "shape": list(array.shape), "scalar": isinstance(value, np.generic)}
        if isinstance(value, Remote) and value.channel is self:
            return {"__back__": value.ref}
        if isinstance(value, (list, tuple)):
            items = [self.encode(v, depth + 1) for v in value]
            return items if isinstance(value, list) else {"__tuple__": items}
        if isinstance(value, dict) and all(isinstance(k, str) for k in value):
            return {"__dict__": {k: self.encode(v, depth + 1) for k, v in value.items()}}
        return self._keep(value, "function" if callable(value) else "object")

    def decode(self, data, depth=0):
        if depth > MAX_DEPTH:
            raise WireError("a value nested deeper than 20 levels")
        if data is None or isinstance(data, (bool, int, float, str)):
            return data
        if isinstance(data, list):
            return [self.decode(v, depth + 1) for v in data]
        if not isinstance(data, dict) or len(data) == 0:
            raise WireError(f"not plain data: {str(data)[:80]}")
        if "__float__" in data:
            return float(data["__float__"])
        if "__array__" in data:
            if data.get("dtype") not in DTYPES:
                raise WireError(f"arrays of dtype {str(data.get('dtype'))[:40]} are not plain data")
            shape = tuple(int(n) for n in data["shape"])
            array = np.frombuffer(base64.b64decode(data["__array__"]), dtype=data["dtype"])
            array = array.reshape(shape).copy()
            return array[()] if data.get("scalar") else array
        if "__tuple__" in data:
            return tuple(self.decode(v, depth + 1) for v in data["__tuple__"])
        if "__dict__" in data:
            return {str(k): self.decode(v, depth + 1) for k, v in data["__dict__"].items()}
        if "__back__" in data:
            if data["__back__"] not in self.objects:
                raise WireError("a handle this side never gave out")
            return self.objects[data["__back__"]]
        if "__ref__" in data:
            return Remote(self, str(data["__ref__"]), "function" if data.get("kind") == "function" else "object",
                          str(data.get("name", "value"))[:80])
        raise WireError(f"not plain data: {str(data)[:80]}")

    # transport ------------------------------------------------------------------------------------
    def send(self, message):
        data = json.dumps(message, allow_nan=False).encode() + b"\n"
        view = memoryview(data)
        while view:
            written = os.write(self.write_fd, view)
            view = view[written:]

    def receive(self):
        while b"\n" not in self._buffer:
            if self.deadline is not None:
                left = self.deadline - time.monotonic()
                if left <= 0 or not select.select([self.read_fd], [], [], left)[0]:
                    raise WireError("timed out")
            chunk = os.read(self.read_fd, 1 << 20)
            if not chunk:
                raise WireError("the other process ended")
            self._buffer += chunk
            if len(self._buffer) > MAX_MESSAGE:
                raise WireError("a message over 256 MB")
        line, self._buffer = self._buffer.split(b"\n", 1)
        try:
            message = json.loads(line)
        except ValueError as exc:
            raise WireError(f"not a message: {line[:80]!r}") from exc
        if not isinstance(message, dict):
            raise WireError(f"not a message: {line[:80]!r}")
        return message

    # calls ----------------------------------------------------------------------------------------
    def call(self, ref, args, kwargs):
        """Call the other side's function ref; serve its callbacks meanwhile; return its value or raise."""
        message = {"op": "call", "ref": ref, "args": self.encode(list(args)), "kwargs": self.encode(dict(kwargs))}
        if self._serving:
            # A callback made while this side runs a call of the other's: send the arrays that call was
            # given, as they are now, so that a closure on the other side sees what this side changed in
            # place (numerical_gradient(f, x) nudging x, then calling f()).
            message["sync"] = self.encode(list(self._serving[-1]))
        self.send(message)
        while True:
            message = self.receive()
            if message.get("op") == "call":
                if "sync" in message:
                    synced = self.decode(message["sync"])
                    if isinstance(synced, list) and len(synced) == 2:
                        _write_back(args, synced[0])
                        _write_back(kwargs, synced[1])
                self.answer(message)
                continue
            if message.get("op") != "return":
                raise WireError(f"unexpected message {str(message)[:80]}")
            _write_back(args, self.decode(message.get("args_after", [])))
            _write_back(kwargs, self.decode(message.get("kwargs_after", {})))
            if "error" in message:
                error = message["error"] if isinstance(message["error"], dict) else {}
                raise RemoteError(str(error.get("kind", "Exception"))[:80], str(error.get("text", ""))[:2000])
            return self.decode(message.get("value"))

    def answer(self, message):
        """Run one call the other side asked for, and send back its value, its arguments after the call
        (functions may update arrays in place) or the exception it raised."""
        args = self.decode(message.get("args", []))
        kwargs = self.decode(message.get("kwargs", {}))
        function = self.objects.get(str(message.get("ref")))
        reply = {"op": "return"}
        self._serving.append((args, kwargs))
        try:
            if not callable(function):
                raise TypeError(f"no function {str(message.get('ref'))[:80]} here")
            reply["value"] = self.encode(function(*args, **kwargs))
        except WireError:
            raise
        except (Exception, SystemExit) as exc:      # what the function raised is its answer
            reply["error"] = {"kind": type(exc).__name__, "text": str(exc)[:2000]}
        finally:
            self._serving.pop()
        reply["args_after"] = self.encode(list(args))
        reply["kwargs_after"] = self.encode(dict(kwargs))
        self.send(reply)


def _write_back(original, after):
    """Copy arrays changed by a call on the other side into the caller's own arrays, structure by structure."""
    if isinstance(original, np.ndarray) and isinstance(after, np.ndarray):
        if original.shape == after.shape and original.flags.writeable:
            np.copyto(original, after, casting="unsafe")
    elif isinstance(original, (list, tuple)) and isinstance(after, (list, tuple)) and len(original) == len(after):
        for o, a in zip(original, after):
            _write_back(o, a)
    elif isinstance(original, dict) and isinstance(after, dict):
        for key in original.keys() & after.keys():
            _write_back(original[key], after[key])
