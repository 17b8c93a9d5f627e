import pytest

# Asserts inside the shared helpers explain themselves too: pytest rewrites only test modules
# and conftest files unless it is told, and this package is imported before any of them.
pytest.register_assert_rewrite("tests.helpers")
