"""From-scratch implementations in pure NumPy.

Every module in this package imports only NumPy and the Python standard library
(a test enforces it), so a learner can read each idea top to bottom without a
framework in the way.
"""
