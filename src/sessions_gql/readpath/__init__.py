"""Queries answered by one SQL statement that returns the response's JSON (PostgreSQL); see compiler.py."""
