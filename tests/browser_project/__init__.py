"""The Django project Daphne serves for tests/test_browser.py."""
