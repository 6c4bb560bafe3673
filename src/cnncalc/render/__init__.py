"""Renderers read a Report (never a graph) and return text."""

from .table import render_table
from .text import render_csv, render_json, render_markdown, rows

__all__ = ["render_csv", "render_json", "render_markdown", "render_table", "rows"]
