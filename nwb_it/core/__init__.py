"""Core in-memory objects shared by readers, converters and analyses."""
from .session import Session

__all__ = ["Session"]
