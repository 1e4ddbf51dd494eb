"""Interactive explorations for the lessons (ipywidgets). Import the one a lesson needs:
``from dlteach.widgets import approximation``. Each widget is a thin layer over a pure function
that the tests call; each module lists its callbacks in BENCH_CASES for bench/widgets.py.
"""
