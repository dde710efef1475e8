"""The ``{% load consent %}`` library."""
