"""Builders and checks shared by the test modules, so that no test module imports another."""
