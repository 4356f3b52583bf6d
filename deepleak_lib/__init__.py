"""DeepLeak: membership leakage of post-hoc explanations — measure, harden, explain.

A re-derivation of "DeepLeak: Privacy Enhancing Hardening of Model Explanations Against Membership
Leakage" (IEEE SaTML 2026). Importing the package has no side effects (no seeding, no downloads).
"""

__version__ = "0.1.0"
