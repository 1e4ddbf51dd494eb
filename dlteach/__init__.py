"""dlteach: the numpy library behind the course "The Structure and Optimization of Deep Neural Networks".

Import the submodule you need: ``from dlteach import layers, losses, optim, viz``.
"""

__version__ = "0.1.0"

__all__ = ["conv", "data", "functional", "gradcheck", "layers", "losses", "optim", "recurrent", "train", "viz"]
