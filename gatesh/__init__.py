"""gatesh: a drop-in bash with a human gate in front of destructive commands."""

__version__ = "0.1.0"
