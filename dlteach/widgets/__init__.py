"""Interactive explorations for the lessons (ipywidgets), one module per lesson named after its topic, beside
the lesson's experiments in dlteach.experiments: ``from dlteach.widgets import sgd_momentum``. Each widget is a
thin layer over a pure function that the tests call; each lesson's module lists its callbacks in BENCH_CASES
for bench/widgets.py. The machinery they share (live figures, blitting, live views) is dlteach.widgets.live.
"""

SHARED = ("live",)    # the modules every lesson's widgets use; every other module holds one lesson's widgets
