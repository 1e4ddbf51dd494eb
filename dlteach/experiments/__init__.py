"""The experiments behind the lessons: one module per lesson, named after its topic (lessons/NN_topic.ipynb).

Each holds the pure functions a lesson computes with and its tests call; the widgets that draw them live
in dlteach.widgets, in a module of the same name. Lesson 00's tour uses lesson 02's network_structure.
"""
