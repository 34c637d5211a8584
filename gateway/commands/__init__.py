"""One module per EAS command, each with one entry point."""
