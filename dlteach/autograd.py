"""A tiny scalar autograd (micrograd-sized): every Value remembers how it was made, and backward
applies the chain rule node by node, in reverse topological order.

It is the same algorithm as PyTorch's autograd, one scalar at a time: forward builds the graph,
backward visits it from the loss to the leaves, and each node adds its local derivative times the
incoming gradient to its parents' .grad (adds, because a value used twice gets two contributions).
"""

import math

__all__ = ["Value", "topological_order", "graph_layout"]


class Value:
    """A scalar with .data, .grad = dL/d(this), and the local rule that sends .grad to its parents.

    Shapes: scalars only; build vectors as lists of Values.
    """

    __slots__ = ("data", "grad", "label", "op", "_parents", "_backward")

    def __init__(self, data, label="", *, _parents=(), _op=""):
        if isinstance(data, bool) or not isinstance(data, (int, float)):
            raise TypeError(f"Value: argument 'data' must be a real number, got {type(data).__name__} {data!r}")
        self.data = float(data)
        self.grad = 0.0
        self.label = label
        self.op = _op
        self._parents = tuple(_parents)
        self._backward = None       # leaves have no parents to send gradient to

    def __repr__(self):
        name = f"{self.label}=" if self.label else ""
        return f"Value({name}{self.data:.4g}, grad={self.grad:.4g})"

    @property
    def parents(self):
        """The Values this one was computed from (empty for a leaf)."""
        return self._parents

    @staticmethod
    def _lift(other):
        if isinstance(other, Value):
            return other
        if isinstance(other, bool) or not isinstance(other, (int, float)):
            raise TypeError(f"Value: cannot combine a Value with {type(other).__name__} {other!r}; "
                            "expected a Value or a real number")
        return Value(other)

    def __add__(self, other):
        other = self._lift(other)
        out = Value(self.data + other.data, _parents=(self, other), _op="+")

        def backward():             # d(a + b)/da = d(a + b)/db = 1
            self.grad += out.grad
            other.grad += out.grad
        out._backward = backward
        return out

    def __mul__(self, other):
        other = self._lift(other)
        out = Value(self.data * other.data, _parents=(self, other), _op="*")

        def backward():             # d(ab)/da = b, d(ab)/db = a
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = backward
        return out

    def __pow__(self, k):
        if isinstance(k, bool) or not isinstance(k, (int, float)):
            raise TypeError(f"Value.__pow__: the exponent must be a constant number, got {type(k).__name__}")
        out = Value(self.data ** k, _parents=(self,), _op=f"**{k:g}")

        def backward():             # d(a^k)/da = k a^(k-1)
            self.grad += k * self.data ** (k - 1) * out.grad
        out._backward = backward
        return out

    def _unary(self, value, local, op):
        """A one-parent node whose derivative, already evaluated at this point, is `local`."""
        out = Value(value, _parents=(self,), _op=op)

        def backward():
            self.grad += local * out.grad
        out._backward = backward
        return out

    def exp(self):
        e = math.exp(self.data)
        return self._unary(e, e, "exp")                                # (e^a)' = e^a

    def log(self):
        if self.data <= 0:
            raise ValueError(f"Value.log: the argument must be > 0, got {self.data!r}")
        return self._unary(math.log(self.data), 1.0 / self.data, "log")  # (log a)' = 1/a

    def tanh(self):
        t = math.tanh(self.data)
        return self._unary(t, 1.0 - t * t, "tanh")                     # tanh' = 1 - tanh^2

    def sigmoid(self):
        s = 0.5 * math.tanh(0.5 * self.data) + 0.5                     # no overflow for large |a|
        return self._unary(s, s * (1.0 - s), "sigmoid")                # sigma' = sigma (1 - sigma)

    def relu(self):
        return self._unary(max(self.data, 0.0), float(self.data > 0), "relu")   # relu' = 1[a > 0]

    def __neg__(self):
        return self * -1

    def __radd__(self, other):
        return self + other

    def __sub__(self, other):
        other = self._lift(other)
        out = Value(self.data - other.data, _parents=(self, other), _op="-")

        def backward():             # d(a - b)/da = 1, d(a - b)/db = -1
            self.grad += out.grad
            other.grad -= out.grad
        out._backward = backward
        return out

    def __rsub__(self, other):
        return self._lift(other) + (-self)

    def __rmul__(self, other):
        return self * other

    def __truediv__(self, other):
        return self * self._lift(other) ** -1

    def __rtruediv__(self, other):
        return self._lift(other) * self ** -1

    def backward(self):
        """Set .grad = dself/dv on every node v of the graph behind self (self.grad = 1).

        Gradients of a previous backward are cleared first, so calling it twice gives the same answer.
        """
        order = topological_order(self)
        for v in order:
            v.grad = 0.0
        self.grad = 1.0
        for v in reversed(order):   # a node's grad is complete before it passes it on
            if v._backward is not None:
                v._backward()


def topological_order(root):
    """Every node behind root, each after all of its parents (leaves first, root last)."""
    order, seen = [], set()
    stack = [(root, False)]
    while stack:                    # iterative: deep graphs must not hit the recursion limit
        v, expanded = stack.pop()
        if expanded:
            order.append(v)
            continue
        if id(v) in seen:
            continue
        seen.add(id(v))
        stack.append((v, True))
        stack.extend((p, False) for p in v.parents if id(p) not in seen)
    return order


def graph_layout(root):
    """Positions for drawing the graph: x = longest path from a leaf, y spread within each column.

    A leaf sits one column left of its leftmost consumer, so inputs appear next to where they are used.

    Returns (nodes, positions, edges): nodes in topological order, positions {id: (x, y)},
    edges as (parent, child) pairs.
    """
    nodes = topological_order(root)
    column = {}
    for v in nodes:
        column[id(v)] = 1 + max((column[id(p)] for p in v.parents), default=-1)
    first_use = {}
    for v in nodes:
        for p in v.parents:
            if not p.parents:
                first_use[id(p)] = min(first_use.get(id(p), column[id(v)]), column[id(v)])
    for key, c in first_use.items():
        column[key] = c - 1
    rows = {}
    positions = {}
    for v in nodes:
        c = column[id(v)]
        positions[id(v)] = (float(c), -float(rows.get(c, 0)))
        rows[c] = rows.get(c, 0) + 1
    for v in nodes:                 # centre each column vertically
        c = column[id(v)]
        x, y = positions[id(v)]
        positions[id(v)] = (x, y + (rows[c] - 1) / 2)
    edges = [(p, v) for v in nodes for p in v.parents]
    return nodes, positions, edges
