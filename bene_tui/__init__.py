"""bene-tui: the Bene Account flows of Benefit One's services, in a terminal."""

__version__ = "0.1.0"
