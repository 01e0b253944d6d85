"""`python -m osint`."""

from .cli import main

main()
