"""Figures. Built on ``matplotlib.figure.Figure`` (never pyplot): importing this chooses no backend."""
