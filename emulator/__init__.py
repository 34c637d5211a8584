"""The client side: scripted EAS device sessions and the load generator."""
