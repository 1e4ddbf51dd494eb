"""What every test run shares: under CI=true no test may skip.

A test skips where something optional is missing (PyTorch, Chromium and playwright, Voila), and says
what. On a laptop that is fine; in CI everything is installed, so a skip there means that a test did
not run, and the run must not pass green. Under CI=true every skip, at collection (a module-level
importorskip) or at run time (pytest.skip, importorskip, skip and skipif marks, an empty
parametrisation) fails instead, with the skip's own reason. That covers the notebooks too (nbval's
NBVAL_SKIP). An expected failure (xfail) is not a skip and is left alone.

The guard is registered as a plugin rather than written as hooks of this file: pytest applies a
conftest's hooks only to the tests under its folder, and lessons/ and solutions/ are not under tests/.
It runs where the tests run, in each xdist worker as without xdist.
"""

import os

import pytest


class NoSkipInCI:
    """Turn each skip into a failure that names the skipped test's reason."""

    @staticmethod
    def _fail(report):
        if isinstance(report.longrepr, tuple):          # a skip's (path, line, "Skipped: reason")
            path, line, reason = report.longrepr
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        else:
            where, reason = "", str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"{where}CI=true, so not skipping: {reason}"

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        if report.skipped and not hasattr(report, "wasxfail"):
            self._fail(report)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_make_collect_report(self, collector):
        outcome = yield
        report = outcome.get_result()
        if report.skipped:
            self._fail(report)


def pytest_configure(config):
    if os.environ.get("CI") == "true":
        config.pluginmanager.register(NoSkipInCI(), "dlteach-no-skip-in-ci")
