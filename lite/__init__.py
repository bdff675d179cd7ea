"""Lite: store meeting recordings and play them back in the browser."""
