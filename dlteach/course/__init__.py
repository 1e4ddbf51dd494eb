"""Course tooling: execute notebooks reproducibly, release exercises from solutions, grade submissions.

Modules: notebooks (reading, writing, stored-notebook checks), execute, release, grade, verdict (the
helpers that check cells call), commands (the `dlteach execute/release/grade` subcommands).
"""
