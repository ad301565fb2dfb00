"""Grading helpers for the course (checks, integrity, the `course` command)."""
