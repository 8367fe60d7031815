"""What the tests share: the emulator and its proxy, sample events, rule builders, fakes.

Importable as ``support`` from any test (pytest's ``pythonpath`` setting puts tests/ on
the path, see pyproject.toml); nothing here is a test.
"""
