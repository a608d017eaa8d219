"""What the tests share: the test world, service-level set-ups, screen drivers, the served app.

Test modules import from here (and from helpers.py), never from one another or from conftest;
fixtures live in conftest.py (tests/test_layers.py checks it)."""
