"""Fixtures for the course-tooling tests."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))   # lets the tests import grading_cases
from grading_cases import write_submissions  # noqa: E402


@pytest.fixture(scope="session")
def submissions(tmp_path_factory):
    """The ten submissions of exercise 04 in a folder: (folder, cases as built by grading_cases.build)."""
    folder = tmp_path_factory.mktemp("submissions")
    return folder, write_submissions(folder)
