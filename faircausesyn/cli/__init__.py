"""The ``faircausesyn`` command line (click)."""
