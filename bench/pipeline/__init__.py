"""The pipeline benchmark: the whole system end to end."""
