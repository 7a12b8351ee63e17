"""Shared test configuration: the hypothesis settings profile."""

from hypothesis import settings

# No deadline: the first call of a numpy/scipy code path can be slow (imports, caches),
# which would make timing-based deadlines flaky.  Individual tests lower max_examples.
settings.register_profile("default", deadline=None, max_examples=100)
settings.load_profile("default")
