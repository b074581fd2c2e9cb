"""Harnesses the tests share: the shipped checkpoints' machine, a server, a browser."""
